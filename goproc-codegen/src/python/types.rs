//! Wire shapes ([`Ty`]) to Python: annotations, decode expressions and
//! encode statements. Pure functions of the shape and the schema's types;
//! `emit.rs` arranges what they return into modules.

use std::collections::{BTreeMap, BTreeSet};

use super::names;
use crate::model::typedefs::{Fields, TypeDef, TypeDefKind};
use crate::model::Ty;

/// What the shape functions need to know besides the shape.
pub struct Ctx<'a> {
    /// Every user type, by Rust name.
    pub types: &'a BTreeMap<String, TypeDef>,
    /// The type parameters in scope (inside a generic type's codec functions).
    pub generics: &'a [String],
}

impl Ctx<'_> {
    fn is_param(&self, name: &str) -> bool {
        self.generics.iter().any(|g| g == name)
    }
}

/// The scalar's suffix in the runtime's reader methods and `w_*` writers.
fn scalar(ty: &Ty) -> Option<(&'static str, &'static str)> {
    // (reader method, writer function)
    Some(match ty {
        Ty::Bool => ("bool_", "w_bool"),
        Ty::U8 => ("u8", "w_u8"),
        Ty::U16 => ("u16", "w_u16"),
        Ty::U32 => ("u32", "w_u32"),
        Ty::U64 | Ty::Usize => ("u64", "w_u64"),
        Ty::U128 => ("u128", "w_u128"),
        Ty::I8 => ("i8", "w_i8"),
        Ty::I16 => ("i16", "w_i16"),
        Ty::I32 => ("i32", "w_i32"),
        Ty::I64 | Ty::Isize => ("i64", "w_i64"),
        Ty::I128 => ("i128", "w_i128"),
        Ty::F32 => ("f32", "w_f32"),
        Ty::F64 => ("f64", "w_f64"),
        Ty::Char => ("char", "w_char"),
        Ty::String => ("str_", "w_str"),
        Ty::Bytes => ("bytes_", "w_bytes"),
        _ => return None,
    })
}

/// Whether `Option<inner>` needs the `Some` wrapper: `None` would be ambiguous
/// when the inner value can itself be `None` (`Option<Option<T>>`, `Option<()>`).
pub fn needs_some(inner: &Ty) -> bool {
    matches!(inner, Ty::Option(_) | Ty::Unit)
}

/// The Python annotation for a shape.
pub fn annotation(ty: &Ty) -> String {
    match ty {
        Ty::Stream(item) => format!("_t.AsyncIterator[{}]", annotation(item)),
        Ty::Bool => "bool".into(),
        // The runtime's width aliases (`i64 = int`), imported by the module.
        Ty::U8 => "u8".into(),
        Ty::U16 => "u16".into(),
        Ty::U32 => "u32".into(),
        Ty::U64 => "u64".into(),
        Ty::U128 => "u128".into(),
        Ty::Usize => "usize".into(),
        Ty::I8 => "i8".into(),
        Ty::I16 => "i16".into(),
        Ty::I32 => "i32".into(),
        Ty::I64 => "i64".into(),
        Ty::I128 => "i128".into(),
        Ty::Isize => "isize".into(),
        Ty::F32 => "f32".into(),
        Ty::F64 => "f64".into(),
        Ty::Char | Ty::String => "str".into(),
        Ty::Bytes => "bytes".into(),
        Ty::Unit => "None".into(),
        Ty::Seq(t) | Ty::Array(t, _) => format!("list[{}]", annotation(t)),
        Ty::Option(t) if needs_some(t) => format!("_rt.Some[{}] | None", annotation(t)),
        Ty::Option(t) => format!("{} | None", annotation(t)),
        Ty::Map(k, v) => format!("dict[{}, {}]", annotation(k), annotation(v)),
        Ty::Tuple(ts) => format!(
            "tuple[{}]",
            ts.iter().map(annotation).collect::<Vec<_>>().join(", ")
        ),
        Ty::Result(a, b) => format!("_rt.Ok[{}] | _rt.Err[{}]", annotation(a), annotation(b)),
        Ty::Named { name, args } => {
            let base = names::type_name(name);
            if args.is_empty() {
                base
            } else {
                format!(
                    "{base}[{}]",
                    args.iter().map(annotation).collect::<Vec<_>>().join(", ")
                )
            }
        }
    }
}

/// The fewest bytes a value of this shape takes on the wire (0 for type
/// parameters, whose instances are unknown here). Bounds sequence counts.
pub fn min_size(
    ty: &Ty,
    types: &BTreeMap<String, TypeDef>,
    visiting: &mut BTreeSet<String>,
) -> usize {
    match ty {
        Ty::Unit => 0,
        Ty::F32 => 4,
        Ty::F64 => 8,
        Ty::Array(t, n) => min_size(t, types, visiting).saturating_mul(*n),
        Ty::Tuple(ts) => ts.iter().map(|t| min_size(t, types, visiting)).sum(),
        Ty::Named { name, .. } => {
            let Some(def) = types.get(name) else {
                return 0; // a type parameter
            };
            if !visiting.insert(name.clone()) {
                return 0;
            }
            let size = match &def.kind {
                // The variant index takes at least one byte.
                TypeDefKind::Enum(_) => 1,
                TypeDefKind::Struct(fields) => fields_min_size(fields, types, visiting),
            };
            visiting.remove(name);
            size
        }
        _ => 1,
    }
}

fn fields_min_size(
    fields: &Fields,
    types: &BTreeMap<String, TypeDef>,
    visiting: &mut BTreeSet<String>,
) -> usize {
    match fields {
        Fields::Unit => 0,
        Fields::Tuple(ts) => ts.iter().map(|t| min_size(t, types, visiting)).sum(),
        Fields::Named(fs) => fs.iter().map(|f| min_size(&f.ty, types, visiting)).sum(),
    }
}

/// The reader call for an item count of items shaped `items`.
fn count_call(items: &[&Ty], ctx: &Ctx) -> &'static str {
    let size: usize = items
        .iter()
        .map(|t| min_size(t, ctx.types, &mut BTreeSet::new()))
        .sum();
    if size > 0 {
        "r.count()"
    } else {
        "r.count_any()"
    }
}

/// An expression that decodes one value from the reader `r`. Python
/// evaluates call arguments, tuple items, comprehension keys before values
/// and conditions before branches left to right, which is the wire order.
pub fn decode_expr(ty: &Ty, ctx: &Ctx) -> String {
    if let Some((method, _)) = scalar(ty) {
        return format!("r.{method}()");
    }
    match ty {
        Ty::Unit => "None".into(),
        Ty::Seq(t) => format!(
            "[{} for _ in range({})]",
            decode_expr(t, ctx),
            count_call(&[t], ctx)
        ),
        Ty::Array(_, 0) => "[]".into(),
        Ty::Array(t, n) => format!("[{} for _ in range({n})]", decode_expr(t, ctx)),
        Ty::Option(t) if needs_some(t) => {
            format!(
                "(_rt.Some({}) if r.option() else None)",
                decode_expr(t, ctx)
            )
        }
        Ty::Option(t) => format!("({} if r.option() else None)", decode_expr(t, ctx)),
        Ty::Map(k, v) => format!(
            "{{{}: {} for _ in range({})}}",
            decode_expr(k, ctx),
            decode_expr(v, ctx),
            count_call(&[k, v], ctx)
        ),
        Ty::Tuple(ts) => {
            let items: Vec<String> = ts.iter().map(|t| decode_expr(t, ctx)).collect();
            if items.len() == 1 {
                format!("({},)", items[0])
            } else {
                format!("({})", items.join(", "))
            }
        }
        // One nesting level: `enter_result` counts it, `leave` gives it back
        // once the value is decoded (the call's argument comes first).
        Ty::Result(a, b) => format!(
            "r.leave(_rt.Ok({}) if r.enter_result() == 0 else _rt.Err({}))",
            decode_expr(a, ctx),
            decode_expr(b, ctx)
        ),
        Ty::Named { name, .. } if ctx.is_param(name) => format!("dec_{name}(r)"),
        Ty::Named { name, args } => {
            let mut call = format!("_dec_{}(r", names::type_name(name));
            for a in args {
                call.push_str(", ");
                call.push_str(&decoder_fn(a, ctx));
            }
            call.push(')');
            call
        }
        _ => unreachable!("scalars are handled above"),
    }
}

/// A callable `(Reader) -> value` for a type argument of a generic type.
pub fn decoder_fn(ty: &Ty, ctx: &Ctx) -> String {
    if let Some((method, _)) = scalar(ty) {
        return format!("_rt.Reader.{method}");
    }
    match ty {
        Ty::Named { name, .. } if ctx.is_param(name) => format!("dec_{name}"),
        Ty::Named { name, args } if args.is_empty() => format!("_dec_{}", names::type_name(name)),
        other => format!("lambda r: {}", decode_expr(other, ctx)),
    }
}

/// Lines of Python being built, at an indentation, with fresh local names.
pub struct Block {
    /// The lines, indented.
    pub lines: Vec<String>,
    /// The current indentation, in levels of four spaces.
    pub indent: usize,
    next_var: usize,
}

impl Block {
    /// An empty block at `indent`.
    pub fn new(indent: usize) -> Self {
        Block {
            lines: Vec::new(),
            indent,
            next_var: 0,
        }
    }

    /// Appends one line at the current indentation.
    pub fn line(&mut self, text: impl AsRef<str>) {
        self.lines
            .push(format!("{}{}", "    ".repeat(self.indent), text.as_ref()));
    }

    /// Starts local names from 1 again (at the start of each function).
    pub fn reset_vars(&mut self) {
        self.next_var = 0;
    }

    fn var(&mut self, prefix: &str) -> String {
        self.next_var += 1;
        format!("{prefix}{}", self.next_var)
    }

    /// Runs `f` one level deeper; writes `pass` when it wrote nothing.
    fn nested(&mut self, f: impl FnOnce(&mut Block)) {
        let before = self.lines.len();
        self.indent += 1;
        f(self);
        if self.lines.len() == before {
            self.line("pass");
        }
        self.indent -= 1;
    }
}

fn is_simple_name(expr: &str) -> bool {
    expr.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Statements that append the encoding of `val` (an expression of shape
/// `ty`) to the bytearray `out`.
pub fn encode_stmts(ty: &Ty, val: &str, ctx: &Ctx, b: &mut Block) {
    if let Some((_, writer)) = scalar(ty) {
        b.line(format!("_rt.{writer}(out, {val})"));
        return;
    }
    // Bind compound values to a local once, so each is evaluated once.
    let bind = |b: &mut Block| -> String {
        if is_simple_name(val) {
            val.to_string()
        } else {
            let x = b.var("x");
            b.line(format!("{x} = {val}"));
            x
        }
    };
    match ty {
        Ty::Unit => {}
        Ty::Seq(t) => {
            let x = bind(b);
            let item = b.var("i");
            b.line(format!("_rt.w_len(out, len({x}))"));
            b.line(format!("for {item} in {x}:"));
            b.nested(|b| encode_stmts(t, &item, ctx, b));
        }
        Ty::Array(t, n) => {
            let x = bind(b);
            let item = b.var("i");
            b.line(format!("_rt.w_array_len({x}, {n})"));
            b.line(format!("for {item} in {x}:"));
            b.nested(|b| encode_stmts(t, &item, ctx, b));
        }
        Ty::Option(t) => {
            let x = bind(b);
            b.line(format!("if {x} is None:"));
            b.nested(|b| b.line("out.append(0)"));
            b.line("else:");
            b.nested(|b| {
                b.line("out.append(1)");
                if needs_some(t) {
                    encode_stmts(t, &format!("{x}.value"), ctx, b);
                } else {
                    encode_stmts(t, &x, ctx, b);
                }
            });
        }
        Ty::Map(k, v) => {
            let x = bind(b);
            let key = b.var("k");
            let value = b.var("v");
            b.line(format!("_rt.w_len(out, len({x}))"));
            b.line(format!("for {key}, {value} in {x}.items():"));
            b.nested(|b| {
                encode_stmts(k, &key, ctx, b);
                encode_stmts(v, &value, ctx, b);
            });
        }
        Ty::Tuple(ts) => {
            let x = bind(b);
            b.line(format!("if len({x}) != {}:", ts.len()));
            b.nested(|b| {
                b.line(format!(
                    "raise _rt.EncodeError(f\"expected a tuple of {} item(s), got {{len({x})}}\")",
                    ts.len()
                ))
            });
            for (i, t) in ts.iter().enumerate() {
                encode_stmts(t, &format!("{x}[{i}]"), ctx, b);
            }
        }
        Ty::Result(a, e) => {
            let x = bind(b);
            b.line(format!("if isinstance({x}, _rt.Ok):"));
            b.nested(|b| {
                b.line("out.append(0)");
                encode_stmts(a, &format!("{x}.value"), ctx, b);
            });
            b.line(format!("elif isinstance({x}, _rt.Err):"));
            b.nested(|b| {
                b.line("out.append(1)");
                encode_stmts(e, &format!("{x}.value"), ctx, b);
            });
            b.line("else:");
            b.nested(|b| {
                b.line(format!(
                    "raise _rt.EncodeError(f\"expected Ok(...) or Err(...) for a Result, got {{type({x}).__name__}}\")"
                ))
            });
        }
        Ty::Named { name, .. } if ctx.is_param(name) => b.line(format!("enc_{name}(out, {val})")),
        Ty::Named { name, args } => {
            let mut fns = Vec::new();
            for a in args {
                fns.push(encoder_fn(a, ctx, b));
            }
            let mut call = format!("_enc_{}(out, {val}", names::type_name(name));
            for f in fns {
                call.push_str(", ");
                call.push_str(&f);
            }
            call.push(')');
            b.line(call);
        }
        _ => unreachable!("scalars are handled above"),
    }
}

/// An existing function `(bytearray, value) -> None` for the shape, when
/// there is one (scalars, non-generic user types).
pub fn direct_encoder(ty: &Ty) -> Option<String> {
    if let Some((_, writer)) = scalar(ty) {
        return Some(format!("_rt.{writer}"));
    }
    match ty {
        Ty::Named { name, args } if args.is_empty() => {
            Some(format!("_enc_{}", names::type_name(name)))
        }
        _ => None,
    }
}

/// An existing function `(Reader) -> value` for the shape, when there is
/// one (scalars, `()`, non-generic user types).
pub fn direct_decoder(ty: &Ty) -> Option<String> {
    if let Some((method, _)) = scalar(ty) {
        return Some(format!("_rt.Reader.{method}"));
    }
    match ty {
        Ty::Unit => Some("_rt.read_unit".into()),
        Ty::Named { name, args } if args.is_empty() => {
            Some(format!("_dec_{}", names::type_name(name)))
        }
        _ => None,
    }
}

/// A callable `(bytearray, value) -> None` for a type argument of a generic
/// type; compound shapes get a local function defined just before the use.
pub fn encoder_fn(ty: &Ty, ctx: &Ctx, b: &mut Block) -> String {
    if let Some((_, writer)) = scalar(ty) {
        return format!("_rt.{writer}");
    }
    match ty {
        Ty::Named { name, .. } if ctx.is_param(name) => format!("enc_{name}"),
        Ty::Named { name, args } if args.is_empty() => format!("_enc_{}", names::type_name(name)),
        other => {
            let f = b.var("_enc_arg");
            // Distinct parameter names keep the outer `out`/value visible to nobody by accident.
            b.line(format!(
                "def {f}(out: bytearray, v: {}) -> None:",
                annotation(other)
            ));
            b.nested(|b| encode_stmts(other, "v", ctx, b));
            f
        }
    }
}

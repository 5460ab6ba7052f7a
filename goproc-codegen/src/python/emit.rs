//! Prints one Python module for the contracts of one source file: the
//! types they reach (dataclasses, one class per enum variant and a `Union`
//! alias), their codec functions, the domain error exceptions, the abstract
//! contract classes and their method tables.

use std::collections::{BTreeMap, BTreeSet};

use super::fast::fast_decoder;
use super::names::{ident, snake_case, string_literal, tuple_field, type_name, WIDTHS};
use super::types::{
    annotation, decode_expr, direct_decoder, direct_encoder, encode_stmts, Block, Ctx,
};
use crate::model::schema::{Schema, SourceContract};
use crate::model::typedefs::{Fields, TypeDef, TypeDefKind};
use crate::model::{Method, Ty};
use crate::stub_schema::SchemaTexts;

/// The checked plan of one module: which types it holds and the names of
/// everything it defines at the top level.
pub struct ModulePlan<'a> {
    /// The contracts, in source order.
    pub contracts: Vec<&'a SourceContract>,
    /// The user types they reach, by Rust name.
    pub types: BTreeMap<String, &'a TypeDef>,
    /// Each distinct domain error shape, with the exception class that
    /// carries it: the type itself when it is a class of the stubs (a
    /// non-generic struct or enum), else the runtime's `ErrorValue` wrapper.
    pub errors: Vec<(Ty, String)>,
    /// The user types that are domain errors, and so exceptions, by Rust name.
    pub error_types: BTreeSet<String>,
    /// The source file, for the header.
    pub source: String,
    /// Each served contract's schema texts, by contract name.
    pub schemas: BTreeMap<String, SchemaTexts>,
}

/// Plans the module for `contracts` (one source file): collects the types
/// and checks that the Python names it will define do not collide.
pub fn plan<'a>(
    contracts: Vec<&'a SourceContract>,
    schema: &'a Schema,
) -> Result<ModulePlan<'a>, String> {
    let source = contracts
        .first()
        .map(|c| c.file.display().to_string().replace('\\', "/"))
        .unwrap_or_default();
    let mut types = BTreeMap::new();
    let mut queue: Vec<String> = Vec::new();
    for sc in &contracts {
        for m in &sc.contract.methods {
            for a in &m.args {
                queue.extend(a.shape.named_types().into_iter().map(String::from));
            }
            queue.extend(m.ret.named_types().into_iter().map(String::from));
        }
    }
    while let Some(name) = queue.pop() {
        if types.contains_key(&name) {
            continue;
        }
        let Some(def) = schema.types.get(&name) else {
            return Err(format!(
                "type `{name}` used by a contract in {source} is not defined"
            ));
        };
        queue.extend(def.named_types().into_iter().map(String::from));
        types.insert(name, def);
    }

    let mut errors: Vec<(Ty, String)> = Vec::new();
    let mut error_types = BTreeSet::new();
    for sc in &contracts {
        for m in &sc.contract.methods {
            if let Some((_, err)) = m.domain_result() {
                if errors.iter().any(|(t, _)| t == err) {
                    continue;
                }
                let class = match err {
                    Ty::Named { name, args }
                        if args.is_empty()
                            && types
                                .get(name)
                                .is_some_and(|d: &&TypeDef| d.generics.is_empty()) =>
                    {
                        error_types.insert(name.clone());
                        type_name(name)
                    }
                    _ => "_rt.ErrorValue".to_string(),
                };
                errors.push((err.clone(), class));
            }
        }
    }

    // Every top-level name, with what defines it, to refuse collisions.
    let mut defined: BTreeMap<String, String> = BTreeMap::new();
    let mut define = |name: String, what: String| -> Result<(), String> {
        if let Some(first) = defined.insert(name.clone(), what.clone()) {
            return Err(format!(
                "the Python module for {source} would define `{name}` twice ({first}, and {what}); \
                 rename one of them"
            ));
        }
        Ok(())
    };
    for w in WIDTHS {
        define(w.to_string(), format!("the number width `{w}` it imports"))?;
    }
    for (name, def) in &types {
        define(type_name(name), format!("type {name}"))?;
        if let TypeDefKind::Enum(variants) = &def.kind {
            if variants.is_empty() {
                return Err(format!(
                    "enum `{name}` ({}) has no variants, so no value of it can be sent",
                    def.location
                ));
            }
            for v in variants {
                define(
                    variant_class(name, &v.name),
                    format!("variant {name}::{}", v.name),
                )?;
            }
        }
    }
    let params: BTreeSet<&String> = types.values().flat_map(|d| &d.generics).collect();
    for p in params {
        define(ident(p), format!("type parameter {p}"))?;
    }
    let single = contracts.iter().filter(|sc| !sc.contract.events).count() == 1;
    for sc in &contracts {
        let c = &sc.contract.name.to_string();
        if sc.contract.events {
            define(events_class(c), format!("event contract {c}'s class"))?;
            define(events_const(c), format!("event contract {c}'s table"))?;
            continue;
        }
        define(type_name(c), format!("contract {c}"))?;
        define(contract_const(c), format!("contract {c}'s table"))?;
        define(schema_const(c), format!("contract {c}'s schema"))?;
        define(
            documented_const(c),
            format!("contract {c}'s documented schema"),
        )?;
        define(client_class(c), format!("contract {c}'s client class"))?;
        let (service, serve) = entry_names(c, single);
        define(service, format!("contract {c}'s service function"))?;
        define(serve, format!("contract {c}'s serve function"))?;
        define(
            test_client_name(c, single),
            format!("contract {c}'s test_client function"),
        )?;
        for m in &sc.contract.methods {
            let name = py_method(m);
            if CLIENT_MEMBERS.contains(&name.as_str()) {
                return Err(format!(
                    "method `{name}` of contract {c} would hide the Python client's own `{name}`; \
                     rename the method"
                ));
            }
        }
    }
    let mut schemas = BTreeMap::new();
    for sc in contracts.iter().filter(|sc| !sc.contract.events) {
        schemas.insert(
            sc.contract.name.to_string(),
            SchemaTexts::of(&sc.contract, &schema.types),
        );
    }
    Ok(ModulePlan {
        contracts,
        types,
        errors,
        error_types,
        source,
        schemas,
    })
}

fn variant_class(enum_name: &str, variant: &str) -> String {
    format!(
        "{}{}",
        type_name(enum_name),
        variant.strip_prefix("r#").unwrap_or(variant)
    )
}

/// What the runtime's `Client` base class defines, which a method of a
/// generated client must not hide.
const CLIENT_MEMBERS: &[&str] = &[
    "from_host",
    "with_timeout",
    "with_stream_window",
    "CONTRACT",
];

/// `Telemetry` -> `TelemetryEvents`; a name that says `Events` already
/// (`SensorEvents`) stays as it is.
fn events_class(contract: &str) -> String {
    let name = type_name(contract);
    if name.ends_with("Events") {
        name
    } else {
        format!("{name}Events")
    }
}

fn events_const(contract: &str) -> String {
    format!("{}_EVENTS", crate::case::upper_snake(contract))
}

/// `Store` -> `StoreClient`.
fn client_class(contract: &str) -> String {
    format!("{}Client", type_name(contract))
}

fn contract_const(contract: &str) -> String {
    format!("{}_CONTRACT", crate::case::upper_snake(contract))
}

fn schema_const(contract: &str) -> String {
    format!("{}_SCHEMA", crate::case::upper_snake(contract))
}

fn documented_const(contract: &str) -> String {
    format!("{}_DOCUMENTED_SCHEMA", crate::case::upper_snake(contract))
}

/// `NAME = (...)`: a multi-line text as one string literal per line, so the
/// stub shows it as it reads; then its docstring.
fn text_constant(name: &str, text: &str, doc: &str, b: &mut Block) {
    if text.is_empty() {
        b.line(format!("{name} = \"\""));
    } else {
        b.line(format!("{name} = ("));
        for line in text.split_inclusive('\n') {
            b.line(format!("    {}", string_literal(line)));
        }
        b.line(")");
    }
    b.line(format!("\"\"\"{doc}\"\"\""));
    b.lines.push(String::new());
    b.lines.push(String::new());
}

/// `service`/`serve` for a module with one contract, else `<name>_service`/`serve_<name>`.
fn entry_names(contract: &str, single: bool) -> (String, String) {
    if single {
        ("service".into(), "serve".into())
    } else {
        let s = snake_case(contract);
        (format!("{s}_service"), format!("serve_{s}"))
    }
}

/// `test_client` for a module with one contract, else `<name>_test_client`.
fn test_client_name(contract: &str, single: bool) -> String {
    if single {
        "test_client".into()
    } else {
        format!("{}_test_client", snake_case(contract))
    }
}

fn docstring(lines: &[String], b: &mut Block) {
    let text: Vec<String> = lines
        .iter()
        .map(|l| l.replace('\\', "\\\\").replace("\"\"\"", "\\\"\\\"\\\""))
        .collect();
    // Drop trailing empty lines so the closing quotes sit on the text.
    let mut text: Vec<&str> = text.iter().map(|s| s.trim_end()).collect();
    while text.last().is_some_and(|l| l.is_empty()) {
        text.pop();
    }
    while text.first().is_some_and(|l| l.is_empty()) {
        text.remove(0);
    }
    match text.len() {
        0 => {}
        1 => b.line(format!("\"\"\"{}\"\"\"", text[0])),
        _ => {
            b.line(format!("\"\"\"{}", text[0]));
            for l in &text[1..] {
                if l.is_empty() {
                    b.lines.push(String::new());
                } else {
                    b.line(l);
                }
            }
            b.line("\"\"\"");
        }
    }
}

fn fields_list(fields: &Fields) -> Vec<(String, &Ty, &[String])> {
    match fields {
        Fields::Unit => Vec::new(),
        Fields::Tuple(ts) => ts
            .iter()
            .enumerate()
            .map(|(i, t)| (tuple_field(i, ts.len()), t, &[] as &[String]))
            .collect(),
        Fields::Named(fs) => fs
            .iter()
            .map(|f| (ident(&f.name), &f.ty, f.docs.as_slice()))
            .collect(),
    }
}

fn generic_base(generics: &[String]) -> String {
    if generics.is_empty() {
        String::new()
    } else {
        format!(
            "(_t.Generic[{}])",
            generics
                .iter()
                .map(|g| ident(g))
                .collect::<Vec<_>>()
                .join(", ")
        )
    }
}

fn applied(name: &str, generics: &[String]) -> String {
    if generics.is_empty() {
        name.to_string()
    } else {
        format!(
            "{name}[{}]",
            generics
                .iter()
                .map(|g| ident(g))
                .collect::<Vec<_>>()
                .join(", ")
        )
    }
}

/// A dataclass: named fields are keyword-only (`Point(x=1, y=2)`, as Rust
/// writes `Point { x: 1, y: 2 }`; a field added or moved cannot shift
/// positional arguments), an `Option` one defaulting to `None`; tuple
/// fields positional (`Meters(3)`, as Rust's `Meters(3)`). `base` is the
/// class's base, when it has one.
fn dataclass(class: &str, base: &str, docs: &[String], fields: &Fields, b: &mut Block) {
    if matches!(fields, Fields::Named(fs) if !fs.is_empty()) {
        b.line("@_dc.dataclass(slots=True, kw_only=True)");
    } else {
        b.line("@_dc.dataclass(slots=True)");
    }
    b.line(format!("class {class}{base}:"));
    b.indent += 1;
    let before = b.lines.len();
    docstring(docs, b);
    let list = fields_list(fields);
    if !list.is_empty() && b.lines.len() > before {
        b.lines.push(String::new());
    }
    let keywords = matches!(fields, Fields::Named(_));
    for (name, ty, docs) in list {
        for d in docs {
            b.line(format!("# {d}").trim_end());
        }
        // An optional keyword field may be left out, as `None`.
        let default = if keywords && matches!(ty, Ty::Option(_)) {
            " = None"
        } else {
            ""
        };
        b.line(format!("{name}: {}{default}", annotation(ty)));
    }
    if b.lines.len() == before {
        b.line("pass");
    }
    b.indent -= 1;
}

/// Parameters of a generic type's codec functions after the value.
fn codec_params(generics: &[String], decode: bool) -> String {
    generics
        .iter()
        .map(|g| {
            let t = ident(g);
            if decode {
                format!(", dec_{g}: _t.Callable[[_rt.Reader], {t}]")
            } else {
                format!(", enc_{g}: _t.Callable[[bytearray, {t}], None]")
            }
        })
        .collect()
}

/// The expression that decodes a value of `class` with `fields`: keyword
/// arguments for named fields (keyword-only), evaluated in wire order.
fn construct(class: &str, fields: &Fields, ctx: &Ctx) -> String {
    let named = matches!(fields, Fields::Named(_));
    let args: Vec<String> = fields_list(fields)
        .into_iter()
        .map(|(name, t, _)| {
            if named {
                format!("{name}={}", decode_expr(t, ctx))
            } else {
                decode_expr(t, ctx)
            }
        })
        .collect();
    format!("{class}({})", args.join(", "))
}

/// The start of a struct's or enum's decoder: one nesting level deeper, or
/// the nesting limit's error (docs/WIRE.md section 3.1). The decoder ends
/// with [`leave_level`]; one that fails leaves the reader as it is, since a
/// failed decode discards it.
fn enter_level(b: &mut Block) {
    b.line("levels = r.levels");
    b.line("if not levels:");
    b.line("    raise r.too_deep()");
    b.line("r.levels = levels - 1");
}

/// The end of a decoder begun with [`enter_level`]: the value `v`, one level up.
fn leave_level(b: &mut Block) {
    b.line("r.levels = levels");
    b.line("return v");
}

fn encode_fields(fields: &Fields, ctx: &Ctx, b: &mut Block) {
    for (name, ty, _) in fields_list(fields) {
        encode_stmts(ty, &format!("v.{name}"), ctx, b);
    }
}

/// Prints a user type and its codec functions. `error`: the type is a
/// domain error, so its class derives from the runtime's `DomainError`
/// (the value is the exception a handler raises and a client's call
/// raises).
fn emit_type(
    rust_name: &str,
    def: &TypeDef,
    types: &BTreeMap<String, TypeDef>,
    error: bool,
    b: &mut Block,
) {
    let ctx = Ctx {
        types,
        generics: &def.generics,
    };
    let class = type_name(rust_name);
    let full = applied(&class, &def.generics);
    let base = if error {
        "(_rt.DomainError)".to_string()
    } else {
        generic_base(&def.generics)
    };
    match &def.kind {
        TypeDefKind::Struct(fields) => {
            dataclass(&class, &base, &def.docs, fields, b);

            b.lines.push(String::new());
            b.lines.push(String::new());
            b.line(format!(
                "def _dec_{class}(r: _rt.Reader{}) -> {full}:",
                codec_params(&def.generics, true)
            ));
            b.indent += 1;
            enter_level(b);
            b.line(format!("v = {}", construct(&class, fields, &ctx)));
            leave_level(b);
            b.indent -= 1;
            b.lines.push(String::new());
            b.lines.push(String::new());
            b.line(format!(
                "def _enc_{class}(out: bytearray, v: {full}{}) -> None:",
                codec_params(&def.generics, false)
            ));
            b.reset_vars();
            b.indent += 1;
            b.line(format!("if not isinstance(v, {class}):"));
            b.line(format!(
                "    raise _rt.EncodeError(f\"expected {class}, got {{type(v).__name__}}\")"
            ));
            encode_fields(fields, &ctx, b);
            b.indent -= 1;
        }
        TypeDefKind::Enum(variants) => {
            // The enum is a base class; each variant a dataclass deriving
            // from it, reachable as `Enum.Variant` (a type alias for mypy,
            // an attribute set by `_rt.nest` for Python).
            b.line(format!("class {class}{base}:"));
            b.indent += 1;
            let mut docs = def.docs.clone();
            add_paragraph(
                &mut docs,
                format!(
                    "One subclass per variant: {}.",
                    variants
                        .iter()
                        .map(|v| format!("`{class}.{}`", ident(&v.name)))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
            docstring(&docs, b);
            b.lines.push(String::new());
            b.line("__slots__ = ()");
            b.lines.push(String::new());
            b.line("if _t.TYPE_CHECKING:");
            for v in variants {
                b.line(format!(
                    "    {}: _t.TypeAlias = {}",
                    ident(&v.name),
                    string_literal(&variant_class(rust_name, &v.name))
                ));
            }
            b.indent -= 1;
            b.lines.push(String::new());
            b.lines.push(String::new());
            let variant_base = format!("({full})");
            for v in variants {
                let vc = variant_class(rust_name, &v.name);
                let mut docs = vec![format!("`{rust_name}::{}`.", v.name)];
                if !v.docs.is_empty() {
                    docs.push(String::new());
                    docs.extend(v.docs.iter().cloned());
                }
                dataclass(&vc, &variant_base, &docs, &v.fields, b);
                b.lines.push(String::new());
                b.lines.push(String::new());
            }
            b.line(format!(
                "_rt.nest({class}, {})",
                variants
                    .iter()
                    .map(|v| format!("{}={}", ident(&v.name), variant_class(rust_name, &v.name)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            b.lines.push(String::new());
            b.lines.push(String::new());
            b.line(format!(
                "def _dec_{class}(r: _rt.Reader{}) -> {full}:",
                codec_params(&def.generics, true)
            ));
            b.indent += 1;
            enter_level(b);
            b.line(format!(
                "tag = r.variant({}, {})",
                variants.len(),
                string_literal(rust_name)
            ));
            if variants.len() == 1 {
                let vc = variant_class(rust_name, &variants[0].name);
                b.line(format!("v = {}", construct(&vc, &variants[0].fields, &ctx)));
            } else {
                b.line(format!("v: {full}"));
                let last = variants.len() - 1;
                for (i, v) in variants.iter().enumerate() {
                    let vc = variant_class(rust_name, &v.name);
                    b.line(match i {
                        0 => format!("if tag == {i}:"),
                        _ if i == last => "else:".to_string(),
                        _ => format!("elif tag == {i}:"),
                    });
                    b.line(format!("    v = {}", construct(&vc, &v.fields, &ctx)));
                }
            }
            leave_level(b);
            b.indent -= 1;
            b.lines.push(String::new());
            b.lines.push(String::new());
            b.line(format!(
                "def _enc_{class}(out: bytearray, v: {full}{}) -> None:",
                codec_params(&def.generics, false)
            ));
            b.reset_vars();
            b.indent += 1;
            for (i, v) in variants.iter().enumerate() {
                let vc = variant_class(rust_name, &v.name);
                b.line(format!(
                    "{} isinstance(v, {vc}):",
                    if i == 0 { "if" } else { "elif" }
                ));
                b.indent += 1;
                if i < 251 {
                    b.line(format!("out.append({i})"));
                } else {
                    b.line(format!("_rt.w_len(out, {i})"));
                }
                encode_fields(&v.fields, &ctx, b);
                b.indent -= 1;
            }
            b.line("else:");
            b.line(format!(
                "    raise _rt.EncodeError(f\"expected a {class} variant, got {{type(v).__name__}}\")"
            ));
            b.indent -= 1;
        }
    }
    b.lines.push(String::new());
    b.lines.push(String::new());
}

fn py_method(m: &Method) -> String {
    ident(&syn::ext::IdentExt::unraw(&m.name).to_string())
}

/// The encoder of a method's answer: an existing function when there is
/// one, else a new function named `name`.
fn encoder_def(name: &str, ty: &Ty, ctx: &Ctx, b: &mut Block) -> String {
    if let Some(direct) = direct_encoder(ty) {
        return direct;
    }
    b.line(format!(
        "def {name}(out: bytearray, v: {}) -> None:",
        annotation(ty)
    ));
    b.reset_vars();
    let before = b.lines.len();
    b.indent += 1;
    encode_stmts(ty, "v", ctx, b);
    if b.lines.len() == before {
        b.line("pass");
    }
    b.indent -= 1;
    b.lines.push(String::new());
    b.lines.push(String::new());
    name.to_string()
}

fn emit_contract(
    sc: &SourceContract,
    plan: &ModulePlan,
    types: &BTreeMap<String, TypeDef>,
    b: &mut Block,
) {
    let c = &sc.contract;
    let cname = c.name.to_string();
    let class = type_name(&cname);
    let snake = snake_case(&cname);
    let ctx = Ctx {
        types,
        generics: &[],
    };
    let single = plan
        .contracts
        .iter()
        .filter(|sc| !sc.contract.events)
        .count()
        == 1;
    let (service, serve) = entry_names(&cname, single);
    let error_class = |err: &Ty| {
        plan.errors
            .iter()
            .find(|(t, _)| t == err)
            .map(|(_, class)| class.clone())
            .unwrap_or_default()
    };

    b.line(format!("class {class}(_abc.ABC):"));
    b.indent += 1;
    let mut docs = c.docs.clone();
    add_paragraph(&mut docs, format!(
        "Implement every method (`async def`, or plain `def` for quick non-blocking work) and pass an instance to `{serve}`."
    ));
    docstring(&docs, b);
    for m in &c.methods {
        b.lines.push(String::new());
        b.line("@_abc.abstractmethod");
        b.line(method_signature(m, false));
        b.indent += 1;
        let mut mdocs = m.docs.clone();
        if let Some((_, err)) = m.domain_result() {
            add_paragraph(&mut mdocs, raise_doc(&error_class(err), true));
        }
        if m.answer_stream().is_some() {
            add_paragraph(
                &mut mdocs,
                "An async generator (`async def` that yields): each item goes to the host as its \
                 credit allows; an exception ends the stream with it. When the host stops the call \
                 the generator is closed, so its `finally` blocks run."
                    .into(),
            );
        }
        if let Some((pos, _)) = m.stream_arg() {
            add_paragraph(
                &mut mdocs,
                format!(
                "`{}` is an async iterator of the items the host sends (`async for`); a stream the \
                 host's side failed raises its error as its last item.",
                ident(&syn::ext::IdentExt::unraw(&m.args[pos].name).to_string())
            ),
            );
        }
        if mdocs.is_empty() {
            b.line("...");
        } else {
            docstring(&mdocs, b);
        }
        b.indent -= 1;
    }
    b.indent -= 1;
    b.lines.push(String::new());
    b.lines.push(String::new());

    let mut specs = Vec::new();
    for m in &c.methods {
        let name = py_method(m);
        let arg_types: Vec<String> = m.request_args().map(|a| annotation(&a.shape)).collect();
        let args_fn = format!("_{snake}_args_{name}");
        b.line(format!(
            "def {args_fn}(r: _rt.Reader) -> tuple[{}]:",
            if arg_types.is_empty() {
                "()".to_string()
            } else {
                arg_types.join(", ")
            }
        ));
        let decoded: Vec<String> = m
            .request_args()
            .map(|a| decode_expr(&a.shape, &ctx))
            .collect();
        b.line(match decoded.len() {
            0 => "    return ()".to_string(),
            1 => format!("    return ({},)", decoded[0]),
            _ => format!("    return ({})", decoded.join(", ")),
        });
        b.lines.push(String::new());
        b.lines.push(String::new());
        // A call that streams runs in its task: the decoder that lets a
        // request be answered at once is of no use to it.
        let fast = if m.answer_stream().is_none() && m.stream_arg().is_none() {
            let shapes: Vec<&Ty> = m.request_args().map(|a| &a.shape).collect();
            fast_decoder(&format!("_{snake}_fast_{name}"), &shapes, b)
        } else {
            None
        };
        let (ok, err) = match m.domain_result() {
            Some((ok, err)) => (ok, Some(err)),
            None => (m.answer_stream().unwrap_or(&m.ret), None),
        };
        let ok_fn = encoder_def(&format!("_{snake}_ok_{name}"), ok, &ctx, b);
        let mut spec = format!(
            "_rt.MethodSpec({}, {args_fn}, {ok_fn}",
            string_literal(&name)
        );
        if let Some(err) = err {
            let err_fn = encoder_def(&format!("_{snake}_err_{name}"), err, &ctx, b);
            spec.push_str(&format!(", {}, {err_fn}", error_class(err)));
        }
        if m.answer_stream().is_some() {
            spec.push_str(", stream=True");
        }
        if let Some((pos, item)) = m.stream_arg() {
            let item_fn = decoder_def(&format!("_{snake}_item_{name}"), item, &ctx, b);
            spec.push_str(&format!(", arg_at={pos}, decode_item={item_fn}"));
        }
        if let Some(fast) = fast {
            spec.push_str(&format!(", decode_fast={fast}"));
        }
        spec.push(')');
        specs.push(spec);
    }

    let konst = contract_const(&cname);
    let texts = &plan.schemas[&cname];
    if let Some(note) = texts.missing_note(&cname) {
        b.line(format!("# {note}"));
    }
    text_constant(
        &schema_const(&cname),
        &texts.canonical,
        &format!(
            "{cname}'s canonical schema: sent in the HELLO, where the host refuses a plugin whose \
             types differ from its own and names the first difference."
        ),
        b,
    );
    text_constant(
        &documented_const(&cname),
        &texts.documented,
        &format!("{cname}'s schema with its doc comments: what a describe request answers."),
        b,
    );
    b.line(format!("{konst} = _rt.Contract("));
    b.line(format!("    name={},", string_literal(&cname)));
    b.line(format!(
        "    fingerprint={},",
        string_literal(&c.fingerprint)
    ));
    b.line("    methods=(");
    for s in specs {
        b.line(format!("        {s},"));
    }
    b.line("    ),");
    b.line(format!("    schema={},", schema_const(&cname)));
    b.line(format!("    documented={},", documented_const(&cname)));
    b.line(")");
    b.line(format!(
        "\"\"\"{cname}'s name, fingerprint, method table (index = wire method number) and schema.\"\"\""
    ));
    b.lines.push(String::new());
    b.lines.push(String::new());
    b.line(format!("def {service}(impl: {class}) -> _rt.Service:"));
    b.line(
        "    \"\"\"`impl` as a service for `goproc_runtime.serve`, to serve several contracts from one process.\"\"\"",
    );
    b.line(format!("    return _rt.Service({konst}, impl)"));
    b.lines.push(String::new());
    b.lines.push(String::new());
    b.line(format!(
        "def {serve}(impl: {class}, requires: _t.Sequence[type[_rt.Client]] = ()) -> _t.NoReturn:"
    ));
    b.line("    \"\"\"Serves `impl` to the host that started this process, then exits.");
    b.lines.push(String::new());
    b.line("    `requires` lists the clients of the host contracts `impl` calls");
    b.line("    (`[StoreClient]`): the host refuses the plugin unless it serves each.");
    b.line("    \"\"\"");
    b.line(format!("    _rt.serve({service}(impl), requires=requires)"));
    b.lines.push(String::new());
    b.lines.push(String::new());
    emit_client(sc, &konst, &error_class, &ctx, b);
    let client = client_class(&cname);
    b.line(format!(
        "def {}(impl: {class}, host: _t.Sequence[_rt.Service] = (), requires: _t.Sequence[type[_rt.Client]] = ()) -> _t.AsyncContextManager[{client}]:",
        test_client_name(&cname, single)
    ));
    b.line(format!(
        "    \"\"\"For tests: serves `impl` in this process and yields a `{client}` whose calls reach it"
    ));
    b.line("    through the real encoders, dispatcher, deadlines and cancellation (an in-memory");
    b.line(
        "    connection), as `async with test_client(impl) as client:`. `host` and `requires` are",
    );
    b.line("    as in `goproc_runtime.testing`: services the handlers call through `from_host()`.");
    b.line("    \"\"\"");
    b.line(format!(
        "    return _rt.testing({client}, {service}(impl), host=host, requires=requires)"
    ));
    b.lines.push(String::new());
    b.lines.push(String::new());
}

/// The decoder of a method's answer: an existing function when there is
/// one, else a new function named `name`.
fn decoder_def(name: &str, ty: &Ty, ctx: &Ctx, b: &mut Block) -> String {
    if let Some(direct) = direct_decoder(ty) {
        return direct;
    }
    b.line(format!("def {name}(r: _rt.Reader) -> {}:", annotation(ty)));
    b.line(format!("    return {}", decode_expr(ty, ctx)));
    b.lines.push(String::new());
    b.lines.push(String::new());
    name.to_string()
}

/// The client class of a contract (`StoreClient`), for a plugin that calls
/// the contract served by its host, and the functions that encode each
/// method's request and decode its answer.
fn emit_client(
    sc: &SourceContract,
    konst: &str,
    error_class: &dyn Fn(&Ty) -> String,
    ctx: &Ctx,
    b: &mut Block,
) {
    let c = &sc.contract;
    let cname = c.name.to_string();
    let snake = snake_case(&cname);
    let client = client_class(&cname);
    // Per method: the call's expression, built from the functions printed here.
    let mut calls = Vec::new();
    for (index, m) in c.methods.iter().enumerate() {
        let name = py_method(m);
        let request_args: Vec<&crate::model::Arg> = m.request_args().collect();
        let request = if request_args.is_empty() {
            "_rt.request_buffer()".to_string()
        } else {
            let f = format!("_{snake}_request_{name}");
            let params: Vec<String> = request_args
                .iter()
                .enumerate()
                .map(|(i, a)| format!("a{i}: {}", annotation(&a.shape)))
                .collect();
            b.line(format!("def {f}({}) -> bytearray:", params.join(", ")));
            b.reset_vars();
            b.indent += 1;
            b.line("out = _rt.request_buffer()");
            for (i, a) in request_args.iter().enumerate() {
                encode_stmts(&a.shape, &format!("a{i}"), ctx, b);
            }
            b.line("return out");
            b.indent -= 1;
            b.lines.push(String::new());
            b.lines.push(String::new());
            let args: Vec<String> = request_args
                .iter()
                .map(|a| ident(&syn::ext::IdentExt::unraw(&a.name).to_string()))
                .collect();
            format!("{f}({})", args.join(", "))
        };
        // The stream argument's source and item encoder, when there is one.
        let source = match m.stream_arg() {
            Some((pos, item)) => {
                let enc = encoder_def(&format!("_{snake}_arg_item_{name}"), item, ctx, b);
                let arg = ident(&syn::ext::IdentExt::unraw(&m.args[pos].name).to_string());
                format!(", {arg}, {enc}")
            }
            None => String::new(),
        };
        let call = match (m.answer_stream(), m.domain_result()) {
            (Some(item), _) => {
                let item_fn = decoder_def(&format!("_{snake}_answer_{name}"), item, ctx, b);
                format!("self._stream({index}, {request}, {item_fn}{source})")
            }
            (None, Some((ok, err))) => {
                let ok_fn = decoder_def(&format!("_{snake}_answer_{name}"), ok, ctx, b);
                let err_fn = decoder_def(&format!("_{snake}_error_{name}"), err, ctx, b);
                format!(
                    "await self._call_result({index}, {request}, {ok_fn}, {err_fn}, {}{source})",
                    error_class(err)
                )
            }
            (None, None) => {
                let ret_fn = decoder_def(&format!("_{snake}_answer_{name}"), &m.ret, ctx, b);
                format!("await self._call({index}, {request}, {ret_fn}{source})")
            }
        };
        calls.push(call);
    }

    b.line(format!("class {client}(_rt.Client):"));
    b.indent += 1;
    let mut docs = vec![format!(
        "Calls {cname} served by the host that started this plugin: `{client}.from_host()`."
    )];
    if !c.docs.is_empty() {
        docs.push(String::new());
        docs.extend(c.docs.iter().cloned());
    }
    docs.push(String::new());
    docs.push(format!(
        "List `{client}` in `serve(..., requires=[{client}])`. Each call's deadline is \
         `with_timeout(seconds)`, else what is left of the handler it is made in; a call that \
         fails raises `goproc_runtime.CallError`."
    ));
    docstring(&docs, b);
    b.lines.push(String::new());
    b.line("__slots__ = ()");
    b.line(format!("CONTRACT = {konst}"));
    for (m, call) in c.methods.iter().zip(calls) {
        b.lines.push(String::new());
        b.line(method_signature(m, true));
        b.indent += 1;
        let mut mdocs = m.docs.clone();
        if let Some((_, err)) = m.domain_result() {
            add_paragraph(&mut mdocs, raise_doc(&error_class(err), false));
        }
        if m.answer_stream().is_some() {
            add_paragraph(&mut mdocs,
                "Returns at once (no `await`) an async iterator: the call goes out when it is first \
                 iterated, and an error ends it as its last item. `aclose()` it to stop early (the \
                 host is told with CANCEL)."
                    .into(),
            );
        }
        if let Some((pos, _)) = m.stream_arg() {
            add_paragraph(
                &mut mdocs,
                format!(
                "`{}` is any iterable or async iterable; its items go as the host's credit allows, \
                 and an exception it raises reaches the host as the stream's error.",
                ident(&syn::ext::IdentExt::unraw(&m.args[pos].name).to_string())
            ),
            );
        }
        docstring(&mdocs, b);
        b.line(format!("return {call}"));
        b.indent -= 1;
    }
    b.indent -= 1;
    b.lines.push(String::new());
    b.lines.push(String::new());
}

/// The class of an event contract (`TelemetryEvents`): for each kind of
/// event, `publish_<kind>(topic, payload)` and `subscribe_<kind>(pattern)`,
/// with the payload's codecs; and the contract's table.
fn emit_events(sc: &SourceContract, types: &BTreeMap<String, TypeDef>, b: &mut Block) {
    let c = &sc.contract;
    let cname = c.name.to_string();
    let snake = snake_case(&cname);
    let class = events_class(&cname);
    let konst = events_const(&cname);
    let ctx = Ctx {
        types,
        generics: &[],
    };
    b.line(format!("{konst} = _rt.EventContract("));
    b.line(format!("    name={},", string_literal(&cname)));
    b.line(format!(
        "    fingerprint={},",
        string_literal(&c.fingerprint)
    ));
    let kinds: Vec<String> = c
        .methods
        .iter()
        .map(|m| string_literal(&py_method(m)))
        .collect();
    b.line(format!(
        "    kinds=({}{}),",
        kinds.join(", "),
        if kinds.len() == 1 { "," } else { "" }
    ));
    b.line(")");
    b.line(format!(
        "\"\"\"{cname}'s name, fingerprint and kinds of events (index = wire event number).\"\"\""
    ));
    b.lines.push(String::new());
    b.lines.push(String::new());
    // Each kind's payload codecs, and the methods that use them.
    let mut methods = Vec::new();
    for (index, m) in c.methods.iter().enumerate() {
        let name = py_method(m);
        let Some(arg) = m.args.first() else { continue };
        let enc = encoder_def(&format!("_{snake}_publish_{name}"), &arg.shape, &ctx, b);
        let dec = decoder_def(&format!("_{snake}_event_{name}"), &arg.shape, &ctx, b);
        let mut param = ident(&syn::ext::IdentExt::unraw(&arg.name).to_string());
        if matches!(param.as_str(), "topic" | "pattern" | "capacity" | "self") {
            param = "payload".into();
        }
        methods.push((index, name, m, param, annotation(&arg.shape), enc, dec));
    }
    b.line(format!("class {class}(_rt.Events):"));
    b.indent += 1;
    let mut docs = c.docs.clone();
    add_paragraph(
        &mut docs,
        format!(
            "Publishes and subscribes to the events of {cname} through the host that started this \
         plugin: `{class}.from_host()`. The host routes each event to every other subscriber whose \
         pattern matches its topic (`+` one level, `#` the rest); a plugin never receives its own."
        ),
    );
    docstring(&docs, b);
    b.lines.push(String::new());
    b.line("__slots__ = ()");
    b.line(format!("EVENTS = {konst}"));
    b.line(format!("CHANNEL = 0x{:016x}", c.channel()));
    for (index, name, m, param, ty, enc, dec) in methods {
        b.lines.push(String::new());
        b.line(format!(
            "def publish_{name}(self, topic: str, {param}: {ty}) -> None:"
        ));
        b.indent += 1;
        let mut mdocs = m.docs.clone();
        add_paragraph(
            &mut mdocs,
            format!(
            "Publishes `{param}` on `topic` (no `+`, `#` or NUL: `goproc_runtime.TopicError`). \
             Never waits: an event nobody subscribed to is dropped."
        ),
        );
        docstring(&mdocs, b);
        b.line(format!("self._publish({index}, topic, {param}, {enc})"));
        b.indent -= 1;
        b.lines.push(String::new());
        b.line(format!(
            "def subscribe_{name}(self, pattern: str, capacity: int = _rt.DEFAULT_EVENT_QUEUE) -> _rt.Subscription[{ty}]:"
        ));
        b.indent += 1;
        docstring(
            &[format!(
                "The `{name}` events on topics matching `pattern`, as `async for event in ...` \
                 (`event.topic`, `event.payload`, `event.lagged`); at most `capacity` wait, then the \
                 oldest is dropped. `close()` ends the subscription."
            )],
            b,
        );
        b.line(format!(
            "return self._subscribe({index}, pattern, {dec}, capacity)"
        ));
        b.indent -= 1;
    }
    b.indent -= 1;
    b.lines.push(String::new());
    b.lines.push(String::new());
}

/// Prints the module.
pub fn module(plan: &ModulePlan, schema: &Schema) -> String {
    let mut b = Block::new(0);
    b.line(format!(
        "# Generated by goproc-codegen from {}. Do not edit: regenerate it.",
        plan.source
    ));
    for sc in &plan.contracts {
        b.line(format!(
            "# Contract {} fingerprint {}",
            sc.contract.name, sc.contract.fingerprint
        ));
    }
    let names: Vec<String> = plan
        .contracts
        .iter()
        .map(|c| c.contract.name.to_string())
        .collect();
    b.line(format!(
        "\"\"\"Python plugin stubs for the goproc contract(s) {}.\"\"\"",
        names.join(", ")
    ));
    b.lines.push(String::new());
    b.line("from __future__ import annotations");
    b.lines.push(String::new());
    b.line("import abc as _abc");
    b.line("import dataclasses as _dc");
    b.line("import typing as _t");
    b.lines.push(String::new());
    b.line("from . import goproc_runtime as _rt");
    let params: BTreeSet<&String> = plan.types.values().flat_map(|d| &d.generics).collect();
    if !params.is_empty() {
        b.lines.push(String::new());
    }
    for p in &params {
        b.line(format!("{} = _t.TypeVar({})", ident(p), string_literal(p)));
    }
    b.lines.push(String::new());
    b.lines.push(String::new());
    for (name, def) in &plan.types {
        let error = plan.error_types.contains(name);
        emit_type(name, def, &schema.types, error, &mut b);
    }
    for sc in &plan.contracts {
        if sc.contract.events {
            emit_events(sc, &schema.types, &mut b);
        } else {
            emit_contract(sc, plan, &schema.types, &mut b);
        }
    }
    // One newline at the end of the file.
    while b.lines.last().is_some_and(|l| l.is_empty()) {
        b.lines.pop();
    }
    let mut text = b.lines.join("\n");
    text.push('\n');
    // The width aliases the module annotates with (`a: i64`), imported
    // after the runtime: each name that appears as a whole word.
    let used: Vec<&str> = WIDTHS
        .iter()
        .copied()
        .filter(|w| uses_word(&text, w))
        .collect();
    if !used.is_empty() {
        let runtime = "from . import goproc_runtime as _rt\n";
        text = text.replacen(
            runtime,
            &format!("{runtime}from .goproc_runtime import {}\n", used.join(", ")),
            1,
        );
    }
    text
}

/// Whether `word` appears in `text` other than inside a longer name.
fn uses_word(text: &str, word: &str) -> bool {
    let is_name = |c: char| c.is_ascii_alphanumeric() || c == '_';
    text.match_indices(word).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + word.len()..].chars().next();
        !before.is_some_and(is_name) && !after.is_some_and(is_name) && before != Some('.')
    })
}

/// `async def name(self, arg: T, ...) -> R:`, the line that opens a method
/// of a contract's abstract class or of its client: the same arguments, and
/// for `-> Result<T, E>` the `Ok` type (the `Err` is raised).
///
/// A method answering with a stream is a plain `def` returning an async
/// iterator: an async generator implements it, and a client's call returns
/// one without `await`. A client's stream argument takes any iterable or
/// async iterable.
fn method_signature(m: &Method, client: bool) -> String {
    let mut params = vec!["self".to_string()];
    for a in &m.args {
        let ty = match a.shape.stream_item() {
            Some(item) if client => {
                let item = annotation(item);
                format!("_t.AsyncIterable[{item}] | _t.Iterable[{item}]")
            }
            _ => annotation(&a.shape),
        };
        params.push(format!(
            "{}: {ty}",
            ident(&syn::ext::IdentExt::unraw(&a.name).to_string())
        ));
    }
    match (m.answer_stream(), m.domain_result()) {
        (Some(item), _) => {
            let ret = if client {
                format!("_t.AsyncGenerator[{}, None]", annotation(item))
            } else {
                format!("_t.AsyncIterator[{}]", annotation(item))
            };
            format!("def {}({}) -> {ret}:", py_method(m), params.join(", "))
        }
        (None, result) => {
            let ret = match result {
                Some((ok, _)) => annotation(ok),
                None => annotation(&m.ret),
            };
            format!(
                "async def {}({}) -> {ret}:",
                py_method(m),
                params.join(", ")
            )
        }
    }
}

/// How a handler answers with a domain error (`handler`), or what a
/// client's call raises for one.
fn raise_doc(class: &str, handler: bool) -> String {
    match (class == "_rt.ErrorValue", handler) {
        (false, true) => format!(
            "Raise a `{class}` (it is an exception) to answer with the domain error `Err(error)`."
        ),
        (false, false) => {
            format!("Raises the `{class}` the host answers with as the domain error `Err(error)`.")
        }
        (true, true) => "Raise `goproc_runtime.ErrorValue(error)` to answer with the domain \
                         error `Err(error)`."
            .into(),
        (true, false) => "Raises `goproc_runtime.ErrorValue(error)` when the host answers with \
                          the domain error `Err(error)`; `.value` is `error`."
            .into(),
    }
}

/// Appends a paragraph to docstring lines, after a blank line when there
/// is text before it.
fn add_paragraph(docs: &mut Vec<String>, text: String) {
    if !docs.is_empty() {
        docs.push(String::new());
    }
    docs.push(text);
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use crate::model::schema::from_sources;

    /// The module generated for one source file (`logs.py`, or
    /// `contract.py` for several contracts).
    fn generate(source: &str) -> String {
        let schema = from_sources(&[(PathBuf::from("contract.rs"), source.to_string())])
            .unwrap_or_else(|d| panic!("the contract does not parse: {d:?}"));
        let files = super::super::generate(&schema, "contract.rs").expect("generating Python");
        files
            .into_iter()
            .find(|f| {
                !["__init__.py", "goproc_runtime.py"].contains(&f.path.to_str().unwrap_or(""))
            })
            .map(|f| f.contents)
            .expect("the contracts' module")
    }

    const LOGS: &str = r#"
        #[goproc::plugin_interface]
        pub trait Logs {
            async fn tail(&self, path: String) -> goproc::Stream<String>;
            async fn upload(&self, name: String, data: goproc::Stream<Vec<u8>>) -> u64;
            async fn transform(&self, lines: goproc::Stream<String>, upper: bool) -> goproc::Stream<String>;
        }
    "#;

    #[test]
    fn stream_handlers_are_async_generators_and_stream_arguments_async_iterators() {
        let py = generate(LOGS);
        for line in [
            "    def tail(self, path: str) -> _t.AsyncIterator[str]:",
            "    async def upload(self, name: str, data: _t.AsyncIterator[bytes]) -> u64:",
            "    def transform(self, lines: _t.AsyncIterator[str], upper: bool) -> _t.AsyncIterator[str]:",
            // The REQUEST carries only the other arguments.
            "def _logs_args_transform(r: _rt.Reader) -> tuple[bool]:",
            "        _rt.MethodSpec(\"tail\", _logs_args_tail, _rt.w_str, stream=True),",
            "        _rt.MethodSpec(\"upload\", _logs_args_upload, _rt.w_u64, arg_at=1, decode_item=_rt.Reader.bytes_),",
            "        _rt.MethodSpec(\"transform\", _logs_args_transform, _rt.w_str, stream=True, arg_at=0, decode_item=_rt.Reader.str_),",
        ] {
            assert!(py.contains(line), "missing {line:?} in:\n{py}");
        }
    }

    #[test]
    fn methods_of_scalar_and_string_arguments_get_a_fast_decoder() {
        let py = generate(
            r#"
            #[goproc::plugin_interface]
            pub trait Mixed {
                async fn put(&self, key: String, value: Vec<u8>, ttl: u32, sticky: bool) -> i8;
                async fn ping(&self);
                async fn rank(&self, score: f32, who: char) -> u8;
                async fn many(&self, ids: Vec<u64>) -> u8;
            }
        "#,
        );
        let put = [
            "def _mixed_fast_put(b: bytearray, p: int, e: int) -> tuple[str, bytes, u32, bool] | None:",
            "    n = b[p]",
            "    if n < 251:",
            "        p += 1",
            "    else:",
            "        n, p = _rt.varint_at(b, p, e, 0xFD)",
            "    v0 = b[p:p + n].decode()",
            "    v1 = bytes(b[p:p + n])",
            "        v2, p = _rt.varint_at(b, p, e, 0xFC)",
            "    v3 = b[p]",
            "    if v3 > 1:",
            "    return (v0, v1, v2, v3 == 1) if p == e else None",
            "def _mixed_fast_ping(b: bytearray, p: int, e: int) -> tuple[()] | None:",
            "    return () if p == e else None",
            "        _rt.MethodSpec(\"put\", _mixed_args_put, _rt.w_i8, decode_fast=_mixed_fast_put),",
            "        _rt.MethodSpec(\"ping\", _mixed_args_ping, _mixed_ok_ping, decode_fast=_mixed_fast_ping),",
            // A char, a list: only the Reader decodes them.
            "        _rt.MethodSpec(\"rank\", _mixed_args_rank, _rt.w_u8),",
            "        _rt.MethodSpec(\"many\", _mixed_args_many, _rt.w_u8),",
        ];
        for line in put {
            assert!(py.contains(line), "missing {line:?} in:\n{py}");
        }
        assert!(!py.contains("_mixed_fast_rank") && !py.contains("_mixed_fast_many"));
    }

    #[test]
    fn stream_clients_return_async_iterators_and_take_any_iterable() {
        let py = generate(LOGS);
        for line in [
            "    def tail(self, path: str) -> _t.AsyncGenerator[str, None]:",
            "        return self._stream(0, _logs_request_tail(path), _rt.Reader.str_)",
            "    async def upload(self, name: str, data: _t.AsyncIterable[bytes] | _t.Iterable[bytes]) -> u64:",
            "        return await self._call(1, _logs_request_upload(name), _rt.Reader.u64, data, _rt.w_bytes)",
            "    def transform(self, lines: _t.AsyncIterable[str] | _t.Iterable[str], upper: bool) -> _t.AsyncGenerator[str, None]:",
            "        return self._stream(2, _logs_request_transform(upper), _rt.Reader.str_, lines, _rt.w_str)",
        ] {
            assert!(py.contains(line), "missing {line:?} in:\n{py}");
        }
    }

    #[test]
    fn event_contracts_get_a_class_that_publishes_and_subscribes() {
        let py = generate(
            r#"
            #[derive(Serialize, Deserialize)]
            pub struct Reading { pub celsius: f32 }
            #[goproc::plugin_interface(events)]
            pub trait Telemetry {
                fn temperature(&self, reading: Reading);
                fn topic(&self, topic: String);
            }
            #[goproc::plugin_interface]
            pub trait Logs {
                async fn tail(&self, path: String) -> goproc::Stream<String>;
            }
            "#,
        );
        for line in [
            "TELEMETRY_EVENTS = _rt.EventContract(",
            "    kinds=(\"temperature\", \"topic\"),",
            "class TelemetryEvents(_rt.Events):",
            "    EVENTS = TELEMETRY_EVENTS",
            "    def publish_temperature(self, topic: str, reading: Reading) -> None:",
            "        self._publish(0, topic, reading, _enc_Reading)",
            "    def subscribe_temperature(self, pattern: str, capacity: int = _rt.DEFAULT_EVENT_QUEUE) -> _rt.Subscription[Reading]:",
            "        return self._subscribe(0, pattern, _dec_Reading, capacity)",
            // A payload named like the topic is renamed.
            "    def publish_topic(self, topic: str, payload: str) -> None:",
            // One contract to serve besides the event contract: plain names.
            "def serve(impl: Logs, requires: _t.Sequence[type[_rt.Client]] = ()) -> _t.NoReturn:",
        ] {
            assert!(py.contains(line), "missing {line:?} in:\n{py}");
        }
        let channel = py
            .lines()
            .find_map(|l| l.trim().strip_prefix("CHANNEL = 0x"))
            .expect("a CHANNEL constant");
        let fingerprint = py
            .lines()
            .find_map(|l| l.strip_prefix("# Contract Telemetry fingerprint "))
            .expect("Telemetry's fingerprint");
        assert_eq!(channel, &fingerprint[..16]);
    }

    #[test]
    fn the_module_carries_the_canonical_and_the_documented_schema() {
        let py = generate(
            r#"
            /// Keeps logs.
            #[goproc::plugin_interface]
            pub trait Logs {
                /// Follows a file.
                async fn tail(&self, path: String) -> goproc::Stream<Line>;
            }
            /// One line.
            pub struct Line { pub text: String, pub at: usize }
            "#,
        );
        for line in [
            "LOGS_SCHEMA = (",
            "    \"contract Logs {\\n\"",
            "    \"    fn tail(path: String) -> Stream<Line>;\\n\"",
            "    \"    at: u64,\\n\"",
            "LOGS_DOCUMENTED_SCHEMA = (",
            "    \"/// Keeps logs.\\n\"",
            "    \"/// One line.\\n\"",
            "    schema=LOGS_SCHEMA,",
            "    documented=LOGS_DOCUMENTED_SCHEMA,",
        ] {
            assert!(py.contains(line), "missing {line:?} in:\n{py}");
        }
        let canonical = py
            .split("LOGS_SCHEMA = (\n")
            .nth(1)
            .and_then(|rest| rest.split("\n)").next())
            .expect("the schema constant");
        assert!(!canonical.contains("///"), "{canonical}");
    }

    /// `Result` used two ways inside one argument: serde names both
    /// `Result`, so the canonical form cannot state the contract.
    const UNSTATABLE: &str = r#"
        #[goproc::plugin_interface]
        pub trait Results { async fn mixed(&self, w: Option<Result<Chain, ()>>) -> u8; }
        pub enum Chain { End, Next(Box<Result<Chain, u8>>) }
    "#;

    #[test]
    fn a_contract_the_schema_cannot_state_gets_stubs_with_an_empty_schema_saying_why() {
        let py = generate(UNSTATABLE);
        for line in [
            "# Contract Results has no schema (`Result` is used with two different type arguments",
            "the host checks it by its fingerprint alone.",
            "RESULTS_SCHEMA = \"\"\n",
            "RESULTS_DOCUMENTED_SCHEMA = \"\"\n",
            "    schema=RESULTS_SCHEMA,",
        ] {
            assert!(py.contains(line), "missing {line:?} in:\n{py}");
        }
    }

    const NATIVE: &str = r#"
        #[goproc::plugin_interface]
        pub trait Shapes {
            async fn area(&self, s: Shape, scale: u16) -> Result<f64, ShapeError>;
            async fn name(&self, p: Pair) -> Result<String, String>;
        }
        pub enum Shape { None, Circle(f32), Rect { w: u32, h: u32, label: Option<String> } }
        pub struct Pair(pub i8, pub Meters);
        pub struct Meters(pub f64);
        pub enum ShapeError { Negative { by: i64 } }
    "#;

    #[test]
    fn enums_are_a_base_class_with_a_subclass_per_variant() {
        let py = generate(NATIVE);
        for line in [
            "class Shape:",
            "    \"\"\"One subclass per variant: `Shape.None_`, `Shape.Circle`, `Shape.Rect`.\"\"\"",
            "    if _t.TYPE_CHECKING:",
            "        None_: _t.TypeAlias = \"ShapeNone\"",
            "        Circle: _t.TypeAlias = \"ShapeCircle\"",
            "class ShapeNone(Shape):",
            "class ShapeCircle(Shape):",
            "    value: f32",
            "@_dc.dataclass(slots=True, kw_only=True)\nclass ShapeRect(Shape):",
            "    label: str | None = None",
            "_rt.nest(Shape, None_=ShapeNone, Circle=ShapeCircle, Rect=ShapeRect)",
            "        v = ShapeRect(w=r.u32(), h=r.u32(), label=(r.str_() if r.option() else None))",
        ] {
            assert!(py.contains(line), "missing {line:?} in:\n{py}");
        }
    }

    #[test]
    fn tuple_fields_are_value_or_items_and_widths_are_imported() {
        let py = generate(NATIVE);
        for line in [
            "from .goproc_runtime import u16, u32, i8, i64, f32, f64\n",
            "@_dc.dataclass(slots=True)\nclass Pair:",
            "    item0: i8\n    item1: Meters\n",
            "class Meters:",
            "    value: f64\n",
            "    async def area(self, s: Shape, scale: u16) -> f64:",
        ] {
            assert!(py.contains(line), "missing {line:?} in:\n{py}");
        }
        assert!(!py.contains("_0"), "a tuple field named _0 in:\n{py}");
    }

    #[test]
    fn error_classes_are_exceptions_and_other_errors_use_the_wrapper() {
        let py = generate(NATIVE);
        for line in [
            "class ShapeError(_rt.DomainError):",
            "class ShapeErrorNegative(ShapeError):",
            "_rt.MethodSpec(\"area\", _shapes_args_area, _rt.w_f64, ShapeError, _enc_ShapeError)",
            "_rt.MethodSpec(\"name\", _shapes_args_name, _rt.w_str, _rt.ErrorValue, _rt.w_str)",
            "Raise a `ShapeError` (it is an exception) to answer with the domain error `Err(error)`.",
            "Raise `goproc_runtime.ErrorValue(error)` to answer with the domain error `Err(error)`.",
            "def test_client(impl: Shapes, host: _t.Sequence[_rt.Service] = (), requires: _t.Sequence[type[_rt.Client]] = ()) -> _t.AsyncContextManager[ShapesClient]:",
            "    return _rt.testing(ShapesClient, service(impl), host=host, requires=requires)",
        ] {
            assert!(py.contains(line), "missing {line:?} in:\n{py}");
        }
        // A type used only as a value is no exception.
        assert!(py.contains("class Shape:\n"), "{py}");
        assert!(!py.contains("Raised"), "{py}");
    }

    #[test]
    fn an_events_name_is_not_doubled() {
        assert_eq!(super::events_class("SensorEvents"), "SensorEvents");
        assert_eq!(super::events_class("Telemetry"), "TelemetryEvents");
    }
}

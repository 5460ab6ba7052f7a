//! Wire shapes ([`Ty`]) as TypeScript types, and the codec calls that
//! write and read them with the runtime's `Writer` and `Reader`.
//!
//! | Rust | TypeScript |
//! | --- | --- |
//! | `bool` | `boolean` |
//! | `u8` `u16` `u32` `i8` `i16` `i32` `f32` `f64` | `number` |
//! | `u64` `i64` `u128` `i128` `usize` `isize` | `bigint` |
//! | `char`, `String` | `string` |
//! | `Vec<u8>`, `ByteBuf` | `Uint8Array` |
//! | `Vec<T>`, `[T; N]`, sets | `T[]` |
//! | `Option<T>` | `T \| null`, or `{ some: T } \| null` when `T` may be null |
//! | maps | `Map<K, V>` |
//! | tuples | `[A, B]` |
//! | `()` | `null` |
//! | `Result<T, E>` | `{ ok: T } \| { err: E }` |

use std::collections::{BTreeMap, BTreeSet};

use super::names;
use crate::model::typedefs::{Fields, TypeDef, TypeDefKind};
use crate::model::Ty;

/// What the printers need to know about the types in scope.
pub struct Scope<'a> {
    /// Every user type of the schema.
    pub types: &'a BTreeMap<String, TypeDef>,
    /// Type parameters of the definition being printed (`T` in `Page<T>`).
    pub params: &'a [String],
}

impl Scope<'_> {
    fn param(&self, ty: &Ty) -> Option<&str> {
        match ty {
            Ty::Named { name, args } if args.is_empty() => {
                self.params.iter().find(|p| *p == name).map(|p| p.as_str())
            }
            _ => None,
        }
    }

    /// Whether `null` is a value of this type, so that `Option` of it needs
    /// a box to tell `None` from `Some(null)`. A type parameter might be.
    pub fn nullable(&self, ty: &Ty) -> bool {
        matches!(ty, Ty::Option(_) | Ty::Unit) || self.param(ty).is_some()
    }

    /// The TypeScript type of a value of `ty`.
    pub fn ts_type(&self, ty: &Ty) -> String {
        match ty {
            Ty::Stream(item) => format!("AsyncIterable<{}>", self.ts_type(item)),
            Ty::Bool => "boolean".into(),
            Ty::U8 | Ty::U16 | Ty::U32 | Ty::I8 | Ty::I16 | Ty::I32 | Ty::F32 | Ty::F64 => {
                "number".into()
            }
            Ty::U64 | Ty::U128 | Ty::Usize | Ty::I64 | Ty::I128 | Ty::Isize => "bigint".into(),
            Ty::Char | Ty::String => "string".into(),
            Ty::Bytes => "Uint8Array".into(),
            Ty::Unit => "null".into(),
            Ty::Seq(t) | Ty::Array(t, _) => format!("{}[]", self.ts_type_atom(t)),
            Ty::Option(t) if self.nullable(t) => format!("{{ some: {} }} | null", self.ts_type(t)),
            Ty::Option(t) => format!("{} | null", self.ts_type(t)),
            Ty::Map(k, v) => format!("Map<{}, {}>", self.ts_type(k), self.ts_type(v)),
            Ty::Tuple(ts) => format!(
                "[{}]",
                ts.iter()
                    .map(|t| self.ts_type(t))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Ty::Result(ok, err) => {
                format!("$rt.Result<{}, {}>", self.ts_type(ok), self.ts_type(err))
            }
            Ty::Named { name, args } => {
                if let Some(p) = self.param(ty) {
                    return p.to_string();
                }
                let base = names::type_name(name);
                if args.is_empty() {
                    base
                } else {
                    format!(
                        "{base}<{}>",
                        args.iter()
                            .map(|t| self.ts_type(t))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                }
            }
        }
    }

    /// [`Scope::ts_type`], parenthesised where `[]` would bind to a part of it.
    fn ts_type_atom(&self, ty: &Ty) -> String {
        let t = self.ts_type(ty);
        if matches!(ty, Ty::Option(_)) {
            format!("({t})")
        } else {
            t
        }
    }

    /// An expression that writes `v` (a TypeScript expression of the
    /// value) to the `Writer` called `w`. `depth` keeps lambda parameter
    /// names apart when calls nest.
    pub fn encode(&self, ty: &Ty, v: &str, depth: usize) -> String {
        self.encode_to("w", ty, v, depth)
    }

    /// [`Scope::encode`] to the `Writer` called `w` (the lambdas inside
    /// still call theirs `w`).
    pub fn encode_to(&self, w: &str, ty: &Ty, v: &str, depth: usize) -> String {
        let x = format!("x{depth}");
        let inner = |t: &Ty, name: &str| self.encode(t, name, depth + 1);
        match ty {
            Ty::Stream(_) => unreachable!("a stream's items travel in frames of their own"),
            Ty::Bool => format!("{w}.bool({v})"),
            Ty::U8 => format!("{w}.u8({v})"),
            Ty::U16 => format!("{w}.u16({v})"),
            Ty::U32 => format!("{w}.u32({v})"),
            Ty::U64 => format!("{w}.u64({v})"),
            Ty::U128 => format!("{w}.u128({v})"),
            Ty::Usize => format!("{w}.usize({v})"),
            Ty::I8 => format!("{w}.i8({v})"),
            Ty::I16 => format!("{w}.i16({v})"),
            Ty::I32 => format!("{w}.i32({v})"),
            Ty::I64 => format!("{w}.i64({v})"),
            Ty::I128 => format!("{w}.i128({v})"),
            Ty::Isize => format!("{w}.isize({v})"),
            Ty::F32 => format!("{w}.f32({v})"),
            Ty::F64 => format!("{w}.f64({v})"),
            Ty::Char => format!("{w}.char({v})"),
            Ty::String => format!("{w}.string({v})"),
            Ty::Bytes => format!("{w}.bytesField({v})"),
            Ty::Unit => format!("{w}.unit({v})"),
            Ty::Seq(t) => format!("{w}.seq({v}, (w, {x}) => {})", inner(t, &x)),
            Ty::Array(t, n) => format!("{w}.array({v}, {n}, (w, {x}) => {})", inner(t, &x)),
            Ty::Option(t) if self.nullable(t) => {
                format!("{w}.optionBoxed({v}, (w, {x}) => {})", inner(t, &x))
            }
            Ty::Option(t) => format!("{w}.option({v}, (w, {x}) => {})", inner(t, &x)),
            Ty::Map(k, val) => {
                let key = format!("k{depth}");
                format!(
                    "{w}.map({v}, (w, {key}) => {}, (w, {x}) => {})",
                    inner(k, &key),
                    inner(val, &x)
                )
            }
            Ty::Tuple(ts) => {
                let parts: Vec<String> = ts
                    .iter()
                    .enumerate()
                    .map(|(i, t)| format!("{};", inner(t, &format!("{x}[{i}]"))))
                    .collect();
                format!(
                    "{w}.tuple({v}, {}, (w, {x}) => {{ {} }})",
                    ts.len(),
                    parts.join(" ")
                )
            }
            Ty::Result(ok, err) => {
                let e = format!("e{depth}");
                format!(
                    "{w}.result({v}, (w, {x}) => {}, (w, {e}) => {})",
                    inner(ok, &x),
                    inner(err, &e)
                )
            }
            Ty::Named { name, args } => {
                if let Some(p) = self.param(ty) {
                    return format!("{}({w}, {v})", enc_param(p));
                }
                let mut call = format!("encode{}({w}, {v}", names::type_name(name));
                for a in args {
                    call.push_str(&format!(", (w, {x}) => {}", inner(a, &x)));
                }
                call.push(')');
                call
            }
        }
    }

    /// An expression that reads a value of `ty` from the `Reader` called `r`.
    pub fn decode(&self, ty: &Ty) -> String {
        let lambda = |t: &Ty| format!("(r) => {}", self.decode(t));
        match ty {
            Ty::Stream(_) => unreachable!("a stream's items travel in frames of their own"),
            Ty::Bool => "r.bool()".into(),
            Ty::U8 => "r.u8()".into(),
            Ty::U16 => "r.u16()".into(),
            Ty::U32 => "r.u32()".into(),
            Ty::U64 => "r.u64()".into(),
            Ty::U128 => "r.u128()".into(),
            Ty::Usize => "r.usize()".into(),
            Ty::I8 => "r.i8()".into(),
            Ty::I16 => "r.i16()".into(),
            Ty::I32 => "r.i32()".into(),
            Ty::I64 => "r.i64()".into(),
            Ty::I128 => "r.i128()".into(),
            Ty::Isize => "r.isize()".into(),
            Ty::F32 => "r.f32()".into(),
            Ty::F64 => "r.f64()".into(),
            Ty::Char => "r.char()".into(),
            Ty::String => "r.string()".into(),
            Ty::Bytes => "r.bytesField()".into(),
            Ty::Unit => "r.unit()".into(),
            Ty::Seq(t) => format!("r.seq({}, {})", self.min_size(t), lambda(t)),
            Ty::Array(t, n) => format!("r.array({n}, {})", lambda(t)),
            Ty::Option(t) if self.nullable(t) => format!("r.optionBoxed({})", lambda(t)),
            Ty::Option(t) => format!("r.option({})", lambda(t)),
            Ty::Map(k, v) => format!(
                "r.map({}, {}, {})",
                self.min_size(k) + self.min_size(v),
                lambda(k),
                lambda(v)
            ),
            // Array literal items are evaluated left to right: wire order.
            Ty::Tuple(ts) => format!(
                "[{}] as {}",
                ts.iter()
                    .map(|t| self.decode(t))
                    .collect::<Vec<_>>()
                    .join(", "),
                self.ts_type(ty)
            ),
            Ty::Result(ok, err) => format!("r.result({}, {})", lambda(ok), lambda(err)),
            Ty::Named { name, args } => {
                if let Some(p) = self.param(ty) {
                    return format!("{}(r)", dec_param(p));
                }
                let mut call = format!("decode{}(r", names::type_name(name));
                for a in args {
                    call.push_str(&format!(", {}", lambda(a)));
                }
                call.push(')');
                call
            }
        }
    }

    /// The fewest bytes a value of `ty` takes on the wire (a lower bound),
    /// so a length prefix can be checked against the bytes left.
    pub fn min_size(&self, ty: &Ty) -> usize {
        self.min_size_inner(ty, &mut BTreeSet::new())
    }

    fn min_size_inner(&self, ty: &Ty, visiting: &mut BTreeSet<String>) -> usize {
        match ty {
            Ty::Unit => 0,
            Ty::F32 => 4,
            Ty::F64 => 8,
            Ty::Array(t, n) => self.min_size_inner(t, visiting).saturating_mul(*n),
            Ty::Tuple(ts) => ts
                .iter()
                .map(|t| self.min_size_inner(t, visiting))
                .fold(0, usize::saturating_add),
            Ty::Named { name, .. } => {
                if self.param(ty).is_some() {
                    return 0;
                }
                let Some(def) = self.types.get(name) else {
                    return 0;
                };
                match &def.kind {
                    // The variant index is at least one byte.
                    TypeDefKind::Enum(_) => 1,
                    TypeDefKind::Struct(fields) => {
                        // A cycle (through `Box`) has no finite lower bound to add.
                        if !visiting.insert(name.clone()) {
                            return 0;
                        }
                        // Fields that are type parameters count as zero.
                        let inner = Scope {
                            types: self.types,
                            params: &def.generics,
                        };
                        let size = field_types(fields)
                            .into_iter()
                            .map(|t| inner.min_size_inner(t, visiting))
                            .fold(0, usize::saturating_add);
                        visiting.remove(name);
                        size
                    }
                }
            }
            // Every other shape starts with at least one byte (a value, a
            // varint, a length or a tag).
            _ => 1,
        }
    }
}

/// The types of a field list, in wire order.
pub fn field_types(fields: &Fields) -> Vec<&Ty> {
    match fields {
        Fields::Named(fs) => fs.iter().map(|f| &f.ty).collect(),
        Fields::Tuple(ts) => ts.iter().collect(),
        Fields::Unit => Vec::new(),
    }
}

/// The name of the encoder parameter for type parameter `p`.
pub fn enc_param(p: &str) -> String {
    format!("$enc_{p}")
}

/// The name of the decoder parameter for type parameter `p`.
pub fn dec_param(p: &str) -> String {
    format!("$dec_{p}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope_with(types: &BTreeMap<String, TypeDef>) -> Scope<'_> {
        Scope { types, params: &[] }
    }

    #[test]
    fn wide_integers_are_bigints_and_narrow_ones_numbers() {
        let types = BTreeMap::new();
        let s = scope_with(&types);
        for t in [Ty::U64, Ty::I64, Ty::U128, Ty::I128, Ty::Usize, Ty::Isize] {
            assert!(t.is_wide_integer());
            assert_eq!(s.ts_type(&t), "bigint");
        }
        for t in [Ty::U8, Ty::I8, Ty::U16, Ty::I16, Ty::U32, Ty::I32] {
            assert_eq!(s.ts_type(&t), "number");
        }
    }

    #[test]
    fn nested_options_are_boxed() {
        let types = BTreeMap::new();
        let s = scope_with(&types);
        let t = Ty::Option(Box::new(Ty::Option(Box::new(Ty::U8))));
        assert_eq!(s.ts_type(&t), "{ some: number | null } | null");
        assert_eq!(
            s.decode(&t),
            "r.optionBoxed((r) => r.option((r) => r.u8()))"
        );
        let seq = Ty::Seq(Box::new(Ty::Option(Box::new(Ty::String))));
        assert_eq!(s.ts_type(&seq), "(string | null)[]");
    }

    #[test]
    fn min_sizes_bound_lengths() {
        let types = BTreeMap::new();
        let s = scope_with(&types);
        assert_eq!(s.min_size(&Ty::Unit), 0);
        assert_eq!(s.min_size(&Ty::F64), 8);
        assert_eq!(s.min_size(&Ty::Tuple(vec![Ty::F32, Ty::U8, Ty::Unit])), 5);
        assert_eq!(s.min_size(&Ty::Array(Box::new(Ty::U16), 4)), 4);
    }
}

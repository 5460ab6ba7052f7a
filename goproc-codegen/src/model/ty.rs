//! The shape of a type as the wire sees it.

use std::fmt;

/// The wire shape of a Rust type named in a contract.
///
/// Shapes that encode to the same bytes share a variant (`Box<T>` is `T`,
/// `VecDeque<T>` is a sequence), so generators and the fingerprint see through
/// spelling differences that do not change the wire.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Ty {
    /// `bool`
    Bool,
    /// `u8`
    U8,
    /// `u16`
    U16,
    /// `u32`
    U32,
    /// `u64`
    U64,
    /// `u128`
    U128,
    /// `usize` (64 bits on the wire)
    Usize,
    /// `i8`
    I8,
    /// `i16`
    I16,
    /// `i32`
    I32,
    /// `i64`
    I64,
    /// `i128`
    I128,
    /// `isize` (64 bits on the wire)
    Isize,
    /// `f32`
    F32,
    /// `f64`
    F64,
    /// `char`
    Char,
    /// `String`
    String,
    /// `Vec<u8>`, `serde_bytes::ByteBuf`: a length and raw bytes.
    Bytes,
    /// `()`
    Unit,
    /// `Vec<T>`, `VecDeque<T>`, `HashSet<T>`, `BTreeSet<T>`: a length and the items.
    Seq(Box<Ty>),
    /// `[T; N]`: exactly N items, no length on the wire.
    Array(Box<Ty>, usize),
    /// `Option<T>`
    Option(Box<Ty>),
    /// `HashMap<K, V>`, `BTreeMap<K, V>`
    Map(Box<Ty>, Box<Ty>),
    /// `(A, B, ...)`
    Tuple(Vec<Ty>),
    /// `Result<T, E>`: variant 0 is `Ok`, 1 is `Err`.
    Result(Box<Ty>, Box<Ty>),
    /// `goproc::Stream<T>`: items of `T` in their own frames, one at a time
    /// under credit. Only a method's return type or one of its arguments.
    Stream(Box<Ty>),
    /// A user type (struct or enum) by its name, with its generic arguments.
    Named {
        /// The type's name: the last segment of its path.
        name: String,
        /// Generic arguments, in order.
        args: Vec<Ty>,
    },
}

impl Ty {
    /// Whether values of this type are 64 bits or wider (a `bigint` in TypeScript).
    pub fn is_wide_integer(&self) -> bool {
        matches!(
            self,
            Ty::U64 | Ty::U128 | Ty::Usize | Ty::I64 | Ty::I128 | Ty::Isize
        )
    }

    /// The item type of a stream shape.
    pub fn stream_item(&self) -> Option<&Ty> {
        match self {
            Ty::Stream(item) => Some(item),
            _ => None,
        }
    }

    /// Whether a stream appears inside this shape below its top level
    /// (`Option<Stream<T>>`, `Stream<Stream<T>>`), where none may be.
    pub fn has_inner_stream(&self) -> bool {
        let inner = match self {
            Ty::Stream(item) => item.as_ref(),
            other => other,
        };
        let mut found = false;
        inner.walk(&mut |t| found |= matches!(t, Ty::Stream(_)));
        found
    }

    /// Every user type this shape names, outermost first.
    pub fn named_types(&self) -> Vec<&str> {
        let mut out = Vec::new();
        self.walk(&mut |t| {
            if let Ty::Named { name, .. } = t {
                out.push(name.as_str());
            }
        });
        out
    }

    fn walk<'a>(&'a self, f: &mut impl FnMut(&'a Ty)) {
        f(self);
        match self {
            Ty::Seq(t) | Ty::Array(t, _) | Ty::Option(t) | Ty::Stream(t) => t.walk(f),
            Ty::Map(a, b) | Ty::Result(a, b) => {
                a.walk(f);
                b.walk(f);
            }
            Ty::Tuple(ts) | Ty::Named { args: ts, .. } => ts.iter().for_each(|t| t.walk(f)),
            _ => {}
        }
    }
}

/// The canonical spelling of a shape, used by the fingerprint. It names the
/// wire shape, not the Rust spelling: `Box<Vec<u8>>` prints as `bytes`.
impl fmt::Display for Ty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |f: &mut fmt::Formatter<'_>, ts: &[Ty]| -> fmt::Result {
            for (i, t) in ts.iter().enumerate() {
                if i > 0 {
                    f.write_str(",")?;
                }
                write!(f, "{t}")?;
            }
            Ok(())
        };
        match self {
            Ty::Bool => f.write_str("bool"),
            Ty::U8 => f.write_str("u8"),
            Ty::U16 => f.write_str("u16"),
            Ty::U32 => f.write_str("u32"),
            Ty::U64 => f.write_str("u64"),
            Ty::U128 => f.write_str("u128"),
            Ty::Usize => f.write_str("usize"),
            Ty::I8 => f.write_str("i8"),
            Ty::I16 => f.write_str("i16"),
            Ty::I32 => f.write_str("i32"),
            Ty::I64 => f.write_str("i64"),
            Ty::I128 => f.write_str("i128"),
            Ty::Isize => f.write_str("isize"),
            Ty::F32 => f.write_str("f32"),
            Ty::F64 => f.write_str("f64"),
            Ty::Char => f.write_str("char"),
            Ty::String => f.write_str("string"),
            Ty::Bytes => f.write_str("bytes"),
            Ty::Unit => f.write_str("()"),
            Ty::Seq(t) => write!(f, "seq<{t}>"),
            Ty::Array(t, n) => write!(f, "[{t};{n}]"),
            Ty::Option(t) => write!(f, "option<{t}>"),
            Ty::Map(k, v) => write!(f, "map<{k},{v}>"),
            Ty::Tuple(ts) => {
                f.write_str("(")?;
                list(f, ts)?;
                f.write_str(")")
            }
            Ty::Result(ok, err) => write!(f, "result<{ok},{err}>"),
            Ty::Stream(t) => write!(f, "stream<{t}>"),
            Ty::Named { name, args } => {
                f.write_str(name)?;
                if !args.is_empty() {
                    f.write_str("<")?;
                    list(f, args)?;
                    f.write_str(">")?;
                }
                Ok(())
            }
        }
    }
}

/// Maps a type written in a contract to its wire shape, or explains, on the
/// offending tokens, why it cannot cross a process boundary.
pub fn parse_type(ty: &syn::Type) -> syn::Result<Ty> {
    match ty {
        syn::Type::Paren(p) => parse_type(&p.elem),
        syn::Type::Group(g) => parse_type(&g.elem),
        syn::Type::Tuple(t) if t.elems.is_empty() => Ok(Ty::Unit),
        syn::Type::Tuple(t) => t
            .elems
            .iter()
            .map(parse_type)
            .collect::<syn::Result<_>>()
            .map(Ty::Tuple),
        syn::Type::Array(a) => {
            let len = array_len(&a.len)?;
            Ok(Ty::Array(Box::new(parse_type(&a.elem)?), len))
        }
        syn::Type::Path(p) if p.qself.is_none() => parse_path(&p.path),
        syn::Type::Reference(r) => Err(syn::Error::new_spanned(
            r,
            "a contract cannot take or return a reference: values are copied between processes; \
             use an owned type (`String` for `&str`, `Vec<T>` for `&[T]`, `T` for `&T`)",
        )),
        syn::Type::ImplTrait(t) => Err(syn::Error::new_spanned(
            t,
            "`impl Trait` cannot cross a process boundary; name a concrete serializable type",
        )),
        syn::Type::TraitObject(t) => Err(syn::Error::new_spanned(
            t,
            "a trait object cannot cross a process boundary; name a concrete serializable type",
        )),
        syn::Type::Slice(s) => Err(syn::Error::new_spanned(
            s,
            "an unsized slice cannot be sent; use `Vec<T>`",
        )),
        syn::Type::Ptr(p) => Err(syn::Error::new_spanned(
            p,
            "a raw pointer cannot cross a process boundary; send the value it points to",
        )),
        syn::Type::BareFn(f) => Err(syn::Error::new_spanned(
            f,
            "a function pointer cannot cross a process boundary",
        )),
        syn::Type::Never(n) => Err(syn::Error::new_spanned(
            n,
            "`!` cannot be sent; a method that never returns cannot answer a call",
        )),
        syn::Type::Infer(i) => Err(syn::Error::new_spanned(
            i,
            "`_` is not allowed in a contract; write the type out",
        )),
        syn::Type::Macro(m) => Err(syn::Error::new_spanned(
            m,
            "a type macro cannot be read by the contract model; write the type out",
        )),
        other => Err(syn::Error::new_spanned(
            other,
            "this type cannot be used in a contract; use an owned, serializable type",
        )),
    }
}

fn array_len(expr: &syn::Expr) -> syn::Result<usize> {
    if let syn::Expr::Lit(syn::ExprLit {
        lit: syn::Lit::Int(n),
        ..
    }) = expr
    {
        return n.base10_parse();
    }
    Err(syn::Error::new_spanned(
        expr,
        "the length of an array in a contract must be an integer literal, so that stubs in other \
         languages know it",
    ))
}

fn parse_path(path: &syn::Path) -> syn::Result<Ty> {
    let Some(last) = path.segments.last() else {
        return Err(syn::Error::new_spanned(path, "empty type path"));
    };
    let name = last.ident.to_string();
    let args = generic_args(last)?;
    let arity = |n: usize| -> syn::Result<()> {
        if args.len() == n {
            Ok(())
        } else {
            Err(syn::Error::new_spanned(
                last,
                format!(
                    "`{name}` takes {n} type argument(s) here, found {}",
                    args.len()
                ),
            ))
        }
    };
    let scalar = match name.as_str() {
        "bool" => Some(Ty::Bool),
        "u8" => Some(Ty::U8),
        "u16" => Some(Ty::U16),
        "u32" => Some(Ty::U32),
        "u64" => Some(Ty::U64),
        "u128" => Some(Ty::U128),
        "usize" => Some(Ty::Usize),
        "i8" => Some(Ty::I8),
        "i16" => Some(Ty::I16),
        "i32" => Some(Ty::I32),
        "i64" => Some(Ty::I64),
        "i128" => Some(Ty::I128),
        "isize" => Some(Ty::Isize),
        "f32" => Some(Ty::F32),
        "f64" => Some(Ty::F64),
        "char" => Some(Ty::Char),
        "String" => Some(Ty::String),
        "ByteBuf" => Some(Ty::Bytes),
        _ => None,
    };
    if let Some(t) = scalar {
        arity(0)?;
        return Ok(t);
    }
    match name.as_str() {
        "Vec" | "VecDeque" | "HashSet" | "BTreeSet" => {
            arity(1)?;
            let item = parse_type(&args[0])?;
            Ok(if item == Ty::U8 && name == "Vec" {
                Ty::Bytes
            } else {
                Ty::Seq(Box::new(item))
            })
        }
        "Option" => {
            arity(1)?;
            Ok(Ty::Option(Box::new(parse_type(&args[0])?)))
        }
        "Box" | "Arc" | "Rc" => {
            arity(1)?;
            parse_type(&args[0])
        }
        "HashMap" | "BTreeMap" => {
            arity(2)?;
            Ok(Ty::Map(
                Box::new(parse_type(&args[0])?),
                Box::new(parse_type(&args[1])?),
            ))
        }
        "Stream" => {
            arity(1)?;
            Ok(Ty::Stream(Box::new(parse_type(&args[0])?)))
        }
        "Result" => {
            arity(2)?;
            Ok(Ty::Result(
                Box::new(parse_type(&args[0])?),
                Box::new(parse_type(&args[1])?),
            ))
        }
        _ => Ok(Ty::Named {
            name,
            args: args.iter().map(parse_type).collect::<syn::Result<_>>()?,
        }),
    }
}

/// The type arguments of a path segment; lifetimes and const arguments are refused.
fn generic_args(seg: &syn::PathSegment) -> syn::Result<Vec<syn::Type>> {
    match &seg.arguments {
        syn::PathArguments::None => Ok(Vec::new()),
        syn::PathArguments::Parenthesized(p) => Err(syn::Error::new_spanned(
            p,
            "function traits cannot cross a process boundary",
        )),
        syn::PathArguments::AngleBracketed(a) => a
            .args
            .iter()
            .map(|arg| match arg {
                syn::GenericArgument::Type(t) => Ok(t.clone()),
                syn::GenericArgument::Lifetime(l) => Err(syn::Error::new_spanned(
                    l,
                    "a contract cannot use lifetimes: values are copied between processes; use \
                     an owned type",
                )),
                other => Err(syn::Error::new_spanned(
                    other,
                    "only type arguments are supported in a contract type",
                )),
            })
            .collect(),
    }
}

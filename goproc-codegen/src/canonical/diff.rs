//! The first place two schemas of one contract disagree, for messages such as
//! `plugin stats-rs disagrees on Stats: the host has field 2 bytes_in: u64,
//! the plugin has field 2 bytes_out: u64`.

use std::collections::BTreeSet;

use super::render::method_signature;
use super::{Body, ContractSchema, Fields, MethodSchema, Type, TypeSchema};

/// Where two schemas first disagree. Docs are never compared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// What they disagree on: a type (`Stats`), a method (`Calculator.add`).
    pub item: String,
    /// What the first schema has there: `field 2 bytes_in: u64`.
    pub ours: String,
    /// What the second has there: `field 2 bytes_out: u64`, `no field 4`.
    pub theirs: String,
}

impl Difference {
    /// `Stats: the host has field 2 bytes_in: u64, the plugin has ...`,
    /// with the two sides named by the caller.
    pub fn describe(&self, ours: &str, theirs: &str) -> String {
        format!(
            "{}: {ours} has {}, {theirs} has {}",
            self.item, self.ours, self.theirs
        )
    }
}

/// The first difference between `ours` and `theirs`, or `None` when their
/// canonical texts are equal.
pub fn first_difference(ours: &ContractSchema, theirs: &ContractSchema) -> Option<Difference> {
    let diff = |item: String, a: String, b: String| {
        Some(Difference {
            item,
            ours: a,
            theirs: b,
        })
    };
    if ours.name != theirs.name || ours.events != theirs.events {
        return diff(
            "the contract".into(),
            contract_kind(ours),
            contract_kind(theirs),
        );
    }
    for i in 0..ours.methods.len().max(theirs.methods.len()) {
        let n = i + 1;
        match (ours.methods.get(i), theirs.methods.get(i)) {
            (Some(a), None) => {
                return diff(
                    format!("{}.{}", ours.name, a.name),
                    format!("method {n} `{}`", method_signature(a)),
                    format!("only {} methods", theirs.methods.len()),
                )
            }
            (None, Some(b)) => {
                return diff(
                    format!("{}.{}", ours.name, b.name),
                    format!("only {} methods", ours.methods.len()),
                    format!("method {n} `{}`", method_signature(b)),
                )
            }
            (Some(a), Some(b)) => {
                if let Some(d) = method_difference(&ours.name, n, a, b) {
                    return Some(d);
                }
            }
            (None, None) => unreachable!("i is below one of the lengths"),
        }
    }
    let names: BTreeSet<&str> = ours
        .types
        .iter()
        .chain(&theirs.types)
        .map(|t| t.name.as_str())
        .collect();
    for name in names {
        match (ours.type_named(name), theirs.type_named(name)) {
            (Some(a), None) => return diff(name.into(), type_kind(a), format!("no type {name}")),
            (None, Some(b)) => return diff(name.into(), format!("no type {name}"), type_kind(b)),
            (Some(a), Some(b)) => {
                if let Some(d) = type_difference(a, b) {
                    return Some(d);
                }
            }
            (None, None) => unreachable!("the name came from one of them"),
        }
    }
    None
}

fn contract_kind(c: &ContractSchema) -> String {
    let kind = if c.events {
        "event contract"
    } else {
        "contract"
    };
    format!("{kind} {}", c.name)
}

fn type_kind(t: &TypeSchema) -> String {
    match &t.body {
        Body::Struct(_) => format!("struct {}", t.name),
        Body::Enum(_) => format!("enum {}", t.name),
    }
}

fn method_difference(
    contract: &str,
    n: usize,
    a: &MethodSchema,
    b: &MethodSchema,
) -> Option<Difference> {
    if a.name != b.name {
        return Some(Difference {
            item: format!("method {n} of {contract}"),
            ours: format!("`{}`", method_signature(a)),
            theirs: format!("`{}`", method_signature(b)),
        });
    }
    let item = format!("{contract}.{}", a.name);
    for j in 0..a.args.len().max(b.args.len()) {
        let arg = |m: &MethodSchema| match m.args.get(j) {
            Some(x) => format!("argument {} {}: {}", j + 1, x.name, x.ty),
            None => format!("no argument {}", j + 1),
        };
        let same = match (a.args.get(j), b.args.get(j)) {
            (Some(x), Some(y)) => x == y,
            _ => false,
        };
        if !same {
            return Some(Difference {
                item,
                ours: arg(a),
                theirs: arg(b),
            });
        }
    }
    if a.ret != b.ret {
        let ret = |t: &Type| match t {
            Type::Unit => "no return value".to_string(),
            t => format!("return type {t}"),
        };
        return Some(Difference {
            item,
            ours: ret(&a.ret),
            theirs: ret(&b.ret),
        });
    }
    None
}

fn type_difference(a: &TypeSchema, b: &TypeSchema) -> Option<Difference> {
    let item = a.name.clone();
    match (&a.body, &b.body) {
        (Body::Struct(fa), Body::Struct(fb)) => fields_difference(&item, fa, fb),
        (Body::Enum(va), Body::Enum(vb)) => {
            for i in 0..va.len().max(vb.len()) {
                let variant = |v: Option<&super::VariantSchema>| match v {
                    Some(v) => format!("variant {} {}{}", i + 1, v.name, fields_summary(&v.fields)),
                    None => format!("no variant {}", i + 1),
                };
                match (va.get(i), vb.get(i)) {
                    (Some(x), Some(y)) if x.name == y.name => {
                        let inner = format!("{}::{}", a.name, x.name);
                        if let Some(d) = fields_difference(&inner, &x.fields, &y.fields) {
                            return Some(d);
                        }
                    }
                    (x, y) => {
                        return Some(Difference {
                            item,
                            ours: variant(x),
                            theirs: variant(y),
                        })
                    }
                }
            }
            None
        }
        _ => Some(Difference {
            item,
            ours: type_kind(a),
            theirs: type_kind(b),
        }),
    }
}

fn fields_summary(f: &Fields) -> String {
    match f {
        Fields::Unit => String::new(),
        Fields::Tuple(ts) => format!(
            "({})",
            ts.iter()
                .map(Type::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Fields::Named(fs) => format!(
            " {{ {} }}",
            fs.iter()
                .map(|f| format!("{}: {}", f.name, f.ty))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn fields_difference(item: &str, a: &Fields, b: &Fields) -> Option<Difference> {
    let kind = |f: &Fields| match f {
        Fields::Unit => "no fields".to_string(),
        Fields::Tuple(ts) => format!(
            "positional fields{}",
            fields_summary(&Fields::Tuple(ts.clone()))
        ),
        Fields::Named(_) => format!("named fields{}", fields_summary(f)),
    };
    let make = |ours: String, theirs: String| {
        Some(Difference {
            item: item.to_string(),
            ours,
            theirs,
        })
    };
    match (a, b) {
        (Fields::Unit, Fields::Unit) => None,
        (Fields::Tuple(x), Fields::Tuple(y)) => {
            for i in 0..x.len().max(y.len()) {
                if x.get(i) != y.get(i) {
                    let field = |t: Option<&Type>| match t {
                        Some(t) => format!("field {} of type {t}", i + 1),
                        None => format!("no field {}", i + 1),
                    };
                    return make(field(x.get(i)), field(y.get(i)));
                }
            }
            None
        }
        (Fields::Named(x), Fields::Named(y)) => {
            for i in 0..x.len().max(y.len()) {
                let (fa, fb) = (x.get(i), y.get(i));
                let same = match (fa, fb) {
                    (Some(p), Some(q)) => p.name == q.name && p.ty == q.ty,
                    _ => false,
                };
                if !same {
                    let field = |f: Option<&super::FieldSchema>| match f {
                        Some(f) => format!("field {} {}: {}", i + 1, f.name, f.ty),
                        None => format!("no field {}", i + 1),
                    };
                    return make(field(fa), field(fb));
                }
            }
            None
        }
        _ => make(kind(a), kind(b)),
    }
}

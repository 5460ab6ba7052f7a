//! Shapes as a trace learns them: like [`Type`], but a part may still be
//! unknown (a sequence whose item was not read yet), and what one read
//! shows is merged into what earlier reads showed.

use super::super::{FieldSchema, Fields, Type};

/// The shape of one position.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Sh {
    /// Not read yet.
    Unknown,
    /// A primitive: bool, the numbers, char, String, bytes, ().
    Prim(Type),
    Option(Box<Sh>),
    Seq(Box<Sh>),
    Map(Box<Sh>, Box<Sh>),
    Tuple(Vec<Sh>),
    Array(Box<Sh>, usize),
    /// A struct or enum, by its serde name.
    Named(&'static str),
}

impl Sh {
    /// Adds what another read of the same position showed.
    pub(super) fn merge(&mut self, other: Sh) -> Result<(), String> {
        match (&mut *self, other) {
            (_, Sh::Unknown) => Ok(()),
            (Sh::Unknown, other) => {
                *self = other;
                Ok(())
            }
            (Sh::Option(a), Sh::Option(b)) | (Sh::Seq(a), Sh::Seq(b)) => a.merge(*b),
            (Sh::Array(a, n), Sh::Array(b, m)) if *n == m => a.merge(*b),
            (Sh::Map(k, v), Sh::Map(k2, v2)) => {
                k.merge(*k2)?;
                v.merge(*v2)
            }
            (Sh::Tuple(a), Sh::Tuple(b)) if a.len() == b.len() => {
                a.iter_mut().zip(b).try_for_each(|(x, y)| x.merge(y))
            }
            (a, b) if *a == b => Ok(()),
            (a, b) => Err(format!(
                "one position was read as two different shapes ({a:?} and {b:?}); its \
                 Deserialize impl does not read one fixed shape"
            )),
        }
    }

    /// The finished shape.
    pub(super) fn to_type(&self) -> Result<Type, String> {
        let b = |s: &Sh| s.to_type().map(Box::new);
        Ok(match self {
            Sh::Unknown => {
                return Err("a part of it was never read, so its shape is unknown".into())
            }
            Sh::Prim(t) => t.clone(),
            Sh::Option(s) => Type::Option(b(s)?),
            Sh::Seq(s) => Type::Seq(b(s)?),
            Sh::Map(k, v) => Type::Map(b(k)?, b(v)?),
            Sh::Tuple(ss) => Type::Tuple(ss.iter().map(Sh::to_type).collect::<Result<_, _>>()?),
            Sh::Array(s, n) => Type::Array(b(s)?, *n),
            Sh::Named(n) => Type::Named(n.to_string()),
        })
    }

    /// Whether every part of it was read.
    pub(super) fn is_known(&self) -> bool {
        match self {
            Sh::Unknown => false,
            Sh::Prim(_) | Sh::Named(_) => true,
            Sh::Option(s) | Sh::Seq(s) | Sh::Array(s, _) => s.is_known(),
            Sh::Map(k, v) => k.is_known() && v.is_known(),
            Sh::Tuple(ss) => ss.iter().all(Sh::is_known),
        }
    }

    /// Calls `f` with every struct or enum name in the shape.
    pub(super) fn names(&self, f: &mut impl FnMut(&'static str)) {
        match self {
            Sh::Unknown | Sh::Prim(_) => {}
            Sh::Option(s) | Sh::Seq(s) | Sh::Array(s, _) => s.names(f),
            Sh::Map(k, v) => {
                k.names(f);
                v.names(f);
            }
            Sh::Tuple(ss) => ss.iter().for_each(|s| s.names(f)),
            Sh::Named(n) => f(n),
        }
    }
}

/// The fields of a struct or variant as learnt.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum FieldsSh {
    Unit,
    Tuple(Vec<Sh>),
    Named(Vec<(&'static str, Sh)>),
}

impl FieldsSh {
    pub(super) fn merge(&mut self, other: FieldsSh) -> Result<(), String> {
        match (&mut *self, other) {
            (FieldsSh::Unit, FieldsSh::Unit) => Ok(()),
            (FieldsSh::Tuple(a), FieldsSh::Tuple(b)) if a.len() == b.len() => {
                a.iter_mut().zip(b).try_for_each(|(x, y)| x.merge(y))
            }
            (FieldsSh::Named(a), FieldsSh::Named(b))
                if a.len() == b.len() && a.iter().zip(&b).all(|(x, y)| x.0 == y.0) =>
            {
                a.iter_mut().zip(b).try_for_each(|(x, y)| x.1.merge(y.1))
            }
            (a, b) => Err(format!(
                "it was read with two different sets of fields ({a:?} and {b:?})"
            )),
        }
    }

    pub(super) fn to_fields(&self) -> Result<Fields, String> {
        Ok(match self {
            FieldsSh::Unit => Fields::Unit,
            FieldsSh::Tuple(ss) => {
                Fields::Tuple(ss.iter().map(Sh::to_type).collect::<Result<_, _>>()?)
            }
            FieldsSh::Named(fs) => Fields::Named(
                fs.iter()
                    .map(|(name, s)| {
                        Ok(FieldSchema {
                            name: name.to_string(),
                            docs: Vec::new(),
                            ty: s.to_type().map_err(|e| format!("field {name}: {e}"))?,
                        })
                    })
                    .collect::<Result<_, String>>()?,
            ),
        })
    }

    /// Whether every part of every field was read.
    pub(super) fn is_known(&self) -> bool {
        match self {
            FieldsSh::Unit => true,
            FieldsSh::Tuple(ss) => ss.iter().all(Sh::is_known),
            FieldsSh::Named(fs) => fs.iter().all(|(_, s)| s.is_known()),
        }
    }

    /// Calls `f` with every struct or enum name in the fields.
    pub(super) fn names(&self, f: &mut impl FnMut(&'static str)) {
        match self {
            FieldsSh::Unit => {}
            FieldsSh::Tuple(ss) => ss.iter().for_each(|s| s.names(f)),
            FieldsSh::Named(fs) => fs.iter().for_each(|(_, s)| s.names(f)),
        }
    }
}

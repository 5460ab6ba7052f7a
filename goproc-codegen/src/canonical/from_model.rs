//! A contract's schema from the contract model and the user types the
//! sources define: what `goproc-codegen` writes into Python and TypeScript
//! stubs, and what `goproc check` compares a running plugin against.

use std::collections::{BTreeMap, BTreeSet};

use super::assemble::{assemble, MethodDraft, Traced};
use super::{Body, ContractSchema, FieldSchema, Fields, Type, TypeSchema, VariantSchema};
use crate::model::typedefs::{self, TypeDef, TypeDefKind};
use crate::model::{Contract, Ty};

/// The schema of `contract`, whose user types are defined in `types`.
pub fn from_model(
    contract: &Contract,
    types: &BTreeMap<String, TypeDef>,
) -> Result<ContractSchema, String> {
    let mut methods = Vec::new();
    for m in &contract.methods {
        let mut args = Vec::new();
        for a in &m.args {
            args.push((
                bare(&a.name.to_string()),
                instantiate(&a.shape, types, true)?,
            ));
        }
        methods.push(MethodDraft {
            name: bare(&m.name.to_string()),
            docs: m.docs.clone(),
            args,
            ret: instantiate(&m.ret, types, true)?,
        });
    }
    assemble(
        &bare(&contract.name.to_string()),
        contract.docs.clone(),
        contract.events,
        methods,
    )
}

/// A name as serde spells it: a raw identifier (`r#type`) without its `r#`.
fn bare(name: &str) -> String {
    name.strip_prefix("r#").unwrap_or(name).to_string()
}

/// Traces one argument or answer type through the model, as serde would.
fn instantiate(ty: &Ty, types: &BTreeMap<String, TypeDef>, top: bool) -> Result<Traced, String> {
    let mut tracer = Tracer {
        defs: types,
        found: BTreeMap::new(),
        open: BTreeSet::new(),
    };
    let ty = tracer.convert(ty, &BTreeMap::new(), top)?;
    Ok(Traced {
        ty,
        types: tracer.found,
    })
}

struct Tracer<'a> {
    defs: &'a BTreeMap<String, TypeDef>,
    found: BTreeMap<String, TypeSchema>,
    /// Types being read, so a recursive type refers to itself by name.
    open: BTreeSet<String>,
}

impl Tracer<'_> {
    fn convert(
        &mut self,
        ty: &Ty,
        subst: &BTreeMap<String, Ty>,
        top: bool,
    ) -> Result<Type, String> {
        let mut inner =
            |t: &Ty| -> Result<Box<Type>, String> { Ok(Box::new(self.convert(t, subst, false)?)) };
        Ok(match ty {
            Ty::Bool => Type::Bool,
            Ty::U8 => Type::U8,
            Ty::U16 => Type::U16,
            Ty::U32 => Type::U32,
            Ty::U64 | Ty::Usize => Type::U64,
            Ty::U128 => Type::U128,
            Ty::I8 => Type::I8,
            Ty::I16 => Type::I16,
            Ty::I32 => Type::I32,
            Ty::I64 | Ty::Isize => Type::I64,
            Ty::I128 => Type::I128,
            Ty::F32 => Type::F32,
            Ty::F64 => Type::F64,
            Ty::Char => Type::Char,
            Ty::String => Type::String,
            Ty::Bytes => Type::Bytes,
            Ty::Unit => Type::Unit,
            Ty::Seq(t) => Type::Seq(inner(t)?),
            Ty::Array(t, n) => Type::Array(inner(t)?, *n),
            Ty::Option(t) => Type::Option(inner(t)?),
            Ty::Map(k, v) => Type::Map(inner(k)?, inner(v)?),
            Ty::Tuple(ts) => Type::Tuple(
                ts.iter()
                    .map(|t| self.convert(t, subst, false))
                    .collect::<Result<_, _>>()?,
            ),
            Ty::Stream(t) => Type::Stream(inner(t)?),
            Ty::Result(ok, err) if top => Type::Result(inner(ok)?, inner(err)?),
            // Inside a type, serde encodes a `Result` as an enum of that name.
            Ty::Result(ok, err) => {
                let body = Body::Enum(vec![
                    variant("Ok", self.convert(ok, subst, false)?),
                    variant("Err", self.convert(err, subst, false)?),
                ]);
                self.record("Result", Vec::new(), body)?;
                Type::Named("Result".into())
            }
            Ty::Named { name, args } if args.is_empty() && subst.contains_key(name) => {
                self.convert(&subst[name].clone(), &BTreeMap::new(), false)?
            }
            Ty::Named { name, args } => {
                let args: Vec<Ty> = args.iter().map(|a| substitute(a, subst)).collect();
                self.named(name, &args)?;
                Type::Named(name.clone())
            }
        })
    }

    /// Reads the definition of `name` with `args` for its type parameters.
    fn named(&mut self, name: &str, args: &[Ty]) -> Result<(), String> {
        if self.open.contains(name) {
            return Ok(());
        }
        let def = self
            .defs
            .get(name)
            .ok_or_else(|| format!("the type `{name}` has no definition in the sources read"))?;
        if def.generics.len() != args.len() {
            return Err(format!(
                "`{name}` takes {} type argument(s), {} given",
                def.generics.len(),
                args.len()
            ));
        }
        let subst: BTreeMap<String, Ty> = def
            .generics
            .iter()
            .cloned()
            .zip(args.iter().cloned())
            .collect();
        self.open.insert(name.to_string());
        let body = match &def.kind {
            TypeDefKind::Struct(fields) => Body::Struct(self.fields(fields, &subst)?),
            TypeDefKind::Enum(variants) => Body::Enum(
                variants
                    .iter()
                    .map(|v| {
                        Ok(VariantSchema {
                            name: bare(&v.name),
                            docs: v.docs.clone(),
                            fields: self.fields(&v.fields, &subst)?,
                        })
                    })
                    .collect::<Result<_, String>>()?,
            ),
        };
        self.open.remove(name);
        self.record(name, def.docs.clone(), body)
    }

    fn fields(
        &mut self,
        fields: &typedefs::Fields,
        subst: &BTreeMap<String, Ty>,
    ) -> Result<Fields, String> {
        Ok(match fields {
            typedefs::Fields::Unit => Fields::Unit,
            typedefs::Fields::Tuple(ts) => Fields::Tuple(
                ts.iter()
                    .map(|t| self.convert(t, subst, false))
                    .collect::<Result<_, _>>()?,
            ),
            typedefs::Fields::Named(fs) => Fields::Named(
                fs.iter()
                    .map(|f| {
                        Ok(FieldSchema {
                            name: bare(&f.name),
                            docs: f.docs.clone(),
                            ty: self.convert(&f.ty, subst, false)?,
                        })
                    })
                    .collect::<Result<_, String>>()?,
            ),
        })
    }

    /// Notes a user type's shape; one name has one shape within one trace,
    /// as in serde's view of it.
    fn record(&mut self, name: &str, docs: Vec<String>, body: Body) -> Result<(), String> {
        match self.found.get(name) {
            Some(seen) if seen.body.without_docs() != body.without_docs() => Err(format!(
                "`{name}` is used with two different type arguments inside one argument or \
                 answer; the schema cannot tell them apart (serde names both `{name}`)"
            )),
            Some(_) => Ok(()),
            None => {
                self.found.insert(
                    name.to_string(),
                    TypeSchema {
                        name: name.to_string(),
                        docs,
                        body,
                    },
                );
                Ok(())
            }
        }
    }
}

fn variant(name: &str, ty: Type) -> VariantSchema {
    VariantSchema {
        name: name.into(),
        docs: Vec::new(),
        fields: Fields::Tuple(vec![ty]),
    }
}

/// Replaces type parameters in `ty` by the types they stand for.
fn substitute(ty: &Ty, subst: &BTreeMap<String, Ty>) -> Ty {
    let s = |t: &Ty| Box::new(substitute(t, subst));
    match ty {
        Ty::Named { name, args } if args.is_empty() && subst.contains_key(name) => {
            subst[name].clone()
        }
        Ty::Named { name, args } => Ty::Named {
            name: name.clone(),
            args: args.iter().map(|a| substitute(a, subst)).collect(),
        },
        Ty::Seq(t) => Ty::Seq(s(t)),
        Ty::Array(t, n) => Ty::Array(s(t), *n),
        Ty::Option(t) => Ty::Option(s(t)),
        Ty::Stream(t) => Ty::Stream(s(t)),
        Ty::Map(a, b) => Ty::Map(s(a), s(b)),
        Ty::Result(a, b) => Ty::Result(s(a), s(b)),
        Ty::Tuple(ts) => Ty::Tuple(ts.iter().map(|t| substitute(t, subst)).collect()),
        other => other.clone(),
    }
}

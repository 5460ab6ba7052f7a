//! What the code `#[plugin_interface]` generates calls to build a
//! contract's schema once per process: trace each argument and answer, then
//! assemble them.

use std::marker::PhantomData;

use serde::de::DeserializeOwned;

use super::{assemble, ContractSchema, MethodDraft, Traced, Type};

/// One method as the macro knows it, its types already traced.
pub struct MethodSketch {
    /// The method's name.
    pub name: &'static str,
    /// Its doc comment lines.
    pub docs: &'static [&'static str],
    /// Each argument's name and trace.
    pub args: Vec<(&'static str, Result<Traced, String>)>,
    /// The answer's trace.
    pub ret: Result<Traced, String>,
}

/// Builds a contract's schema, or says which argument or answer could not
/// be traced.
pub fn contract_schema(
    name: &str,
    docs: &[&str],
    events: bool,
    methods: Vec<MethodSketch>,
) -> Result<ContractSchema, String> {
    let mut drafts = Vec::with_capacity(methods.len());
    for m in methods {
        let at = |what: String, r: Result<Traced, String>| {
            r.map_err(|e| format!("contract {name}, {what} of method {}: {e}", m.name))
        };
        let mut args = Vec::with_capacity(m.args.len());
        for (arg, traced) in m.args {
            args.push((arg.to_string(), at(format!("argument {arg}"), traced)?));
        }
        let ret = at("the answer".into(), m.ret)?;
        drafts.push(MethodDraft {
            name: m.name.to_string(),
            docs: lines(m.docs),
            args,
            ret,
        });
    }
    assemble(name, lines(docs), events, drafts).map_err(|e| format!("contract {name}: {e}"))
}

fn lines(docs: &[&str]) -> Vec<String> {
    docs.iter().map(|l| l.to_string()).collect()
}

/// `Result<T, E>` from the traces of `T` and `E` (a method's domain error).
pub fn result_trace(
    ok: Result<Traced, String>,
    err: Result<Traced, String>,
) -> Result<Traced, String> {
    let (ok, err) = (ok?, err?);
    let mut types = ok.types;
    for (name, def) in err.types {
        match types.get(&name) {
            Some(seen) if seen.body != def.body => {
                return Err(format!(
                    "the generic type {name} is used with other type arguments in `Ok` than in \
                     `Err`; wrap one of them in a type of its own"
                ))
            }
            Some(_) => {}
            None => {
                types.insert(name, def);
            }
        }
    }
    Ok(Traced {
        ty: Type::Result(Box::new(ok.ty), Box::new(err.ty)),
        types,
    })
}

/// `Stream<T>` from the trace of `T`.
pub fn stream_trace(item: Result<Traced, String>) -> Result<Traced, String> {
    let item = item?;
    Ok(Traced {
        ty: Type::Stream(Box::new(item.ty)),
        types: item.types,
    })
}

/// Names a contract type for [`TraceSerde`] / [`TraceNothing`]: the trace
/// when the type implements `Deserialize`, an error otherwise. (A type
/// without it is already reported at the user's code by the macro's own
/// check; this keeps the schema from reporting it a second time.)
pub struct SchemaProbe<T>(PhantomData<T>);

impl<T> SchemaProbe<T> {
    /// The probe of `T`; call `(&probe).trace()`.
    pub fn new() -> Self {
        SchemaProbe(PhantomData)
    }
}

impl<T> Default for SchemaProbe<T> {
    fn default() -> Self {
        Self::new()
    }
}

/// Traces a type that implements `Deserialize`.
pub trait TraceSerde {
    /// Its trace.
    fn trace(&self) -> Result<Traced, String>;
}

impl<T: DeserializeOwned> TraceSerde for SchemaProbe<T> {
    fn trace(&self) -> Result<Traced, String> {
        super::trace_type::<T>()
    }
}

/// The fallback for a type that does not implement `Deserialize`.
pub trait TraceNothing {
    /// An error naming the type.
    fn trace(&self) -> Result<Traced, String>;
}

impl<T> TraceNothing for &SchemaProbe<T> {
    fn trace(&self) -> Result<Traced, String> {
        Err(format!(
            "the type {} does not implement serde::Deserialize",
            std::any::type_name::<T>()
        ))
    }
}

//! The built-in introspection contract (docs/WIRE.md, "Introspection"):
//! its describe method, served by every Rust side, and read by the host.

use crate::driver::{Args, HandlerFuture, RemoteError};
use crate::wire::DESCRIBE_METHOD;
use crate::{ContractInfo, Error};

use super::{parse_schemas, ContractSchema};

/// The introspection contract as a client sees it, for its calls' messages.
pub(crate) static INTROSPECTION: ContractInfo = ContractInfo {
    name: "goproc.Introspection",
    fingerprint: "",
    methods: &["describe"],
    schema: no_schema,
};

fn no_schema() -> &'static Result<ContractSchema, String> {
    static NONE: Result<ContractSchema, String> = Err(String::new());
    &NONE
}

/// Answers a call to the introspection contract on a side that serves
/// `contracts`: describe gives their documented schemas, in order.
pub(crate) fn serve(
    contracts: Vec<&'static ContractInfo>,
    method: u32,
    args: Args,
) -> Result<HandlerFuture, RemoteError> {
    if method != DESCRIBE_METHOD {
        return Err(crate::__private::unknown_method(&INTROSPECTION, method));
    }
    crate::__private::decode_args::<()>(args, &INTROSPECTION, method)?;
    Ok(Box::pin(async move {
        // Traced (once per process) on the handler's task, not the reader's.
        let texts: Vec<String> = contracts
            .iter()
            .map(|c| match (c.schema)() {
                Ok(s) => s.documented_text(),
                Err(_) => String::new(),
            })
            .collect();
        crate::__private::respond(&texts)
    }))
}

/// Reads a describe answer: one documented text per contract the plugin
/// serves (`served`, from its HELLO).
pub(crate) fn read_answer(
    plugin: &str,
    served: &[&str],
    texts: Vec<String>,
) -> Result<Vec<ContractSchema>, Error> {
    let bad = |reason: String| Error::Protocol {
        peer: plugin.to_string(),
        reason,
    };
    if texts.len() != served.len() {
        return Err(bad(format!(
            "its describe answer holds {} schemas, but it serves {} contracts",
            texts.len(),
            served.len()
        )));
    }
    let mut schemas = Vec::with_capacity(texts.len());
    for (name, text) in served.iter().zip(texts) {
        if text.is_empty() {
            return Err(Error::NoSchema {
                plugin: plugin.to_string(),
                contract: name.to_string(),
                reason: "its runtime could not state it (a type it could not trace)".into(),
            });
        }
        let mut parsed = parse_schemas(&text).map_err(|e| Error::NoSchema {
            plugin: plugin.to_string(),
            contract: name.to_string(),
            reason: format!("the schema it described does not read: {e}"),
        })?;
        match parsed.pop() {
            Some(s) if parsed.is_empty() && s.name == *name => schemas.push(s),
            _ => {
                return Err(bad(format!(
                    "its describe answer for contract {name} is not one schema of {name}"
                )))
            }
        }
    }
    Ok(schemas)
}

//! Values as JSON, converted through a contract's schema: what calls by
//! name ([`crate::Plugin::call_json`]) send and answer.
//!
//! The conversion writes exactly the bytes the typed code writes for the
//! same value, and reads an answer with the wire's limits. The JSON
//! spelling of each type (docs/CONTRACTS.md, "Calls by name with JSON"):
//!
//! - integers are JSON numbers; `u64` and `i64` keep every digit;
//!   `u128` and `i128` are strings of decimal digits (`"340282366920938463463374607431768211455"`),
//!   and a JSON number is accepted for them when it fits in 64 bits;
//! - `f32` and `f64` are numbers, or `"NaN"`, `"Infinity"`, `"-Infinity"`;
//! - `char` is a string of one character; bytes are a base64 string
//!   (standard alphabet, padded), and an array of numbers 0 to 255 is
//!   accepted for them;
//! - `Option` is `null` or the value; `()` is `null`;
//! - tuples and arrays are arrays; structs are objects (tuple structs
//!   arrays, newtype structs their inner value, unit structs `null`);
//! - enums as serde_json writes them: a unit variant is `"Name"`, the others
//!   `{"Name": payload}`;
//! - maps with `String` keys are objects, other maps arrays of `[key, value]`
//!   pairs;
//! - a method's domain error reads as `{"Err": error}`, its success as
//!   `{"Ok": value}` ([`decode_answer`] tells them apart).
//!
//! A value that does not fit its type fails with a [`JsonError`] naming
//! where: `args[1].center.x: expected f64, found "a"`.

mod call;
mod decode;
mod encode;
mod path;
mod scalars;

#[cfg(test)]
mod tests;

use std::cell::RefCell;

use serde_json::Value;

use crate::schema::{ContractSchema, MethodSchema, Type};

use crate::wire::codec;
use decode::Decode;
use encode::{Encode, EncodeAll};
use path::{Path, Step};

pub use call::PreparedCall;
pub(crate) use call::{split_path, Target};
pub use path::JsonError;

/// The schema a conversion reads types from, and its first failure.
pub(crate) struct Context<'a> {
    schema: &'a ContractSchema,
    failure: RefCell<Option<JsonError>>,
}

impl<'a> Context<'a> {
    fn new(schema: &'a ContractSchema) -> Self {
        Context {
            schema,
            failure: RefCell::new(None),
        }
    }

    /// Keeps the first failure: the innermost, as errors unwind outwards.
    fn record(&self, path: &Path<'_>, message: &str) {
        let mut failure = self.failure.borrow_mut();
        if failure.is_none() {
            *failure = Some(JsonError::at(path, message));
        }
    }

    /// The recorded failure, or `message` at the top when none was.
    fn failure(&self, root: &str, message: String) -> JsonError {
        self.failure.take().unwrap_or(JsonError {
            path: root.to_string(),
            message,
        })
    }
}

/// Encodes the arguments of `method`, a method of `schema`: a JSON array
/// in order, or an object by argument name (a method without arguments
/// also takes `null`). The bytes are the request's arguments, as the typed
/// client writes them.
pub fn encode_args(
    schema: &ContractSchema,
    method: &MethodSchema,
    args: &Value,
) -> Result<Vec<u8>, JsonError> {
    let root = Path::root("args");
    let at_root = |message: String| JsonError::at(&root, message);
    let signature = || signature(schema, method);
    if let Some(arg) = method.args.iter().find(|a| matches!(a.ty, Type::Stream(_))) {
        return Err(at_root(format!(
            "{} takes the stream {}: {}; {}",
            signature(),
            arg.name,
            arg.ty,
            NO_STREAMS
        )));
    }
    let steps: Vec<(&Type, &Value, Step)> = match args {
        Value::Array(items) if items.len() == method.args.len() => method
            .args
            .iter()
            .zip(items)
            .enumerate()
            .map(|(i, (arg, value))| (&arg.ty, value, Step::Index(i)))
            .collect(),
        Value::Array(items) => {
            return Err(at_root(format!(
                "{} takes {} argument(s), found {}",
                signature(),
                method.args.len(),
                items.len()
            )))
        }
        Value::Object(named) => {
            if let Some(unknown) = named
                .keys()
                .find(|k| method.args.iter().all(|a| &a.name != *k))
            {
                return Err(at_root(format!(
                    "{} has no argument `{unknown}`",
                    signature()
                )));
            }
            let mut steps = Vec::with_capacity(method.args.len());
            for arg in &method.args {
                let Some(value) = named.get(&arg.name) else {
                    return Err(at_root(format!(
                        "missing argument `{}` of {}",
                        arg.name,
                        signature()
                    )));
                };
                steps.push((&arg.ty, value, Step::Field(&arg.name)));
            }
            steps
        }
        Value::Null if method.args.is_empty() => Vec::new(),
        other => {
            return Err(at_root(format!(
                "expected the arguments of {} as an array in order or an object by name, found \
                 {}",
                signature(),
                scalars::found(other)
            )))
        }
    };
    let cx = Context::new(schema);
    let mut items = Vec::with_capacity(steps.len());
    for (ty, value, step) in steps {
        items.push((ty, value, root.child(step).map_err(at_root)?));
    }
    codec::encode(&EncodeAll { cx: &cx, items }).map_err(|e| cx.failure("args", e))
}

/// Encodes one JSON value as `ty`, a type of `schema` (errors name the path
/// from `value`).
pub fn encode_value(
    schema: &ContractSchema,
    ty: &Type,
    value: &Value,
) -> Result<Vec<u8>, JsonError> {
    let cx = Context::new(schema);
    let root = Path::root("value");
    codec::encode(&Encode {
        cx: &cx,
        ty,
        value,
        path: &root,
    })
    .map_err(|e| cx.failure("value", e))
}

/// Decodes `bytes`, a whole body, as `ty`, a type of `schema`, to JSON.
pub fn decode_value(schema: &ContractSchema, ty: &Type, bytes: &[u8]) -> Result<Value, JsonError> {
    decode_at(schema, ty, bytes, "value")
}

fn decode_at(
    schema: &ContractSchema,
    ty: &Type,
    bytes: &[u8],
    root: &str,
) -> Result<Value, JsonError> {
    let cx = Context::new(schema);
    let path = Path::root(root);
    codec::decode_seed(
        Decode {
            cx: &cx,
            ty,
            path: &path,
        },
        bytes,
    )
    .map_err(|e| cx.failure(root, e))
}

/// The answer of a call of `method`, decoded: `Ok(value)`, or for a method
/// that returns `Result<T, E>` and answered `Err(e)`, `Err(e)` (the domain
/// error) as JSON. A method that answers a stream has no such answer.
pub fn decode_answer(
    schema: &ContractSchema,
    method: &MethodSchema,
    bytes: &[u8],
) -> Result<Result<Value, Value>, JsonError> {
    if let Type::Stream(_) = method.ret {
        return Err(JsonError {
            path: "answer".into(),
            message: format!(
                "{} answers a stream; {NO_STREAMS}",
                signature(schema, method)
            ),
        });
    }
    let value = decode_at(schema, &method.ret, bytes, "answer")?;
    if !matches!(method.ret, Type::Result(..)) {
        return Ok(Ok(value));
    }
    match value {
        Value::Object(mut tagged) => match (tagged.remove("Ok"), tagged.remove("Err")) {
            (Some(ok), None) => Ok(Ok(ok)),
            (None, Some(err)) => Ok(Err(err)),
            _ => unreachable!("a Result decodes as {{\"Ok\": ..}} or {{\"Err\": ..}}"),
        },
        _ => unreachable!("a Result decodes as an object"),
    }
}

const NO_STREAMS: &str =
    "calls by name with JSON send one value and read one answer, so methods with streams are \
     called from typed code";

/// `Contract.method(a: i64, b: i64) -> i64`, for messages.
pub fn signature(schema: &ContractSchema, method: &MethodSchema) -> String {
    let args = method
        .args
        .iter()
        .map(|a| format!("{}: {}", a.name, a.ty))
        .collect::<Vec<_>>()
        .join(", ");
    let mut text = format!("{}.{}({args})", schema.name, method.name);
    if method.ret != Type::Unit {
        text.push_str(&format!(" -> {}", method.ret));
    }
    text
}

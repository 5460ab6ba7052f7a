//! Traces a type's serde `Deserialize` impl into its wire shape: the shape
//! as the compiled program reads it, which is exactly what a peer built
//! from another copy of the type would misread.
//!
//! The type is read from a deserializer that records what it is asked for
//! ([`probe`]), as serde-reflection does, in as many passes as it takes for
//! every variant of every enum to be read once, at any depth ([`state`]
//! chooses the variants; serde-reflection explores the variants of the
//! top-level enum only, and would stop at the first variant of an enum
//! inside a struct or a `Vec`).

mod probe;
mod shape;
mod state;

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{Body, Traced, TypeSchema, VariantSchema};
use probe::Probe;
use shape::Sh;
use state::{Container, State};

/// More passes than any real type needs: a bound, so a type the trace
/// cannot finish fails instead of looping.
const MAX_PASSES: usize = 10_000;

/// The wire shape of `T` and every user type it reaches.
///
/// Fails, saying why, for a type that cannot be traced: one whose
/// `Deserialize` refuses the sample values it is handed (`NonZeroU32`, a
/// string checked against a pattern), or one that needs self-describing
/// input (`deserialize_any`, untagged enums), which the wire cannot carry.
pub fn trace_type<T: for<'de> Deserialize<'de>>() -> Result<Traced, String> {
    let what = std::any::type_name::<T>();
    let fail = |e: String| format!("the type {what} cannot be traced: {e}");
    let mut state = State::default();
    let mut top = Sh::Unknown;
    for pass in 0.. {
        state.progressed = false;
        let mut shape = Sh::Unknown;
        T::deserialize(Probe {
            state: &mut state,
            out: &mut shape,
        })
        .map_err(|e| fail(e.0))?;
        top.merge(shape).map_err(fail)?;
        let incomplete = state.incomplete();
        if incomplete.is_empty() {
            break;
        }
        if (!state.progressed && pass > 0) || pass >= MAX_PASSES {
            return Err(fail(format!(
                "no read reaches the rest of {} (a variant or item only a recursion leads to)",
                incomplete.join(", ")
            )));
        }
    }
    let ty = top.to_type().map_err(fail)?;
    let mut types = BTreeMap::new();
    for (name, container) in &state.types {
        let body = body(container).map_err(|e| fail(format!("in {name}: {e}")))?;
        types.insert(
            name.to_string(),
            TypeSchema {
                name: name.to_string(),
                docs: Vec::new(),
                body,
            },
        );
    }
    Ok(Traced { ty, types })
}

fn body(container: &Container) -> Result<Body, String> {
    Ok(match container {
        Container::Struct(fields) => Body::Struct(fields.to_fields()?),
        Container::Enum {
            names, variants, ..
        } => Body::Enum(
            names
                .iter()
                .zip(variants)
                .map(|(name, fields)| {
                    let fields = fields
                        .as_ref()
                        .ok_or_else(|| format!("variant {name} was never read"))?;
                    Ok(VariantSchema {
                        name: name.to_string(),
                        docs: Vec::new(),
                        fields: fields
                            .to_fields()
                            .map_err(|e| format!("variant {name}: {e}"))?,
                    })
                })
                .collect::<Result<_, String>>()?,
        ),
    })
}

#[cfg(test)]
mod tests;

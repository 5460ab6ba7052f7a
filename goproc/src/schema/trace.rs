//! Traces a type's serde `Deserialize` impl into its wire shape, with
//! serde-reflection: the shape as the compiled program reads it, which is
//! exactly what a peer built from another copy of the type would misread.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_reflection::{ContainerFormat, Format, Named, Tracer, TracerConfig, VariantFormat};

use super::{Body, FieldSchema, Fields, Traced, Type, TypeSchema, VariantSchema};

/// The wire shape of `T` and every user type it reaches.
///
/// Fails, saying why, for a type serde-reflection cannot trace: one whose
/// `Deserialize` refuses the tracer's sample values (`NonZeroU32`, a string
/// checked against a pattern), or one that reads its input in a form the
/// wire cannot carry (`deserialize_any`, untagged enums).
pub fn trace_type<T: for<'de> Deserialize<'de>>() -> Result<Traced, String> {
    let what = std::any::type_name::<T>();
    let fail = |e: &dyn std::fmt::Display| format!("the type {what} cannot be traced: {e}");
    // A fresh tracer per type: each trace gives every name one shape, and
    // `assemble` tells the instances of a generic type apart.
    let mut tracer = Tracer::new(TracerConfig::default());
    let (format, _) = tracer.trace_simple_type::<T>().map_err(|e| fail(&e))?;
    let registry = tracer.registry().map_err(|e| fail(&e))?;
    let ty = convert(&format).map_err(|e| fail(&e))?;
    let mut types = BTreeMap::new();
    for (name, container) in &registry {
        let body = body(container).map_err(|e| fail(&format!("in {name}: {e}")))?;
        types.insert(
            name.clone(),
            TypeSchema {
                name: name.clone(),
                docs: Vec::new(),
                body,
            },
        );
    }
    Ok(Traced { ty, types })
}

/// One traced format as a canonical type.
fn convert(format: &Format) -> Result<Type, String> {
    Ok(match format {
        Format::Variable(v) => match &*v.borrow() {
            Some(f) => convert(f)?,
            None => return Err("a part of it was never read (its shape is unknown)".into()),
        },
        Format::TypeName(name) => Type::Named(name.clone()),
        Format::Unit => Type::Unit,
        Format::Bool => Type::Bool,
        Format::I8 => Type::I8,
        Format::I16 => Type::I16,
        Format::I32 => Type::I32,
        Format::I64 => Type::I64,
        Format::I128 => Type::I128,
        Format::U8 => Type::U8,
        Format::U16 => Type::U16,
        Format::U32 => Type::U32,
        Format::U64 => Type::U64,
        Format::U128 => Type::U128,
        Format::F32 => Type::F32,
        Format::F64 => Type::F64,
        Format::Char => Type::Char,
        Format::Str => Type::String,
        Format::Bytes => Type::Bytes,
        Format::Option(f) => Type::Option(Box::new(convert(f)?)),
        Format::Seq(f) => Type::Seq(Box::new(convert(f)?)),
        Format::Map { key, value } => Type::Map(Box::new(convert(key)?), Box::new(convert(value)?)),
        Format::Tuple(fs) => Type::Tuple(fs.iter().map(convert).collect::<Result<_, _>>()?),
        Format::TupleArray { content, size } => Type::Array(Box::new(convert(content)?), *size),
    })
}

fn named_fields(fields: &[Named<Format>]) -> Result<Fields, String> {
    Ok(Fields::Named(
        fields
            .iter()
            .map(|f| {
                Ok(FieldSchema {
                    name: f.name.clone(),
                    docs: Vec::new(),
                    ty: convert(&f.value)?,
                })
            })
            .collect::<Result<_, String>>()?,
    ))
}

fn tuple_fields(fields: &[Format]) -> Result<Fields, String> {
    Ok(Fields::Tuple(
        fields.iter().map(convert).collect::<Result<_, _>>()?,
    ))
}

/// One traced struct or enum as a canonical body.
fn body(container: &ContainerFormat) -> Result<Body, String> {
    Ok(match container {
        ContainerFormat::UnitStruct => Body::Struct(Fields::Unit),
        ContainerFormat::NewTypeStruct(f) => Body::Struct(tuple_fields(std::slice::from_ref(f))?),
        ContainerFormat::TupleStruct(fs) => Body::Struct(tuple_fields(fs)?),
        ContainerFormat::Struct(fs) => Body::Struct(named_fields(fs)?),
        ContainerFormat::Enum(variants) => {
            let mut out = Vec::with_capacity(variants.len());
            for (expected, (index, v)) in variants.iter().enumerate() {
                // The wire carries the variant's position: a gap would
                // shift every later one.
                if *index as usize != expected {
                    return Err(format!(
                        "variant number {expected} was not found (the next is {} at {index})",
                        v.name
                    ));
                }
                out.push(VariantSchema {
                    name: v.name.clone(),
                    docs: Vec::new(),
                    fields: variant_fields(&v.value)?,
                });
            }
            Body::Enum(out)
        }
    })
}

fn variant_fields(v: &VariantFormat) -> Result<Fields, String> {
    match v {
        VariantFormat::Variable(var) => match &*var.borrow() {
            Some(inner) => variant_fields(inner),
            None => Err("a variant was never read (its shape is unknown)".into()),
        },
        VariantFormat::Unit => Ok(Fields::Unit),
        VariantFormat::NewType(f) => tuple_fields(std::slice::from_ref(&**f)),
        VariantFormat::Tuple(fs) => tuple_fields(fs),
        VariantFormat::Struct(fs) => named_fields(fs),
    }
}

#[cfg(test)]
mod tests;

//! Wire bytes to JSON: a `DeserializeSeed` driven by the schema type reads
//! through the codec's decoder, so the wire's limits (lengths, item budget,
//! the nesting limit of structs and enums) hold as they do for typed
//! values. A `Result` reads as `{"Ok": value}` or `{"Err": error}`.

use std::fmt;

use serde::de::{self, DeserializeSeed, EnumAccess, MapAccess, SeqAccess, VariantAccess, Visitor};
use serde_json::{Map, Value};

use crate::schema::{Body, Fields, Type};

use super::path::{Path, Step};
use super::scalars;
use super::Context;

/// Reads one value of `ty` at `path`.
#[derive(Clone, Copy)]
pub(crate) struct Decode<'a> {
    pub(crate) cx: &'a Context<'a>,
    pub(crate) ty: &'a Type,
    pub(crate) path: &'a Path<'a>,
}

/// Serde containers reserve from a size hint; the decoder's hint is
/// already bounded by the bytes left, this bounds it further.
const MAX_RESERVE: usize = 4096;

impl<'a> Decode<'a> {
    fn at<'b>(&self, ty: &'b Type, path: &'b Path<'b>) -> Decode<'b>
    where
        'a: 'b,
    {
        Decode {
            cx: self.cx,
            ty,
            path,
        }
    }

    fn step<E: de::Error>(&self, step: Step<'a>) -> Result<Path<'a>, E> {
        self.path.child(step).map_err(E::custom)
    }

    fn read<'de, D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        match self.ty {
            Type::Bool => d.deserialize_bool(self),
            Type::U8 => d.deserialize_u8(self),
            Type::U16 => d.deserialize_u16(self),
            Type::U32 => d.deserialize_u32(self),
            Type::U64 => d.deserialize_u64(self),
            Type::U128 => d.deserialize_u128(self),
            Type::I8 => d.deserialize_i8(self),
            Type::I16 => d.deserialize_i16(self),
            Type::I32 => d.deserialize_i32(self),
            Type::I64 => d.deserialize_i64(self),
            Type::I128 => d.deserialize_i128(self),
            Type::F32 => d.deserialize_f32(self),
            Type::F64 => d.deserialize_f64(self),
            Type::Char => d.deserialize_char(self),
            Type::String => d.deserialize_str(self),
            Type::Bytes => d.deserialize_bytes(self),
            Type::Unit => d.deserialize_unit(self),
            Type::Option(_) => d.deserialize_option(self),
            Type::Seq(_) => d.deserialize_seq(self),
            Type::Array(_, len) => d.deserialize_tuple(*len, self),
            Type::Tuple(types) => d.deserialize_tuple(types.len(), self),
            Type::Map(..) => d.deserialize_map(self),
            Type::Result(..) => d.deserialize_enum("Result", &["Ok", "Err"], self),
            Type::Named(name) => {
                let def = self.cx.schema.type_named(name).ok_or_else(|| {
                    error(|| {
                        format!(
                            "the contract's schema has no type {name}; the schema is inconsistent"
                        )
                    })
                })?;
                match &def.body {
                    Body::Struct(Fields::Unit) => d.deserialize_unit_struct("", self),
                    Body::Struct(Fields::Tuple(types)) if types.len() == 1 => {
                        d.deserialize_newtype_struct("", self)
                    }
                    // Named fields are written in order without their
                    // names: on the wire a struct is its fields as a tuple.
                    Body::Struct(fields) => d.deserialize_tuple_struct(
                        "",
                        field_count(fields),
                        ReadFields {
                            at: self,
                            fields,
                            owner: name,
                        },
                    ),
                    Body::Enum(_) => d.deserialize_enum("", &[], self),
                }
            }
            Type::Stream(_) => Err(error(|| format!("{} cannot be read as JSON", self.ty))),
        }
    }

    #[cold]
    #[inline(never)]
    fn mismatch<E: de::Error>(&self, got: &str) -> E {
        error(|| format!("the schema says {}, the decoder offered {got}", self.ty))
    }
}

fn field_count(fields: &Fields) -> usize {
    match fields {
        Fields::Unit => 0,
        Fields::Tuple(types) => types.len(),
        Fields::Named(named) => named.len(),
    }
}

impl<'de> DeserializeSeed<'de> for Decode<'_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        let read = self.read(d);
        if let Err(e) = &read {
            // The innermost failure records first and is the one kept.
            self.cx.record(self.path, &e.to_string());
        }
        read
    }
}

impl<'de> Visitor<'de> for Decode<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a value of type {}", self.ty)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }

    fn visit_f32<E: de::Error>(self, v: f32) -> Result<Value, E> {
        Ok(scalars::f32_value(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Ok(scalars::float_value(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Value, E> {
        Ok(scalars::bytes_value(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        let Type::Option(inner) = self.ty else {
            return Err(self.mismatch("an Option"));
        };
        let path = self.step(Step::Same)?;
        self.at(inner, &path).deserialize(d)
    }

    fn visit_newtype_struct<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        let inner = match self.ty {
            Type::Named(name) => match self.cx.schema.type_named(name).map(|t| &t.body) {
                Some(Body::Struct(Fields::Tuple(types))) if types.len() == 1 => &types[0],
                _ => return Err(self.mismatch("a newtype struct")),
            },
            _ => return Err(self.mismatch("a newtype struct")),
        };
        let path = self.step(Step::Same)?;
        self.at(inner, &path).deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(MAX_RESERVE));
        let mut next = |ty: &Type, i: usize| -> Result<Option<Value>, A::Error> {
            let path = self.step(Step::Index(i))?;
            seq.next_element_seed(self.at(ty, &path))
        };
        match self.ty {
            Type::Seq(item) => {
                while let Some(value) = next(item, items.len())? {
                    items.push(value);
                }
            }
            Type::Array(item, len) => {
                for i in 0..*len {
                    items.push(next(item, i)?.ok_or_else(|| short(self.ty, i))?);
                }
            }
            Type::Tuple(types) => {
                for (i, ty) in types.iter().enumerate() {
                    items.push(next(ty, i)?.ok_or_else(|| short(self.ty, i))?);
                }
            }
            _ => return Err(self.mismatch("a sequence")),
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let Type::Map(key_ty, value_ty) = self.ty else {
            return Err(self.mismatch("a map"));
        };
        let hint = map.size_hint().unwrap_or(0).min(MAX_RESERVE);
        if **key_ty == Type::String {
            let mut object = Map::new();
            while let Some(key) = map.next_key_seed(self.at(key_ty, self.path))? {
                let key = match key {
                    Value::String(key) => key,
                    other => return Err(self.mismatch(&format!("the key {other}"))),
                };
                let path = self.step(Step::Key(&key))?;
                let value = map.next_value_seed(self.at(value_ty, &path))?;
                object.insert(key, value);
            }
            return Ok(Value::Object(object));
        }
        let mut pairs = Vec::with_capacity(hint);
        loop {
            let pair = self.step(Step::Index(pairs.len()))?;
            let (key_path, value_path) = (pair.child(Step::Index(0)), pair.child(Step::Index(1)));
            let key_path = key_path.map_err(de::Error::custom)?;
            let value_path = value_path.map_err(de::Error::custom)?;
            let Some(key) = map.next_key_seed(self.at(key_ty, &key_path))? else {
                break;
            };
            let value = map.next_value_seed(self.at(value_ty, &value_path))?;
            pairs.push(Value::Array(vec![key, value]));
        }
        Ok(Value::Array(pairs))
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Value, A::Error> {
        let (index, variant) = data.variant_seed(VariantIndex)?;
        if let Type::Result(ok, err) = self.ty {
            let (name, ty) = match index {
                0 => ("Ok", &**ok),
                1 => ("Err", &**err),
                n => {
                    return Err(error(|| {
                        format!("variant index {n} is not one of a Result's (0 is Ok, 1 is Err)")
                    }))
                }
            };
            let path = self.step(Step::Variant(name))?;
            let value = variant.newtype_variant_seed(self.at(ty, &path))?;
            return Ok(tagged(name, value));
        }
        let Type::Named(enum_name) = self.ty else {
            return Err(self.mismatch("an enum"));
        };
        let variants = match self.cx.schema.type_named(enum_name).map(|t| &t.body) {
            Some(Body::Enum(variants)) => variants,
            _ => return Err(self.mismatch("an enum")),
        };
        let Some(chosen) = variants.get(index as usize) else {
            return Err(error(|| {
                format!(
                    "variant index {index} is not a variant of {enum_name}, which has {}",
                    variants.len()
                )
            }));
        };
        let name = chosen.name.as_str();
        let path = self.step(Step::Variant(name))?;
        let payload = match &chosen.fields {
            Fields::Unit => {
                variant.unit_variant()?;
                return Ok(Value::from(name));
            }
            Fields::Tuple(types) if types.len() == 1 => {
                variant.newtype_variant_seed(self.at(&types[0], &path))?
            }
            fields => variant.tuple_variant(
                field_count(fields),
                ReadFields {
                    at: self.at(self.ty, &path),
                    fields,
                    owner: name,
                },
            )?,
        };
        Ok(tagged(name, payload))
    }
}

/// An error whose message is made only on failure, out of the caller's
/// frame (deep values repeat the frames of this module at every level).
#[cold]
#[inline(never)]
fn error<E: de::Error>(message: impl FnOnce() -> String) -> E {
    E::custom(message())
}

/// `{"name": value}`
fn tagged(name: &str, value: Value) -> Value {
    let mut object = Map::new();
    object.insert(name.to_string(), value);
    Value::Object(object)
}

fn short<E: de::Error>(ty: &Type, got: usize) -> E {
    error(|| format!("{ty} ended after {got} item(s)"))
}

/// The fields of a struct or variant, written in order: an array of
/// positional fields, an object of named ones.
struct ReadFields<'a> {
    at: Decode<'a>,
    fields: &'a Fields,
    owner: &'a str,
}

impl<'de> Visitor<'de> for ReadFields<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the fields of {}", self.owner)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let missing =
            |field: &str| error(|| format!("{} ended before its field {field}", self.owner));
        match self.fields {
            Fields::Unit => Ok(Value::Null),
            Fields::Tuple(types) => {
                let mut items = Vec::with_capacity(types.len());
                for (i, ty) in types.iter().enumerate() {
                    let path = self.at.step(Step::Index(i))?;
                    let item = seq.next_element_seed(self.at.at(ty, &path))?;
                    items.push(item.ok_or_else(|| missing(&i.to_string()))?);
                }
                Ok(Value::Array(items))
            }
            Fields::Named(named) => {
                let mut object = Map::new();
                for field in named {
                    let path = self.at.step(Step::Field(&field.name))?;
                    let item = seq.next_element_seed(self.at.at(&field.ty, &path))?;
                    object.insert(
                        field.name.clone(),
                        item.ok_or_else(|| missing(&field.name))?,
                    );
                }
                Ok(Value::Object(object))
            }
        }
    }
}

/// Reads an enum's variant index.
struct VariantIndex;

impl<'de> DeserializeSeed<'de> for VariantIndex {
    type Value = u32;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<u32, D::Error> {
        d.deserialize_u32(self)
    }
}

impl Visitor<'_> for VariantIndex {
    type Value = u32;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a variant index")
    }

    fn visit_u32<E: de::Error>(self, v: u32) -> Result<u32, E> {
        Ok(v)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<u32, E> {
        u32::try_from(v).map_err(|_| error(|| format!("variant index {v} is past u32")))
    }
}

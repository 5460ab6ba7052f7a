//! JSON to wire bytes: a JSON value paired with its schema type is a serde
//! `Serialize`, fed to the codec like any typed value, so the bytes are the
//! ones the typed code writes for the same value. The walk checks as it
//! goes; the first value that does not fit is recorded with its path (serde's
//! error type cannot carry one), and the half-written bytes are dropped.

use std::fmt;

use serde::ser::{self, Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::Value;

use crate::schema::{Body, FieldSchema, Fields, Type, VariantSchema};

use super::path::{Path, Step};
use super::scalars::{self, expected, found};
use super::Context;

/// What a JSON value is read as, for messages.
enum Owner<'a> {
    /// `struct Record`
    Struct(&'a str),
    /// `variant Circle of Shape`
    Variant(&'a str, &'a str),
}

impl fmt::Display for Owner<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Owner::Struct(name) => write!(f, "struct {name}"),
            Owner::Variant(variant, name) => write!(f, "variant {variant} of {name}"),
        }
    }
}

/// A JSON value to be written as `ty`, at `path`.
pub(crate) struct Encode<'a> {
    pub(crate) cx: &'a Context<'a>,
    pub(crate) ty: &'a Type,
    pub(crate) value: &'a Value,
    pub(crate) path: &'a Path<'a>,
}

/// Several values written one after another, as a tuple: a method's
/// arguments.
pub(crate) struct EncodeAll<'a> {
    pub(crate) cx: &'a Context<'a>,
    pub(crate) items: Vec<(&'a Type, &'a Value, Path<'a>)>,
}

impl Serialize for EncodeAll<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut tuple = ser::Serializer::serialize_tuple(s, self.items.len())?;
        for (ty, value, path) in &self.items {
            ser::SerializeTuple::serialize_element(
                &mut tuple,
                &Encode {
                    cx: self.cx,
                    ty,
                    value,
                    path,
                },
            )?;
        }
        ser::SerializeTuple::end(tuple)
    }
}

impl<'a> Encode<'a> {
    /// Records what was wrong here and returns the error that unwinds the
    /// serializer.
    #[cold]
    #[inline(never)]
    fn fail<E: ser::Error>(&self, message: String) -> E {
        self.cx.record(self.path, &message);
        E::custom(format!("{}: {message}", self.path))
    }

    /// [`Encode::fail`] with a message made only on failure, out of the
    /// caller's frame.
    #[cold]
    #[inline(never)]
    fn fail_with<E: ser::Error>(&self, message: impl FnOnce() -> String) -> E {
        self.fail(message())
    }

    /// The value of a scalar reader, or its message recorded here.
    fn check<T, E: ser::Error>(&self, read: Result<T, String>) -> Result<T, E> {
        read.map_err(|message| self.fail(message))
    }

    /// The place one step down.
    fn step<E: ser::Error>(&self, step: Step<'a>) -> Result<Path<'a>, E> {
        self.path.child(step).map_err(|m| self.fail(m))
    }

    /// `value` written as `ty` at `path`, with this walk's context.
    fn at<'b>(&self, ty: &'b Type, value: &'b Value, path: &'b Path<'b>) -> Encode<'b>
    where
        'a: 'b,
    {
        Encode {
            cx: self.cx,
            ty,
            value,
            path,
        }
    }

    /// The items of a JSON array of exactly `len` items (`None`: any).
    fn array<E: ser::Error>(
        &self,
        len: Option<usize>,
        what: &dyn fmt::Display,
    ) -> Result<&'a [Value], E> {
        match self.value {
            Value::Array(items) if len.is_none_or(|n| n == items.len()) => Ok(items),
            Value::Array(items) => Err(self.fail_with(|| {
                format!(
                    "expected {} item(s) for {what}, found an array of {}",
                    len.unwrap_or_default(),
                    items.len()
                )
            })),
            other => {
                Err(self
                    .fail_with(|| format!("expected an array for {what}, found {}", found(other))))
            }
        }
    }

    /// Writes each of `types` from the items of a JSON array of as many.
    fn positional<E: ser::Error>(
        &self,
        types: &[Type],
        what: &dyn fmt::Display,
        mut emit: impl FnMut(&Encode<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        let items = self.array(Some(types.len()), what)?;
        for (i, (ty, item)) in types.iter().zip(items).enumerate() {
            let path = self.step(Step::Index(i))?;
            emit(&self.at(ty, item, &path))?;
        }
        Ok(())
    }

    /// Writes `fields` in order from a JSON object holding each of them
    /// and nothing else.
    fn named<E: ser::Error>(
        &self,
        fields: &[FieldSchema],
        what: &dyn fmt::Display,
        mut emit: impl FnMut(&Encode<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        let names = || {
            fields
                .iter()
                .map(|f| f.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let Value::Object(object) = self.value else {
            return Err(self.fail_with(|| {
                format!(
                    "expected an object for {what} (fields {}), found {}",
                    names(),
                    found(self.value)
                )
            }));
        };
        if let Some(unknown) = object.keys().find(|k| fields.iter().all(|f| &f.name != *k)) {
            return Err(self.fail_with(|| {
                format!(
                    "unknown field `{unknown}` of {what}; its fields are {}",
                    names()
                )
            }));
        }
        for field in fields {
            let Some(item) = object.get(&field.name) else {
                return Err(self.fail_with(|| {
                    format!(
                        "missing field `{}` of {what} (a {}); its fields are {}",
                        field.name,
                        field.ty,
                        names()
                    )
                }));
            };
            let path = self.step(Step::Field(&field.name))?;
            emit(&self.at(&field.ty, item, &path))?;
        }
        Ok(())
    }

    fn map<S: Serializer>(&self, key: &Type, value: &Type, s: S) -> Result<S::Ok, S::Error> {
        match self.value {
            Value::Object(object) if *key == Type::String => {
                let mut map = s.serialize_map(Some(object.len()))?;
                for (k, item) in object {
                    let path = self.step(Step::Key(k))?;
                    map.serialize_entry(k.as_str(), &self.at(value, item, &path))?;
                }
                map.end()
            }
            Value::Object(_) => Err(self.fail_with(|| {
                format!(
                "expected an array of [key, value] pairs for {}: only maps with String keys are \
                 JSON objects",
                self.ty
            )
            })),
            Value::Array(pairs) => {
                let mut map = s.serialize_map(Some(pairs.len()))?;
                for (i, pair) in pairs.iter().enumerate() {
                    let at = self.step(Step::Index(i))?;
                    let entry = self.at(self.ty, pair, &at);
                    let [k, v] = entry.array(Some(2), &"a [key, value] pair")? else {
                        unreachable!("array() checked the length");
                    };
                    let key_path = entry.step(Step::Index(0))?;
                    let value_path = entry.step(Step::Index(1))?;
                    map.serialize_entry(
                        &self.at(key, k, &key_path),
                        &self.at(value, v, &value_path),
                    )?;
                }
                map.end()
            }
            other => Err(self.fail_with(|| {
                format!(
                    "expected {} for {}, found {}",
                    if *key == Type::String {
                        "an object"
                    } else {
                        "an array of [key, value] pairs"
                    },
                    self.ty,
                    found(other)
                )
            })),
        }
    }

    fn named_type<S: Serializer>(&self, name: &str, s: S) -> Result<S::Ok, S::Error> {
        let Some(def) = self.cx.schema.type_named(name) else {
            return Err(self.fail_with(|| {
                format!("the contract's schema has no type {name}; the schema is inconsistent")
            }));
        };
        let inside = self.path.enter_named(name).map_err(|m| self.fail(m))?;
        let this = self.at(self.ty, self.value, &inside);
        match &def.body {
            Body::Struct(Fields::Unit) if this.value.is_null() => s.serialize_unit_struct(""),
            Body::Struct(Fields::Unit) => Err(this.fail_with(|| {
                format!(
                    "expected null for the unit struct {name}, found {}",
                    found(this.value)
                )
            })),
            Body::Struct(Fields::Tuple(types)) if types.len() == 1 => {
                let path = this.step(Step::Same)?;
                s.serialize_newtype_struct("", &this.at(&types[0], this.value, &path))
            }
            Body::Struct(Fields::Tuple(types)) => {
                let mut st = s.serialize_tuple_struct("", types.len())?;
                this.positional(types, &Owner::Struct(name), |item| {
                    ser::SerializeTupleStruct::serialize_field(&mut st, item)
                })?;
                ser::SerializeTupleStruct::end(st)
            }
            Body::Struct(Fields::Named(fields)) => {
                let mut st = s.serialize_struct("", fields.len())?;
                this.named(fields, &Owner::Struct(name), |item| {
                    ser::SerializeStruct::serialize_field(&mut st, "", item)
                })?;
                ser::SerializeStruct::end(st)
            }
            Body::Enum(variants) => this.variant(name, variants, s),
        }
    }

    /// An enum value: `"Unit"`, or `{"Variant": payload}`.
    fn variant<S: Serializer>(
        &self,
        name: &str,
        variants: &[VariantSchema],
        s: S,
    ) -> Result<S::Ok, S::Error> {
        let list = || {
            variants
                .iter()
                .map(|v| v.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let (chosen, payload) = match self.value {
            Value::String(v) => (v.as_str(), None),
            Value::Object(object) if object.len() == 1 => {
                let (v, payload) = object.iter().next().expect("one entry");
                (v.as_str(), Some(payload))
            }
            other => {
                return Err(self.fail_with(|| {
                    format!(
                    "expected a variant of {name} (\"Variant\" or {{\"Variant\": payload}}; its \
                     variants are {}), found {}",
                    list(),
                    found(other)
                )
                }))
            }
        };
        let Some(index) = variants.iter().position(|v| v.name == chosen) else {
            return Err(self.fail_with(|| {
                format!(
                    "unknown variant `{chosen}` of {name}; its variants are {}",
                    list()
                )
            }));
        };
        let index32 = index as u32;
        let what = Owner::Variant(chosen, name);
        let fields = &variants[index].fields;
        let payload = match (fields, payload) {
            (Fields::Unit, None | Some(Value::Null)) => {
                return s.serialize_unit_variant("", index32, "")
            }
            (Fields::Unit, Some(other)) => {
                return Err(self.fail_with(|| {
                    format!(
                        "{what} has no fields: write \"{chosen}\", found the payload {}",
                        found(other)
                    )
                }))
            }
            (_, None) => {
                return Err(self.fail_with(|| {
                    format!("{what} has fields: write {{\"{chosen}\": ...}}, not \"{chosen}\"")
                }))
            }
            (_, Some(payload)) => payload,
        };
        let path = self.step(Step::Variant(&variants[index].name))?;
        let inner = self.at(self.ty, payload, &path);
        match fields {
            Fields::Tuple(types) if types.len() == 1 => {
                s.serialize_newtype_variant("", index32, "", &inner.at(&types[0], payload, &path))
            }
            Fields::Tuple(types) => {
                let mut tv = s.serialize_tuple_variant("", index32, "", types.len())?;
                inner.positional(types, &what, |item| {
                    ser::SerializeTupleVariant::serialize_field(&mut tv, item)
                })?;
                ser::SerializeTupleVariant::end(tv)
            }
            Fields::Named(named) => {
                let mut sv = s.serialize_struct_variant("", index32, "", named.len())?;
                inner.named(named, &what, |item| {
                    ser::SerializeStructVariant::serialize_field(&mut sv, "", item)
                })?;
                ser::SerializeStructVariant::end(sv)
            }
            Fields::Unit => unreachable!("unit variants returned above"),
        }
    }
}

impl Serialize for Encode<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // Each kind in a function of its own keeps this frame, which deep
        // values repeat at every level, small.
        match self.ty {
            Type::Option(inner) => self.option(inner, s),
            Type::Seq(item) => self.seq(item, s),
            Type::Array(item, len) => self.fixed(item, *len, s),
            Type::Tuple(types) => self.tuple(types, s),
            Type::Map(key, value) => self.map(key, value, s),
            Type::Named(name) => self.named_type(name, s),
            _ => self.scalar(s),
        }
    }
}

impl Encode<'_> {
    #[inline(never)]
    fn scalar<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (ty, v) = (self.ty, self.value);
        match ty {
            Type::Bool => match v {
                Value::Bool(b) => s.serialize_bool(*b),
                _ => Err(self.fail(expected(ty, v))),
            },
            Type::U8 => s.serialize_u8(self.check(scalars::unsigned(ty, v, u8::MAX.into()))? as u8),
            Type::U16 => {
                s.serialize_u16(self.check(scalars::unsigned(ty, v, u16::MAX.into()))? as u16)
            }
            Type::U32 => {
                s.serialize_u32(self.check(scalars::unsigned(ty, v, u32::MAX.into()))? as u32)
            }
            Type::U64 => s.serialize_u64(self.check(scalars::unsigned(ty, v, u64::MAX))?),
            Type::U128 => s.serialize_u128(self.check(scalars::u128(v))?),
            Type::I8 => {
                s.serialize_i8(
                    self.check(scalars::signed(ty, v, i8::MIN.into(), i8::MAX.into()))? as i8,
                )
            }
            Type::I16 => s.serialize_i16(self.check(scalars::signed(
                ty,
                v,
                i16::MIN.into(),
                i16::MAX.into(),
            ))? as i16),
            Type::I32 => s.serialize_i32(self.check(scalars::signed(
                ty,
                v,
                i32::MIN.into(),
                i32::MAX.into(),
            ))? as i32),
            Type::I64 => s.serialize_i64(self.check(scalars::signed(ty, v, i64::MIN, i64::MAX))?),
            Type::I128 => s.serialize_i128(self.check(scalars::i128(v))?),
            Type::F32 => s.serialize_f32(self.check(scalars::f32(v))?),
            Type::F64 => s.serialize_f64(self.check(scalars::f64(ty, v))?),
            Type::Char => s.serialize_char(self.check(scalars::char(v))?),
            Type::String => match v {
                Value::String(text) => s.serialize_str(text),
                _ => Err(self.fail(expected(ty, v))),
            },
            Type::Bytes => s.serialize_bytes(&self.check(scalars::bytes(v))?),
            Type::Unit => match v {
                Value::Null => s.serialize_unit(),
                _ => Err(self.fail_with(|| format!("expected null for (), found {}", found(v)))),
            },
            _ => Err(self.fail_with(|| {
                format!(
                    "{ty} is not a value a call sends (only a method's answer is a Result, and \
                     streams are not sent as JSON)"
                )
            })),
        }
    }

    #[inline(never)]
    fn option<S: Serializer>(&self, inner: &Type, s: S) -> Result<S::Ok, S::Error> {
        if self.value.is_null() {
            return s.serialize_none();
        }
        let path = self.step(Step::Same)?;
        s.serialize_some(&self.at(inner, self.value, &path))
    }

    #[inline(never)]
    fn seq<S: Serializer>(&self, item: &Type, s: S) -> Result<S::Ok, S::Error> {
        let items = self.array(None, self.ty)?;
        let mut seq = s.serialize_seq(Some(items.len()))?;
        for (i, x) in items.iter().enumerate() {
            let path = self.step(Step::Index(i))?;
            seq.serialize_element(&self.at(item, x, &path))?;
        }
        seq.end()
    }

    #[inline(never)]
    fn fixed<S: Serializer>(&self, item: &Type, len: usize, s: S) -> Result<S::Ok, S::Error> {
        let items = self.array(Some(len), self.ty)?;
        let mut tuple = s.serialize_tuple(len)?;
        for (i, x) in items.iter().enumerate() {
            let path = self.step(Step::Index(i))?;
            ser::SerializeTuple::serialize_element(&mut tuple, &self.at(item, x, &path))?;
        }
        ser::SerializeTuple::end(tuple)
    }

    #[inline(never)]
    fn tuple<S: Serializer>(&self, types: &[Type], s: S) -> Result<S::Ok, S::Error> {
        let mut tuple = s.serialize_tuple(types.len())?;
        self.positional(types, self.ty, |item| {
            ser::SerializeTuple::serialize_element(&mut tuple, item)
        })?;
        ser::SerializeTuple::end(tuple)
    }
}

//! The deserializer a trace reads a type with: every read method records
//! the shape it was asked for and hands the visitor a sample value (zero,
//! empty, one item), so the type's own `Deserialize` impl shows its shape.

use serde::de::{
    self, DeserializeSeed, EnumAccess, IntoDeserializer, MapAccess, SeqAccess, VariantAccess,
    Visitor,
};

use super::shape::{FieldsSh, Sh};
use super::state::State;
use crate::schema::Type;

/// Why a read failed; its text goes into the trace's error.
#[derive(Debug)]
pub(super) struct TraceError(pub(super) String);

impl std::fmt::Display for TraceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TraceError {}

impl de::Error for TraceError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        TraceError(msg.to_string())
    }
}

type Result<T> = std::result::Result<T, TraceError>;

fn err(e: String) -> TraceError {
    TraceError(e)
}

/// Reads one value at a position whose shape goes to `out`.
pub(super) struct Probe<'s> {
    pub(super) state: &'s mut State,
    pub(super) out: &'s mut Sh,
}

impl Probe<'_> {
    fn prim(self, ty: Type) -> Result<()> {
        self.out.merge(Sh::Prim(ty)).map_err(err)
    }

    /// Reads the items of a tuple, tuple struct or variant into `slots`.
    fn items<'de, V: Visitor<'de>>(
        state: &mut State,
        slots: &mut [Sh],
        visitor: V,
    ) -> Result<V::Value> {
        visitor.visit_seq(Items {
            state,
            slots: slots.iter_mut(),
        })
    }
}

/// What a visitor says it expects (`an array of length 3`, `a tuple of
/// size 2`): the one way to tell `[T; N]` from a tuple, whose serde reads
/// are the same.
struct Expecting<'a, V>(&'a V);

impl<'de, V: Visitor<'de>> std::fmt::Display for Expecting<'_, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.expecting(f)
    }
}

macro_rules! primitive {
    ($($method:ident => $ty:expr, $visit:ident($($value:expr)?);)*) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
                self.prim($ty)?;
                visitor.$visit($($value)?)
            }
        )*
    };
}

fn self_describing(what: &str) -> TraceError {
    TraceError(format!(
        "it reads its input with `{what}`, which needs self-describing input (untagged or \
         internally tagged enums, flatten, `deserialize_any`); the wire cannot carry it"
    ))
}

impl<'de> de::Deserializer<'de> for Probe<'_> {
    type Error = TraceError;

    primitive! {
        deserialize_bool => Type::Bool, visit_bool(false);
        deserialize_i8 => Type::I8, visit_i8(0);
        deserialize_i16 => Type::I16, visit_i16(0);
        deserialize_i32 => Type::I32, visit_i32(0);
        deserialize_i64 => Type::I64, visit_i64(0);
        deserialize_i128 => Type::I128, visit_i128(0);
        deserialize_u8 => Type::U8, visit_u8(0);
        deserialize_u16 => Type::U16, visit_u16(0);
        deserialize_u32 => Type::U32, visit_u32(0);
        deserialize_u64 => Type::U64, visit_u64(0);
        deserialize_u128 => Type::U128, visit_u128(0);
        deserialize_f32 => Type::F32, visit_f32(0.0);
        deserialize_f64 => Type::F64, visit_f64(0.0);
        deserialize_char => Type::Char, visit_char('a');
        deserialize_str => Type::String, visit_borrowed_str("");
        deserialize_string => Type::String, visit_string(String::new());
        deserialize_bytes => Type::Bytes, visit_borrowed_bytes(&[]);
        deserialize_byte_buf => Type::Bytes, visit_byte_buf(Vec::new());
        deserialize_unit => Type::Unit, visit_unit();
    }

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value> {
        Err(self_describing("deserialize_any"))
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value> {
        Err(self_describing("deserialize_ignored_any"))
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value> {
        Err(self_describing("deserialize_identifier"))
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        let mut inner = Sh::Unknown;
        let value = if self.state.cut() {
            visitor.visit_none()?
        } else {
            visitor.visit_some(Probe {
                state: self.state,
                out: &mut inner,
            })?
        };
        self.out.merge(Sh::Option(Box::new(inner))).map_err(err)?;
        Ok(value)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        let mut item = [Sh::Unknown];
        let value = if self.state.cut() {
            Probe::items(self.state, &mut [], visitor)?
        } else {
            Probe::items(self.state, &mut item, visitor)?
        };
        let [item] = item;
        self.out.merge(Sh::Seq(Box::new(item))).map_err(err)?;
        Ok(value)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        let (mut key, mut val) = (Sh::Unknown, Sh::Unknown);
        let entries = usize::from(!self.state.cut());
        let value = visitor.visit_map(Entries {
            state: self.state,
            key: &mut key,
            value: &mut val,
            left: entries,
        })?;
        self.out
            .merge(Sh::Map(Box::new(key), Box::new(val)))
            .map_err(err)?;
        Ok(value)
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value> {
        let array = Expecting(&visitor).to_string().starts_with("an array");
        let mut slots = vec![Sh::Unknown; len];
        let value = Probe::items(self.state, &mut slots, visitor)?;
        let shape = if array && len > 0 {
            let mut item = Sh::Unknown;
            for s in slots {
                item.merge(s).map_err(err)?;
            }
            Sh::Array(Box::new(item), len)
        } else if array {
            // `[T; 0]` reads nothing, so its item type is unknowable.
            return Err(TraceError(
                "an array of length 0 carries nothing; leave it out of the contract".into(),
            ));
        } else {
            Sh::Tuple(slots)
        };
        self.out.merge(shape).map_err(err)?;
        Ok(value)
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value> {
        self.state
            .record_struct(name, FieldsSh::Unit)
            .map_err(err)?;
        self.out.merge(Sh::Named(name)).map_err(err)?;
        visitor.visit_unit()
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value> {
        self.state.enter(name).map_err(err)?;
        let mut inner = Sh::Unknown;
        let value = visitor.visit_newtype_struct(Probe {
            state: self.state,
            out: &mut inner,
        });
        self.state.leave();
        let value = value?;
        self.state
            .record_struct(name, FieldsSh::Tuple(vec![inner]))
            .map_err(err)?;
        self.out.merge(Sh::Named(name)).map_err(err)?;
        Ok(value)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value> {
        self.state.enter(name).map_err(err)?;
        let mut slots = vec![Sh::Unknown; len];
        let value = Probe::items(self.state, &mut slots, visitor);
        self.state.leave();
        let value = value?;
        self.state
            .record_struct(name, FieldsSh::Tuple(slots))
            .map_err(err)?;
        self.out.merge(Sh::Named(name)).map_err(err)?;
        Ok(value)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        self.state.enter(name).map_err(err)?;
        let mut slots = vec![Sh::Unknown; fields.len()];
        let value = Probe::items(self.state, &mut slots, visitor);
        self.state.leave();
        let value = value?;
        let named = fields.iter().copied().zip(slots).collect();
        self.state
            .record_struct(name, FieldsSh::Named(named))
            .map_err(err)?;
        self.out.merge(Sh::Named(name)).map_err(err)?;
        Ok(value)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        let index = self.state.choose_variant(name, variants).map_err(err)?;
        self.state.enter(name).map_err(err)?;
        let mut fields = None;
        let value = visitor.visit_enum(Variant {
            state: self.state,
            index,
            fields: &mut fields,
        });
        self.state.leave();
        let value = value?;
        let fields = fields.ok_or_else(|| {
            TraceError(format!(
                "enum {name} chose variant {index} without reading its fields"
            ))
        })?;
        self.state
            .record_variant(name, index, fields)
            .map_err(err)?;
        self.out.merge(Sh::Named(name)).map_err(err)?;
        Ok(value)
    }

    fn is_human_readable(&self) -> bool {
        // The wire is bincode's, which is not.
        false
    }
}

/// The items of a tuple, struct, sequence or variant: one per slot.
struct Items<'s, 'a> {
    state: &'s mut State,
    slots: std::slice::IterMut<'a, Sh>,
}

impl<'de> SeqAccess<'de> for Items<'_, '_> {
    type Error = TraceError;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>> {
        match self.slots.next() {
            Some(slot) => seed
                .deserialize(Probe {
                    state: self.state,
                    out: slot,
                })
                .map(Some),
            None => Ok(None),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.slots.len())
    }
}

/// A map of zero or one entry.
struct Entries<'s> {
    state: &'s mut State,
    key: &'s mut Sh,
    value: &'s mut Sh,
    left: usize,
}

impl<'de> MapAccess<'de> for Entries<'_> {
    type Error = TraceError;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        seed.deserialize(Probe {
            state: self.state,
            out: self.key,
        })
        .map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value> {
        seed.deserialize(Probe {
            state: self.state,
            out: self.value,
        })
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.left)
    }
}

/// The variant an enum read takes, and the fields it reads.
struct Variant<'s> {
    state: &'s mut State,
    index: usize,
    fields: &'s mut Option<FieldsSh>,
}

impl<'de, 's> EnumAccess<'de> for Variant<'s> {
    type Error = TraceError;
    type Variant = Self;

    fn variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<(S::Value, Self)> {
        // By index, as bincode reads it.
        let index: de::value::U32Deserializer<TraceError> = (self.index as u32).into_deserializer();
        let tag = seed.deserialize(index)?;
        Ok((tag, self))
    }
}

impl<'de> VariantAccess<'de> for Variant<'_> {
    type Error = TraceError;

    fn unit_variant(self) -> Result<()> {
        *self.fields = Some(FieldsSh::Unit);
        Ok(())
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value> {
        let mut inner = Sh::Unknown;
        let value = seed.deserialize(Probe {
            state: self.state,
            out: &mut inner,
        })?;
        *self.fields = Some(FieldsSh::Tuple(vec![inner]));
        Ok(value)
    }

    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value> {
        let mut slots = vec![Sh::Unknown; len];
        let value = Probe::items(self.state, &mut slots, visitor)?;
        *self.fields = Some(FieldsSh::Tuple(slots));
        Ok(value)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        let mut slots = vec![Sh::Unknown; fields.len()];
        let value = Probe::items(self.state, &mut slots, visitor)?;
        *self.fields = Some(FieldsSh::Named(fields.iter().copied().zip(slots).collect()));
        Ok(value)
    }
}

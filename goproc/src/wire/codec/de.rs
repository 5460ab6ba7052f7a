//! A serde `Deserializer` for the wire's encoding (bincode 2 `standard`,
//! docs/WIRE.md section 3) that enforces the limits of section 3.1 as it
//! reads: lengths within the bytes left, an item budget of one item (or
//! byte of a byte string) per body byte, and at most [`NESTING_LIMIT`] structs and enums inside one
//! another. bincode's own decoder has none of these (a deep value overflows
//! the stack; its size limit is fixed at compile time and counts memory,
//! not bytes), so decoding happens here and bincode only encodes. The
//! accepted inputs are otherwise exactly bincode's: the test suite compares
//! the two on random and mutated inputs.

use std::fmt;

use serde::de::{
    self, DeserializeSeed, EnumAccess, IntoDeserializer, MapAccess, SeqAccess, VariantAccess,
    Visitor,
};

/// How many structs, enums and `Result`s a value may nest inside one another.
pub const NESTING_LIMIT: u32 = 128;

/// A value that does not decode; the message says what and at which offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError(pub String);

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DecodeError {}

impl de::Error for DecodeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        DecodeError(msg.to_string())
    }
}

type Result<T> = std::result::Result<T, DecodeError>;

/// Reads values from a slice of one frame body.
pub struct Decoder<'de> {
    input: &'de [u8],
    pos: usize,
    depth: u32,
    /// Items the sequences and maps still to come may hold.
    items_left: usize,
    /// The body's length, for messages.
    body_len: usize,
}

impl<'de> Decoder<'de> {
    /// A decoder of `input`, which lies in a frame body of `body_len` bytes
    /// (the item budget).
    pub fn new(input: &'de [u8], body_len: usize) -> Self {
        Decoder {
            input,
            pos: 0,
            depth: 0,
            items_left: body_len,
            body_len,
        }
    }

    /// Bytes read so far.
    pub fn position(&self) -> usize {
        self.pos
    }

    fn left(&self) -> usize {
        self.input.len() - self.pos
    }

    fn take(&mut self, n: usize, what: &str) -> Result<&'de [u8]> {
        if n > self.left() {
            return Err(DecodeError(format!(
                "unexpected end of the body: {what} at offset {} needs {n} byte(s), {} left",
                self.pos,
                self.left()
            )));
        }
        let bytes = &self.input[self.pos..self.pos + n];
        self.pos += n;
        Ok(bytes)
    }

    #[inline]
    fn byte(&mut self, what: &str) -> Result<u8> {
        match self.input.get(self.pos) {
            Some(&b) => {
                self.pos += 1;
                Ok(b)
            }
            None => Err(DecodeError(format!(
                "unexpected end of the body: {what} at offset {} needs 1 byte, 0 left",
                self.pos
            ))),
        }
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N]> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, what)?);
        Ok(out)
    }

    /// A varint whose marker may be at most `widest` (`fb` for u16 ... `fe`
    /// for u128). Most are one byte: that case is inlined, the rest is not.
    #[inline(always)]
    fn varint(&mut self, widest: u8, what: &str) -> Result<u128> {
        if let Some(&b) = self.input.get(self.pos) {
            if b < 0xfb {
                self.pos += 1;
                return Ok(u128::from(b));
            }
        }
        self.wide_varint(widest, what)
    }

    #[cold]
    #[inline(never)]
    fn wide_varint(&mut self, widest: u8, what: &str) -> Result<u128> {
        let at = self.pos;
        let marker = self.byte(what)?;
        if marker < 0xfb {
            return Ok(u128::from(marker));
        }
        if marker > widest {
            return Err(DecodeError(if marker == 0xff {
                format!("invalid varint marker 0xff at offset {at} ({what})")
            } else {
                format!("varint marker 0x{marker:02x} at offset {at} is too wide for {what}")
            }));
        }
        Ok(match marker {
            0xfb => u128::from(u16::from_le_bytes(self.array(what)?)),
            0xfc => u128::from(u32::from_le_bytes(self.array(what)?)),
            0xfd => u128::from(u64::from_le_bytes(self.array(what)?)),
            _ => u128::from_le_bytes(self.array(what)?),
        })
    }

    /// A u64 varint (`what` names it in errors).
    pub fn u64_varint(&mut self, what: &str) -> Result<u64> {
        // A marker no wider than `fd` keeps the value within 64 bits.
        self.varint(0xfd, what).map(|v| v as u64)
    }

    /// A u32 varint (`what` names it in errors).
    pub fn u32_varint(&mut self, what: &str) -> Result<u32> {
        // A marker no wider than `fc` keeps the value within 32 bits.
        self.varint(0xfc, what).map(|v| v as u32)
    }

    /// A string's or byte string's length: never more than the bytes left.
    fn length(&mut self, what: &str) -> Result<usize> {
        let at = self.pos;
        let n = self.u64_varint(what)?;
        if n > self.left() as u64 {
            return Err(DecodeError(format!(
                "{what} at offset {at} claims {n} byte(s), only {} left",
                self.left()
            )));
        }
        Ok(n as usize)
    }

    /// A sequence's or map's count, charged to the item budget.
    fn count(&mut self, what: &str) -> Result<usize> {
        let at = self.pos;
        let n = self.u64_varint(what)?;
        self.charge(n, at, what)?;
        Ok(n as usize)
    }

    /// Charges `n` items, counted at offset `at`, to the item budget.
    fn charge(&mut self, n: u64, at: usize, what: &str) -> Result<()> {
        if n > self.items_left as u64 {
            return Err(DecodeError(format!(
                "count {n} at offset {at} ({what}) is more than the item budget allows: a body \
                 of {} bytes holds at most {} more item(s)",
                self.body_len, self.items_left
            )));
        }
        self.items_left -= n as usize;
        Ok(())
    }

    /// A struct or enum value: counted against the nesting limit.
    fn nested<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        if self.depth >= NESTING_LIMIT {
            return Err(DecodeError(format!(
                "the value breaks the nesting limit: more than {NESTING_LIMIT} structs and enums \
                 inside one another at offset {}",
                self.pos
            )));
        }
        self.depth += 1;
        let value = f(self)?;
        self.depth -= 1;
        Ok(value)
    }

    fn str(&mut self, what: &str) -> Result<&'de str> {
        let n = self.length(what)?;
        let at = self.pos;
        let bytes = self.take(n, what)?;
        std::str::from_utf8(bytes).map_err(|e| {
            DecodeError(format!(
                "{what} at offset {at} is not UTF-8: {e} (byte {} of the string)",
                e.valid_up_to()
            ))
        })
    }

    fn char(&mut self) -> Result<char> {
        let at = self.pos;
        let first = self.byte("a char")?;
        let width = utf8_char_width(first);
        if width == 0 {
            return Err(DecodeError(format!(
                "invalid char at offset {at}: 0x{first:02x} cannot start UTF-8"
            )));
        }
        if width == 1 {
            return Ok(char::from(first));
        }
        let mut bytes = [first, 0, 0, 0];
        bytes[1..width].copy_from_slice(self.take(width - 1, "a char")?);
        std::str::from_utf8(&bytes[..width])
            .ok()
            .and_then(|s| s.chars().next())
            .ok_or_else(|| DecodeError(format!("invalid char at offset {at}: not UTF-8")))
    }
}

/// Bytes in the UTF-8 sequence that starts with `b` (0: `b` cannot start one).
fn utf8_char_width(b: u8) -> usize {
    match b {
        0x00..=0x7f => 1,
        0xc2..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf4 => 4,
        _ => 0,
    }
}

fn zigzag(n: u128) -> i128 {
    ((n >> 1) as i128) ^ -((n & 1) as i128)
}

macro_rules! unsigned {
    ($method:ident, $visit:ident, $ty:ty, $widest:expr, $what:expr) => {
        #[inline]
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
            // The marker bounds the width, so the cast cannot truncate.
            visitor.$visit(self.varint($widest, $what)? as $ty)
        }
    };
}

macro_rules! signed {
    ($method:ident, $visit:ident, $ty:ty, $widest:expr, $what:expr) => {
        #[inline]
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
            // The marker bounds the width, and zigzag maps an unsigned
            // value of that width onto the signed type's range.
            visitor.$visit(zigzag(self.varint($widest, $what)?) as $ty)
        }
    };
}

impl<'de> de::Deserializer<'de> for &mut Decoder<'de> {
    type Error = DecodeError;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value> {
        Err(DecodeError(
            "the type needs a self-describing encoding (serde's deserialize_any), which the wire \
             does not have"
                .into(),
        ))
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        let at = self.pos;
        match self.byte("a bool")? {
            0 => visitor.visit_bool(false),
            1 => visitor.visit_bool(true),
            b => Err(DecodeError(format!(
                "invalid bool byte 0x{b:02x} at offset {at}"
            ))),
        }
    }

    fn deserialize_u8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_u8(self.byte("a u8")?)
    }

    fn deserialize_i8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_i8(self.byte("an i8")? as i8)
    }

    unsigned!(deserialize_u16, visit_u16, u16, 0xfb, "a u16");
    unsigned!(deserialize_u32, visit_u32, u32, 0xfc, "a u32");
    unsigned!(deserialize_u64, visit_u64, u64, 0xfd, "a u64");
    unsigned!(deserialize_u128, visit_u128, u128, 0xfe, "a u128");
    signed!(deserialize_i16, visit_i16, i16, 0xfb, "an i16");
    signed!(deserialize_i32, visit_i32, i32, 0xfc, "an i32");
    signed!(deserialize_i64, visit_i64, i64, 0xfd, "an i64");
    signed!(deserialize_i128, visit_i128, i128, 0xfe, "an i128");

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_f32(f32::from_le_bytes(self.array("an f32")?))
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_f64(f64::from_le_bytes(self.array("an f64")?))
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_char(self.char()?)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_borrowed_str(self.str("a string")?)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        // A byte string is charged like the sequence of u8 it also is (a
        // plain `Vec<u8>` decodes as one), so both spellings agree.
        let at = self.pos;
        let n = self.length("a byte string")?;
        self.charge(n as u64, at, "a byte string's length")?;
        visitor.visit_borrowed_bytes(self.take(n, "a byte string")?)
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_bytes(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        let at = self.pos;
        match self.byte("an Option tag")? {
            0 => visitor.visit_none(),
            1 => visitor.visit_some(self),
            b => Err(DecodeError(format!(
                "invalid Option tag {b} at offset {at} (0 is None, 1 is Some)"
            ))),
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_unit()
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value> {
        self.nested(|_| visitor.visit_unit())
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value> {
        self.nested(|de| visitor.visit_newtype_struct(de))
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        let len = self.count("a sequence's count")?;
        visitor.visit_seq(Items {
            de: self,
            left: len,
        })
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value> {
        visitor.visit_seq(Items {
            de: self,
            left: len,
        })
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value> {
        self.nested(|de| visitor.visit_seq(Items { de, left: len }))
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        let len = self.count("a map's count")?;
        visitor.visit_map(Entries {
            de: self,
            left: len,
        })
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        self.nested(|de| {
            visitor.visit_seq(Items {
                de,
                left: fields.len(),
            })
        })
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        self.nested(|de| visitor.visit_enum(de))
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, _: V) -> Result<V::Value> {
        Err(DecodeError(
            "the wire carries no field or variant names (serde's deserialize_identifier)".into(),
        ))
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value> {
        Err(DecodeError(
            "the wire cannot skip a value of unknown type (serde's deserialize_ignored_any)".into(),
        ))
    }

    fn is_human_readable(&self) -> bool {
        false
    }
}

/// The items of a sequence, tuple or struct.
struct Items<'a, 'de> {
    de: &'a mut Decoder<'de>,
    left: usize,
}

impl<'de> SeqAccess<'de> for Items<'_, 'de> {
    type Error = DecodeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        seed.deserialize(&mut *self.de).map(Some)
    }

    fn size_hint(&self) -> Option<usize> {
        // Never more than the bytes left could hold, whatever the count
        // claims; serde caps what it reserves from this besides.
        Some(self.left.min(self.de.left()))
    }
}

/// The entries of a map.
struct Entries<'a, 'de> {
    de: &'a mut Decoder<'de>,
    left: usize,
}

impl<'de> MapAccess<'de> for Entries<'_, 'de> {
    type Error = DecodeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        seed.deserialize(&mut *self.de).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value> {
        seed.deserialize(&mut *self.de)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.left.min(self.de.left()))
    }
}

impl<'de> EnumAccess<'de> for &mut Decoder<'de> {
    type Error = DecodeError;
    type Variant = Self;

    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Self)> {
        let index = self.varint(0xfc, "an enum variant index")? as u32;
        let value = seed.deserialize(index.into_deserializer())?;
        Ok((value, self))
    }
}

impl<'de> VariantAccess<'de> for &mut Decoder<'de> {
    type Error = DecodeError;

    fn unit_variant(self) -> Result<()> {
        Ok(())
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value> {
        seed.deserialize(self)
    }

    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value> {
        visitor.visit_seq(Items {
            de: self,
            left: len,
        })
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        visitor.visit_seq(Items {
            de: self,
            left: fields.len(),
        })
    }
}

//! The JSON spelling of the scalar types, both ways: integers, 128-bit
//! integers as strings of digits, floats with their non-finite names, chars,
//! base64 bytes. Each reader returns what was wrong as a message; the caller
//! adds the path.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::Value;

use crate::schema::Type;

/// How a message shows the JSON value it got: its text, cut short.
pub(crate) fn found(value: &Value) -> String {
    const MAX: usize = 40;
    let text = value.to_string();
    if text.chars().count() <= MAX {
        return text;
    }
    let cut: String = text.chars().take(MAX).collect();
    format!("{cut}...")
}

/// `expected {ty}, found {value}`.
pub(crate) fn expected(ty: &Type, value: &Value) -> String {
    format!("expected {ty}, found {}", found(value))
}

/// An unsigned integer of at most 64 bits, checked against `max`.
pub(crate) fn unsigned(ty: &Type, value: &Value, max: u64) -> Result<u64, String> {
    match value.as_u64() {
        Some(n) if n <= max => Ok(n),
        Some(n) => Err(format!("{n} is out of range for {ty} (0 to {max})")),
        None if value.as_i64().is_some() => Err(format!(
            "{} is out of range for {ty} (0 to {max})",
            found(value)
        )),
        None => Err(expected(ty, value)),
    }
}

/// A signed integer of at most 64 bits, checked against `min..=max`.
pub(crate) fn signed(ty: &Type, value: &Value, min: i64, max: i64) -> Result<i64, String> {
    match value.as_i64() {
        Some(n) if (min..=max).contains(&n) => Ok(n),
        Some(n) => Err(format!("{n} is out of range for {ty} ({min} to {max})")),
        None if value.as_u64().is_some() => Err(format!(
            "{} is out of range for {ty} ({min} to {max})",
            found(value)
        )),
        None => Err(expected(ty, value)),
    }
}

/// A u128: a string of decimal digits, or a JSON number that fits.
pub(crate) fn u128(value: &Value) -> Result<u128, String> {
    match value {
        Value::String(s) => s.parse::<u128>().map_err(|_| {
            format!(
                "{} is not a u128: write a string of decimal digits from 0 to {}",
                found(value),
                u128::MAX
            )
        }),
        Value::Number(n) => n.as_u64().map(u128::from).ok_or_else(|| {
            format!(
                "{} is not a u128: write a whole number from 0 to {} (as a string of digits \
                 past 64 bits)",
                found(value),
                u128::MAX
            )
        }),
        _ => Err(format!(
            "expected u128 (a string of decimal digits), found {}",
            found(value)
        )),
    }
}

/// An i128: a string of decimal digits with an optional `-`, or a JSON
/// number that fits.
pub(crate) fn i128(value: &Value) -> Result<i128, String> {
    let range = || format!("from {} to {}", i128::MIN, i128::MAX);
    match value {
        Value::String(s) => s.parse::<i128>().map_err(|_| {
            format!(
                "{} is not an i128: write a string of decimal digits {}",
                found(value),
                range()
            )
        }),
        Value::Number(n) => n
            .as_i64()
            .map(i128::from)
            .or_else(|| n.as_u64().map(i128::from))
            .ok_or_else(|| {
                format!(
                    "{} is not an i128: write a whole number {} (as a string of digits past 64 \
                     bits)",
                    found(value),
                    range()
                )
            }),
        _ => Err(format!(
            "expected i128 (a string of decimal digits), found {}",
            found(value)
        )),
    }
}

/// An f64: a JSON number, or `"NaN"`, `"Infinity"`, `"-Infinity"`.
pub(crate) fn f64(ty: &Type, value: &Value) -> Result<f64, String> {
    match value {
        Value::Number(n) => n.as_f64().ok_or_else(|| expected(ty, value)),
        Value::String(s) => match s.as_str() {
            "NaN" => Ok(f64::NAN),
            "Infinity" => Ok(f64::INFINITY),
            "-Infinity" => Ok(f64::NEG_INFINITY),
            _ => Err(format!(
                "expected {ty}, found {} (the only strings a float takes are \"NaN\", \
                 \"Infinity\" and \"-Infinity\")",
                found(value)
            )),
        },
        _ => Err(expected(ty, value)),
    }
}

/// An f32: as [`f64`], and a finite number must stay finite as an f32.
pub(crate) fn f32(value: &Value) -> Result<f32, String> {
    let x = f64(&Type::F32, value)?;
    let narrow = x as f32;
    if x.is_finite() && !narrow.is_finite() {
        return Err(format!(
            "{} is out of range for f32 (at most {} either side of 0)",
            found(value),
            f32::MAX
        ));
    }
    Ok(narrow)
}

/// A float as JSON: a number, or the name of a non-finite value.
pub(crate) fn float_value(x: f64) -> Value {
    if x.is_nan() {
        Value::from("NaN")
    } else if x.is_infinite() {
        Value::from(if x > 0.0 { "Infinity" } else { "-Infinity" })
    } else {
        Value::from(x)
    }
}

/// An f32 as JSON: its shortest decimal form (0.1, not the f64
/// 0.10000000149011612 it widens to), which reads back as the same f32.
pub(crate) fn f32_value(x: f32) -> Value {
    if !x.is_finite() {
        return float_value(f64::from(x));
    }
    float_value(x.to_string().parse::<f64>().unwrap_or(f64::from(x)))
}

/// A char: a string of exactly one character.
pub(crate) fn char(value: &Value) -> Result<char, String> {
    let Value::String(s) = value else {
        return Err(expected(&Type::Char, value));
    };
    let mut chars = s.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) => Ok(c),
        _ => Err(format!(
            "expected char (a string of one character), found {} ({} characters)",
            found(value),
            s.chars().count()
        )),
    }
}

/// Bytes: a base64 string (standard alphabet, padded), or an array of
/// numbers from 0 to 255.
pub(crate) fn bytes(value: &Value) -> Result<Vec<u8>, String> {
    match value {
        Value::String(s) => STANDARD.decode(s).map_err(|e| {
            format!(
                "{} is not base64 (standard alphabet, padded): {e}",
                found(value)
            )
        }),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                item.as_u64()
                    .and_then(|b| u8::try_from(b).ok())
                    .ok_or_else(|| {
                        format!(
                            "item {i} of the byte array is {}, not a number from 0 to 255",
                            found(item)
                        )
                    })
            })
            .collect(),
        _ => Err(format!(
            "expected bytes (a base64 string, or an array of numbers from 0 to 255), found {}",
            found(value)
        )),
    }
}

/// Bytes as JSON: a base64 string.
pub(crate) fn bytes_value(bytes: &[u8]) -> Value {
    Value::String(STANDARD.encode(bytes))
}

//! Python names for Rust names: keywords and the builtins the generated code
//! relies on get a trailing underscore (`from` -> `from_`). The wire carries
//! no names, so this never changes the bytes.

/// Python keywords and soft keywords.
const KEYWORDS: &[&str] = &[
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "case", "class",
    "continue", "def", "del", "elif", "else", "except", "finally", "for", "from", "global", "if",
    "import", "in", "is", "lambda", "match", "nonlocal", "not", "or", "pass", "raise", "return",
    "try", "type", "while", "with", "yield", "_",
];

/// Builtins that generated annotations and bodies name: a field or method
/// with one of these names would shadow it inside a class body.
const BUILTINS: &[&str] = &[
    "bool",
    "bytearray",
    "bytes",
    "dict",
    "float",
    "int",
    "isinstance",
    "len",
    "list",
    "object",
    "range",
    "str",
    "super",
    "tuple",
];

/// The runtime's aliases for the Rust widths of numbers (`i64 = int`),
/// which the stubs import and annotate with: a field or method `u8` would
/// shadow the alias inside a class body, and a type `u8` collide with it.
pub const WIDTHS: &[&str] = &[
    "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64", "i128", "isize", "f32",
    "f64",
];

/// The Python spelling of a field, argument or method name.
pub fn ident(rust: &str) -> String {
    let raw = rust.strip_prefix("r#").unwrap_or(rust);
    if KEYWORDS.contains(&raw) || BUILTINS.contains(&raw) || WIDTHS.contains(&raw) {
        format!("{raw}_")
    } else {
        raw.to_string()
    }
}

/// The Python spelling of a type (class) name.
pub fn type_name(rust: &str) -> String {
    ident(rust)
}

pub use crate::case::snake_case;

/// The name of field `index` of a tuple struct or variant of `count`
/// fields: `value` for a newtype, else `item0`, `item1`, ... (never `_0`,
/// which reads as private in Python).
pub fn tuple_field(index: usize, count: usize) -> String {
    if count == 1 {
        "value".to_string()
    } else {
        format!("item{index}")
    }
}

/// A Python string literal (double-quoted) for `s`.
pub fn string_literal(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_and_shadowing_builtins_get_an_underscore() {
        assert_eq!(ident("from"), "from_");
        assert_eq!(ident("r#type"), "type_");
        assert_eq!(ident("lambda"), "lambda_");
        assert_eq!(ident("int"), "int_");
        assert_eq!(ident("delete"), "delete");
        assert_eq!(ident("id"), "id");
    }

    #[test]
    fn cases() {
        assert_eq!(snake_case("KeyValueStore"), "key_value_store");
        assert_eq!(snake_case("Calculator"), "calculator");
        assert_eq!(snake_case("HTTPServer"), "http_server");
        assert_eq!(snake_case("V2Api"), "v2_api");
    }

    #[test]
    fn string_literals_escape() {
        assert_eq!(string_literal("a\"b\\c\n"), "\"a\\\"b\\\\c\\n\"");
    }
}

//! Python names for Rust names: keywords and the builtins the generated code
//! relies on get a trailing underscore (`from` -> `from_`), by the rule
//! shared with TypeScript in [`crate::naming`]. The wire carries no names,
//! so this never changes the bytes.

/// The runtime's aliases for the Rust widths of numbers (`i64 = int`),
/// which the stubs import and annotate with. [`crate::naming`] reserves
/// them as members (a field or method `u8` would shadow the alias inside a
/// class body); the module plan refuses a type named like one.
pub const WIDTHS: &[&str] = &[
    "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64", "i128", "isize", "f32",
    "f64",
];

/// The Python spelling of a field, argument or method name (the rule both
/// languages share, in [`crate::naming`]).
pub fn ident(rust: &str) -> String {
    crate::naming::ident(rust)
}

/// The Python spelling of a type (class) name.
pub fn type_name(rust: &str) -> String {
    crate::naming::type_name(rust)
}

pub use crate::case::snake_case;
pub use crate::naming::tuple_field;

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
    fn keywords_shadowing_builtins_and_widths_get_an_underscore() {
        assert_eq!(ident("from"), "from_");
        assert_eq!(ident("r#type"), "type_");
        assert_eq!(ident("lambda"), "lambda_");
        assert_eq!(ident("int"), "int_");
        assert_eq!(ident("delete"), "delete");
        assert_eq!(ident("id"), "id");
        assert_eq!(type_name("Record"), "Record_");
        for w in WIDTHS {
            assert_eq!(
                ident(w),
                format!("{w}_"),
                "the width alias {w} is not reserved"
            );
        }
    }

    #[test]
    fn cases_and_tuple_fields() {
        assert_eq!(snake_case("KeyValueStore"), "key_value_store");
        assert_eq!(snake_case("Calculator"), "calculator");
        assert_eq!(snake_case("HTTPServer"), "http_server");
        assert_eq!(snake_case("V2Api"), "v2_api");
        assert_eq!(tuple_field(0, 1), "value");
        assert_eq!(tuple_field(1, 2), "item1");
    }

    #[test]
    fn string_literals_escape() {
        assert_eq!(string_literal("a\"b\\c\n"), "\"a\\\"b\\\\c\\n\"");
    }
}

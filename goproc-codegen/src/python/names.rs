//! Python names for Rust names: keywords and the builtins the generated code
//! relies on get a trailing underscore (`from` -> `from_`), by the rule
//! shared with TypeScript in [`crate::naming`]. The wire carries no names,
//! so this never changes the bytes.

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

/// `echo_u8` -> `EchoU8`.
pub fn pascal_case(name: &str) -> String {
    let raw = name.strip_prefix("r#").unwrap_or(name);
    raw.split('_')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut cs = p.chars();
            match cs.next() {
                Some(first) => first.to_uppercase().chain(cs).collect::<String>(),
                None => String::new(),
            }
        })
        .collect()
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
        assert_eq!(type_name("Record"), "Record_");
    }

    #[test]
    fn cases() {
        assert_eq!(snake_case("KeyValueStore"), "key_value_store");
        assert_eq!(snake_case("Calculator"), "calculator");
        assert_eq!(snake_case("HTTPServer"), "http_server");
        assert_eq!(snake_case("V2Api"), "v2_api");
        assert_eq!(pascal_case("echo_u8"), "EchoU8");
        assert_eq!(pascal_case("divide"), "Divide");
    }

    #[test]
    fn string_literals_escape() {
        assert_eq!(string_literal("a\"b\\c\n"), "\"a\\\"b\\\\c\\n\"");
    }
}

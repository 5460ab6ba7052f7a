//! TypeScript spellings of Rust names, by the rule shared with Python in
//! [`crate::naming`]. The wire carries no names, so escaping never changes
//! the bytes.

/// A field or method name (the rule both languages share, in
/// [`crate::naming`]): `from` -> `from_`; `delete` stays, a member may be
/// called that.
pub fn ident(rust: &str) -> String {
    crate::naming::ident(rust)
}

/// An argument name, a binding in the generated function: TypeScript
/// keywords are escaped too (`delete` -> `delete_`).
pub fn binding(rust: &str) -> String {
    crate::naming::binding(rust)
}

/// A type name: keywords, the globals (`Record`, `Map`, `Promise`, ...) and
/// the runtime's names get an underscore.
pub fn type_name(rust: &str) -> String {
    crate::naming::type_name(rust)
}

/// A field of an enum's struct variant: `tag` holds the variant's name, so
/// a field called `tag` becomes `tag_`.
pub fn variant_field(rust: &str) -> String {
    let name = ident(rust);
    if name == "tag" {
        "tag_".to_string()
    } else {
        name
    }
}

pub use crate::case::upper_snake;

/// `fail_after` -> `FailAfter`, `temperature` -> `Temperature`.
pub fn upper_camel(name: &str) -> String {
    let bare = name.strip_prefix("r#").unwrap_or(name);
    let mut out = String::new();
    let mut upper = true;
    for c in bare.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// `KeyValueStore` -> `keyValueStore`.
pub fn lower_camel(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A string literal in TypeScript source.
pub fn string_literal(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{2028}' || c == '\u{2029}' => {
                out.push_str(&format!("\\u{{{:x}}}", c as u32))
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
    fn reserved_names_get_a_trailing_underscore() {
        assert_eq!(ident("delete"), "delete");
        assert_eq!(binding("delete"), "delete_");
        assert_eq!(ident("r#type"), "type_");
        assert_eq!(ident("class"), "class_");
        assert_eq!(ident("from"), "from_");
        assert_eq!(ident("ttl_seconds"), "ttl_seconds");
        assert_eq!(type_name("Map"), "Map_");
        assert_eq!(type_name("Record"), "Record_");
        assert_eq!(variant_field("tag"), "tag_");
    }

    #[test]
    fn case_conversions() {
        assert_eq!(upper_snake("KeyValueStore"), "KEY_VALUE_STORE");
        assert_eq!(upper_snake("Calculator"), "CALCULATOR");
        assert_eq!(upper_snake("HTTPServer"), "HTTP_SERVER");
        assert_eq!(lower_camel("KeyValueStore"), "keyValueStore");
    }

    #[test]
    fn string_literals_escape_quotes_and_controls() {
        assert_eq!(string_literal("a\"b\\c\n"), "\"a\\\"b\\\\c\\n\"");
    }
}

//! TypeScript spellings of Rust names. The wire carries no names, so
//! escaping never changes the bytes.

/// Words TypeScript reserves (in strict-mode ES modules) or gives a meaning
/// that would break the generated code.
const KEYWORDS: &[&str] = &[
    "any",
    "arguments",
    "as",
    "async",
    "await",
    "bigint",
    "boolean",
    "break",
    "case",
    "catch",
    "class",
    "const",
    "constructor",
    "continue",
    "debugger",
    "declare",
    "default",
    "delete",
    "do",
    "else",
    "enum",
    "eval",
    "export",
    "extends",
    "false",
    "finally",
    "for",
    "function",
    "if",
    "implements",
    "import",
    "in",
    "infer",
    "instanceof",
    "interface",
    "is",
    "keyof",
    "let",
    "never",
    "new",
    "null",
    "number",
    "object",
    "package",
    "private",
    "protected",
    "public",
    "readonly",
    "return",
    "static",
    "string",
    "super",
    "switch",
    "symbol",
    "this",
    "throw",
    "true",
    "try",
    "type",
    "typeof",
    "undefined",
    "unique",
    "unknown",
    "var",
    "void",
    "while",
    "with",
    "yield",
    // An object literal key `__proto__` sets the prototype instead of a field.
    "__proto__",
];

/// Global names the generated code uses; a user type must not shadow them.
const GLOBALS: &[&str] = &[
    "AbortSignal",
    "Array",
    "AsyncIterable",
    "AsyncIterableIterator",
    "BigInt",
    "Boolean",
    "Error",
    "Iterable",
    "Map",
    "Number",
    "Object",
    "Promise",
    "ReadonlyMap",
    "String",
    "Symbol",
    "Uint8Array",
];

/// Whether `name` is a TypeScript keyword.
pub fn is_keyword(name: &str) -> bool {
    KEYWORDS.contains(&name)
}

/// A Rust identifier (field, argument or method name) as a TypeScript one:
/// `r#type` becomes `type_`, `delete` becomes `delete_`.
pub fn ident(rust: &str) -> String {
    let bare = rust.strip_prefix("r#").unwrap_or(rust);
    if is_keyword(bare) {
        format!("{bare}_")
    } else {
        bare.to_string()
    }
}

/// A Rust type name as a TypeScript type name; names of globals the
/// generated code relies on (`Map`, `Promise`, ...) get an underscore too.
pub fn type_name(rust: &str) -> String {
    let bare = rust.strip_prefix("r#").unwrap_or(rust);
    if is_keyword(bare) || GLOBALS.contains(&bare) {
        format!("{bare}_")
    } else {
        bare.to_string()
    }
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
    fn keywords_get_a_trailing_underscore() {
        assert_eq!(ident("delete"), "delete_");
        assert_eq!(ident("r#type"), "type_");
        assert_eq!(ident("class"), "class_");
        assert_eq!(ident("from"), "from");
        assert_eq!(ident("ttl_seconds"), "ttl_seconds");
        assert_eq!(type_name("Map"), "Map_");
        assert_eq!(type_name("Record"), "Record");
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

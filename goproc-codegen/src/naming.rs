//! The names generated code gives to a contract's types, fields, methods,
//! arguments and modules: one rule for Python and TypeScript, so one
//! contract reads the same in both. The wire carries no names, so nothing
//! here changes a byte on the wire.
//!
//! The rule: a name taken from the contract keeps its Rust spelling (less a
//! `r#`) and gets a trailing `_` when it is reserved where it appears:
//!
//! - a field or method (a name callers see in both languages) when it is in
//!   [`RESERVED_MEMBERS`]: Python keywords and the builtins a class body
//!   names, and the few member names JavaScript gives a meaning. The list is
//!   the union over both languages, so `from` is `from_` in TypeScript too,
//!   while `delete` or `new`, fine as members in both, stay as they are;
//! - a TypeScript argument (a local name callers never see) when it is a
//!   member name above or in [`RESERVED_BINDINGS`], the TypeScript keywords;
//! - a type (a module-level name) when it is any of the above or in
//!   [`RESERVED_TYPE_NAMES`]: globals of either language and the names the
//!   runtimes export, so a type `Record` does not hide `Record<K, V>`.

/// Field and method names escaped in both languages.
pub const RESERVED_MEMBERS: &[&str] = &[
    // Python keywords and soft keywords: `x.from` is a syntax error.
    "False",
    "None",
    "True",
    "and",
    "as",
    "assert",
    "async",
    "await",
    "break",
    "case",
    "class",
    "continue",
    "def",
    "del",
    "elif",
    "else",
    "except",
    "finally",
    "for",
    "from",
    "global",
    "if",
    "import",
    "in",
    "is",
    "lambda",
    "match",
    "nonlocal",
    "not",
    "or",
    "pass",
    "raise",
    "return",
    "try",
    "type",
    "while",
    "with",
    "yield",
    "_",
    // Python builtins generated annotations and bodies name: a field `int`
    // would shadow `int` inside the class body.
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
    // JavaScript members with a meaning: an object literal key `__proto__`
    // sets the prototype, a class method `constructor` is the constructor.
    "__proto__",
    "constructor",
    // The number widths the Python stubs annotate with (`a: i64`, aliases
    // of `int` imported from its runtime): a field `u8` would shadow the
    // alias inside a class body.
    "u8",
    "u16",
    "u32",
    "u64",
    "u128",
    "usize",
    "i8",
    "i16",
    "i32",
    "i64",
    "i128",
    "isize",
    "f32",
    "f64",
];

/// TypeScript words that may not name an argument or a type (reserved in
/// strict-mode ES modules, or type keywords); as members they are fine.
pub const RESERVED_BINDINGS: &[&str] = &[
    "any",
    "arguments",
    "bigint",
    "boolean",
    "catch",
    "const",
    "debugger",
    "declare",
    "default",
    "delete",
    "do",
    "enum",
    "eval",
    "export",
    "extends",
    "false",
    "function",
    "implements",
    "infer",
    "instanceof",
    "interface",
    "keyof",
    "let",
    "never",
    "new",
    "null",
    "number",
    "package",
    "private",
    "protected",
    "public",
    "readonly",
    "static",
    "string",
    "switch",
    "symbol",
    "this",
    "throw",
    "true",
    "typeof",
    "undefined",
    "unique",
    "unknown",
    "var",
    "void",
];

/// Names no generated type may take, on top of [`RESERVED_WORDS`]: globals
/// of either language (a type `Record` would hide the global `Record<K, V>`
/// from every file that imports it) and the names each runtime exports to
/// plugin authors, who import from both the runtime and generated modules.
pub const RESERVED_TYPE_NAMES: &[&str] = &[
    // TypeScript and JavaScript globals.
    "AbortController",
    "AbortSignal",
    "Array",
    "ArrayBuffer",
    "AsyncGenerator",
    "AsyncIterable",
    "AsyncIterableIterator",
    "AsyncIterator",
    "Awaited",
    "BigInt",
    "Boolean",
    "Buffer",
    "DataView",
    "Date",
    "Error",
    "Exclude",
    "Extract",
    "Function",
    "Generator",
    "Infinity",
    "Intl",
    "Iterable",
    "IterableIterator",
    "Iterator",
    "JSON",
    "Map",
    "Math",
    "NaN",
    "NonNullable",
    "Number",
    "Object",
    "Omit",
    "Partial",
    "Pick",
    "Promise",
    "PromiseLike",
    "Proxy",
    "RangeError",
    "Readonly",
    "ReadonlyArray",
    "ReadonlyMap",
    "ReadonlySet",
    "Record",
    "Reflect",
    "RegExp",
    "Required",
    "ReturnType",
    "Set",
    "String",
    "Symbol",
    "SyntaxError",
    "TextDecoder",
    "TextEncoder",
    "TypeError",
    "Uint8Array",
    "WeakMap",
    "WeakRef",
    "WeakSet",
    // Python builtin classes.
    "BaseException",
    "Ellipsis",
    "Exception",
    "NotImplemented",
    "ValueError",
    // The TypeScript runtime's exported types and classes.
    "CallCancelled",
    "CallContext",
    "CallError",
    "CallTimeout",
    "Client",
    "ConnectionClosed",
    "ContractDef",
    "DecodeError",
    "EncodeError",
    "ErrorCode",
    "Event",
    "Events",
    "ProtocolError",
    "Reader",
    "RemoteError",
    "Result",
    "Service",
    "Subscription",
    "Writer",
    // The Python runtime's exported classes.
    "Contract",
    "DomainError",
    "Err",
    "ErrorValue",
    "Ok",
    "Some",
];

fn escaped(rust: &str, reserved: &[&[&str]]) -> String {
    let bare = rust.strip_prefix("r#").unwrap_or(rust);
    if reserved.iter().any(|list| list.contains(&bare)) {
        format!("{bare}_")
    } else {
        bare.to_string()
    }
}

/// A field or method name, the same in both languages: `from` -> `from_`,
/// `r#type` -> `type_`, `int` -> `int_`; `delete` and `ttl_seconds` stay.
/// Python also spells arguments this way (callers pass them by keyword).
pub fn ident(rust: &str) -> String {
    escaped(rust, &[RESERVED_MEMBERS])
}

/// A TypeScript argument or local name: [`ident`], and TypeScript keywords
/// too (`delete` -> `delete_`). Callers never see it.
pub fn binding(rust: &str) -> String {
    escaped(rust, &[RESERVED_MEMBERS, RESERVED_BINDINGS])
}

/// A type name: `Record` -> `Record_`, `Map` -> `Map_`, `string` ->
/// `string_`; `MathError` stays.
pub fn type_name(rust: &str) -> String {
    escaped(
        rust,
        &[RESERVED_MEMBERS, RESERVED_BINDINGS, RESERVED_TYPE_NAMES],
    )
}

/// The name of field `index` of a tuple struct or tuple variant with
/// `count` fields, where a language gives tuple fields names: `value` for
/// a newtype (one field), else `item0`, `item1`, ... (never `_0`, which
/// reads as private in Python).
pub fn tuple_field(index: usize, count: usize) -> String {
    if count == 1 {
        "value".to_string()
    } else {
        format!("item{index}")
    }
}

/// The module (file stem, without extension) generated for one Rust
/// source file that defines `contracts` (one or more): named after the
/// contract when the file defines exactly one, else after the file's stem,
/// in snake_case and escaped like [`ident`] (so Python can import it).
/// `src/lib.rs` holding `trait Calculator` gives `calculator`; `api.rs`
/// holding two contracts gives `api`.
pub fn module_name(contracts: &[&str], file_stem: &str) -> String {
    let base = match contracts {
        [only] => only.to_string(),
        _ => file_stem.to_string(),
    };
    // Only letters, digits and `_` make a Python module name.
    let mut name: String = crate::case::snake_case(&base)
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert_str(0, "contract_");
    }
    ident(&name)
}

/// [`module_name`] for the Rust file `file` defining the contracts named
/// `contracts` (as written, `r#` allowed): what both generators call.
pub fn file_module_name(
    file: &std::path::Path,
    contracts: impl IntoIterator<Item = String>,
) -> String {
    let stem = file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let names: Vec<String> = contracts.into_iter().collect();
    let names: Vec<&str> = names
        .iter()
        .map(|n| n.strip_prefix("r#").unwrap_or(n))
        .collect();
    module_name(&names, &stem)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_are_escaped_when_either_language_reserves_them() {
        assert_eq!(ident("from"), "from_");
        assert_eq!(ident("r#type"), "type_");
        assert_eq!(ident("class"), "class_");
        assert_eq!(ident("int"), "int_");
        assert_eq!(ident("constructor"), "constructor_");
        // Members both languages allow keep their name.
        assert_eq!(ident("delete"), "delete");
        assert_eq!(ident("new"), "new");
        assert_eq!(ident("ttl_seconds"), "ttl_seconds");
    }

    #[test]
    fn typescript_bindings_also_escape_typescript_keywords() {
        assert_eq!(binding("delete"), "delete_");
        assert_eq!(binding("string"), "string_");
        assert_eq!(binding("from"), "from_");
        assert_eq!(binding("key"), "key");
    }

    #[test]
    fn globals_and_runtime_names_are_escaped_only_as_types() {
        for global in [
            "Record", "Map", "Error", "Promise", "Object", "Result", "Ok",
        ] {
            assert_eq!(type_name(global), format!("{global}_"));
            assert_eq!(ident(global), global);
        }
        assert_eq!(type_name("r#match"), "match_");
        assert_eq!(type_name("MathError"), "MathError");
        // A field called `map` shadows nothing.
        assert_eq!(ident("map"), "map");
    }

    #[test]
    fn lists_hold_each_name_once() {
        let mut all: Vec<&str> = RESERVED_MEMBERS
            .iter()
            .chain(RESERVED_BINDINGS)
            .chain(RESERVED_TYPE_NAMES)
            .copied()
            .collect();
        let len = all.len();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), len, "a name is listed twice");
    }

    #[test]
    fn tuple_fields() {
        assert_eq!(tuple_field(0, 1), "value");
        assert_eq!(tuple_field(0, 2), "item0");
        assert_eq!(tuple_field(1, 2), "item1");
    }

    #[test]
    fn modules_are_named_after_a_lone_contract_else_the_file() {
        assert_eq!(module_name(&["Calculator"], "lib"), "calculator");
        assert_eq!(
            module_name(&["KeyValueStore"], "contract"),
            "key_value_store"
        );
        assert_eq!(module_name(&["A", "B"], "api"), "api");
        assert_eq!(module_name(&["A", "B"], "my-api"), "my_api");
        assert_eq!(module_name(&["Import"], "lib"), "import_");
        assert_eq!(module_name(&["A", "B"], "2fa"), "contract_2fa");
    }
}

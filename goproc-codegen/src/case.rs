//! Case conversions both generators need.

/// `KeyValueStore` -> `key_value_store`; an acronym stays one word
/// (`HTTPServer` -> `http_server`), and a leading `r#` is dropped.
pub fn snake_case(name: &str) -> String {
    let raw = name.strip_prefix("r#").unwrap_or(name);
    let chars: Vec<char> = raw.chars().collect();
    let mut out = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_uppercase() {
            let prev_lower =
                i > 0 && (chars[i - 1].is_lowercase() || chars[i - 1].is_ascii_digit());
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            let prev_upper = i > 0 && chars[i - 1].is_uppercase();
            if i > 0 && (prev_lower || (prev_upper && next_lower)) && !out.ends_with('_') {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// `KeyValueStore` -> `KEY_VALUE_STORE`.
pub fn upper_snake(name: &str) -> String {
    snake_case(name).to_uppercase()
}

//! Byte offsets (what the TOML parser gives) as the line:column a person
//! looks for in an editor.

/// The 1-based line and column (in characters) of byte `offset` in `text`.
/// An offset past the end, or inside a character, is clamped to a
/// character boundary before it.
pub(super) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::line_column;

    #[test]
    fn counts_lines_and_characters_from_one() {
        let text = "a = 1\nname = \"é x\"\n";
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 6), (2, 1));
        // 'x' comes after the two-byte 'é' and a space: character 11.
        let x = text.find('x').unwrap();
        assert_eq!(line_column(text, x), (2, 11));
        assert_eq!(line_column(text, 10_000), (3, 1));
    }
}

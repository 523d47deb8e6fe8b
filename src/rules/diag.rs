//! Diagnostics an analyst can act on: `file:line:col: message`, the line,
//! and a caret under the fault.

/// Renders a message about bytes `[start, end)` of `text` (a file's whole text).
/// Offsets may fall inside a character: a syntax error's span is one byte
/// wide, and a span inside an escaped TOML string is shifted by the escapes.
pub fn render(path: &str, text: &str, start: usize, end: usize, message: &str) -> String {
    let start = floor_boundary(text, start.min(text.len()));
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
    let line_no = text[..start].matches('\n').count() + 1;
    let col = text[line_start..start].chars().count() + 1;
    let line = &text[line_start..line_end];
    let end = ceil_boundary(text, end.clamp(start, line_end));
    let width = text[start..end].chars().count().max(1);
    let gutter = " ".repeat(line_no.to_string().len());
    format!(
        "{path}:{line_no}:{col}: {message}\n{gutter} |\n{line_no} | {line}\n{gutter} | {}{}",
        " ".repeat(col - 1),
        "^".repeat(width)
    )
}

/// The char boundary at or before `i` (`i <= text.len()`).
fn floor_boundary(text: &str, mut i: usize) -> usize {
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The char boundary at or after `i` (`i <= text.len()`).
fn ceil_boundary(text: &str, mut i: usize) -> usize {
    while !text.is_char_boundary(i) {
        i += 1;
    }
    i
}

/// Byte offset of a TOML string value's content, given the offset of its
/// token (the opening quote): skips `'`, `"`, `'''` or `"""` and the newline
/// right after a multi-line opener.
pub fn string_content_offset(text: &str, token_start: usize) -> usize {
    let rest = text.get(token_start..).unwrap_or("");
    let quote = if rest.starts_with("'''") || rest.starts_with("\"\"\"") {
        3
    } else {
        1
    };
    let after = token_start + quote;
    let tail = text.get(after..).unwrap_or("");
    if quote == 3 {
        if tail.starts_with("\r\n") {
            return after + 2;
        }
        if tail.starts_with('\n') {
            return after + 1;
        }
    }
    after
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caret_sits_under_the_fault() {
        let text = "id = \"x\"\ncondition = 'amount >= \"a\"'\n";
        let start = text.find("\"a\"").unwrap();
        let out = render("r.toml", text, start, start + 3, "cannot compare");
        assert_eq!(
            out,
            "r.toml:2:24: cannot compare\n  |\n2 | condition = 'amount >= \"a\"'\n  |                        ^^^"
        );
    }

    #[test]
    fn offsets_inside_a_character_do_not_panic() {
        // A one-byte syntax-error span on a four-byte character.
        let text = "condition = '🌀'\n";
        let start = text.find('🌀').unwrap();
        let out = render("r.toml", text, start, start + 1, "syntax error");
        let caret = format!("| {}^", " ".repeat(13));
        assert!(out.ends_with(&caret), "{out}");
        let out = render("r.toml", text, start + 1, start + 2, "syntax error");
        assert!(out.starts_with("r.toml:1:14: syntax error"), "{out}");
    }

    #[test]
    fn content_offset_skips_quotes() {
        let text = "c = '''\nabc'''";
        assert_eq!(&text[string_content_offset(text, 4)..][..3], "abc");
        assert_eq!(string_content_offset("c = 'x'", 4), 5);
    }
}

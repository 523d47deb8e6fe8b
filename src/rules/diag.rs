//! Diagnostics an analyst can act on: `file:line:col: message`, the line,
//! and a caret under the fault.

/// Renders a message about bytes `[start, end)` of `text` (a file's whole text).
pub fn render(path: &str, text: &str, start: usize, end: usize, message: &str) -> String {
    let start = start.min(text.len());
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
    let line_no = text[..start].matches('\n').count() + 1;
    let col = text[line_start..start].chars().count() + 1;
    let line = &text[line_start..line_end];
    let width = text[start..end.clamp(start, line_end)]
        .chars()
        .count()
        .max(1);
    let gutter = " ".repeat(line_no.to_string().len());
    format!(
        "{path}:{line_no}:{col}: {message}\n{gutter} |\n{line_no} | {line}\n{gutter} | {}{}",
        " ".repeat(col - 1),
        "^".repeat(width)
    )
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
    fn content_offset_skips_quotes() {
        let text = "c = '''\nabc'''";
        assert_eq!(&text[string_content_offset(text, 4)..][..3], "abc");
        assert_eq!(string_content_offset("c = 'x'", 4), 5);
    }
}

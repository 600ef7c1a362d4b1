//! Escaping for text that came from logs.
//!
//! Account names, reasons and evidence strings are attacker-controlled: an attacker can try to log
//! in as `<script>…</script>` precisely so that it lands in an admin's report. Everything that is
//! not a literal of this crate goes through [`html`] before it reaches HTML or SVG. Control
//! characters and Unicode bidirectional overrides (which can make `moc.elpmaxe@nimda` read as
//! `admin@example.com`) are replaced by U+FFFD so what the reader sees is what was logged.

/// `s` escaped for HTML text and attribute values (double- or single-quoted).
pub fn html(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    html_into(&mut out, s);
    out
}

/// Appends `s`, escaped, to `out`.
pub fn html_into(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if is_deceptive(c) => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
}

/// Characters that must not be shown as they are: C0/C1 controls (other than tab and newline)
/// and the bidi embedding, override and isolate controls.
fn is_deceptive(c: char) -> bool {
    (c.is_control() && c != '\t' && c != '\n')
        || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}')
}

/// A free-text CSV cell made safe for spreadsheets: a leading `=`, `+`, `-`, `@`, tab or CR makes
/// Excel and LibreOffice evaluate the cell as a formula, so such cells get a leading `'`.
/// (Quoting of commas, quotes and newlines is the CSV writer's job.)
pub fn csv_text(s: &str) -> String {
    match s.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{s}"),
        _ => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_is_escaped() {
        assert_eq!(
            html(r#"<script>alert("x")</script>&'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;"
        );
    }

    #[test]
    fn bidi_and_controls_are_replaced() {
        assert_eq!(html("a\u{202E}moc\u{0}b"), "a\u{FFFD}moc\u{FFFD}b");
        assert_eq!(html("tab\tnew\nline"), "tab\tnew\nline");
        assert_eq!(html("plain üñí"), "plain üñí");
    }

    #[test]
    fn formula_cells_are_defused() {
        assert_eq!(csv_text("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(csv_text("-1"), "'-1");
        assert_eq!(csv_text("spray"), "spray");
        assert_eq!(csv_text(""), "");
    }
}

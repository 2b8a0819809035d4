//! The one place where text meets a terminal. The human report is rendered
//! into a buffer and written out through [`Terminal::finish`], which escapes
//! every character that could drive a terminal — C0 and C1 controls (ESC
//! starting a CSI or OSC sequence, `\r` overwriting the line, BEL, DEL…) and
//! the Unicode bidirectional overrides and isolates that reorder what is
//! shown — wherever it came from: file names, messages, user names, secret
//! previews, suppression reasons, commit authors and summaries, ref names.
//! Call sites do not escape; they cannot forget to.
//!
//! The report's own colours and line breaks survive because
//! [`Terminal::paint`] and [`term_line!`](crate::term_line) do not write ESC
//! or newline: they write markers that include a random per-run nonce, which
//! `finish` turns back into ESC and newline after escaping everything else.
//! Text from the input cannot forge a marker without knowing the nonce.

use anstyle::Style;
use std::borrow::Cow;
use std::hash::{BuildHasher, Hasher};
use std::io::{self, Write};

/// Characters that must never reach a terminal as they are: controls
/// (newline included: a file name with one would forge a report line), and
/// bidi controls (Trojan Source, CVE-2021-42574) and other invisible
/// direction marks.
pub fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}'
                | '\u{200E}'
                | '\u{200F}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2066}'..='\u{2069}'
        )
}

/// `text` with every unsafe character written as a visible escape
/// (`\u{1b}`, `\r`, `\n`, `\u{202e}`).
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_unsafe(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Styles and escapes the human report.
pub struct Terminal {
    color: bool,
    /// Stand for ESC and for the report's own line breaks until `finish`.
    esc_marker: String,
    newline_marker: String,
}

/// `writeln!` for the human report: `term_line!(terminal, out, "…", args)`.
/// The line break is the report's own; a newline inside the text is input
/// and gets escaped.
#[macro_export]
macro_rules! term_line {
    ($terminal:expr, $out:expr) => {
        $out.write_all($terminal.newline().as_bytes())
    };
    ($terminal:expr, $out:expr, $($arg:tt)*) => {
        write!($out, $($arg)*).and_then(|_| $out.write_all($terminal.newline().as_bytes()))
    };
}

impl Terminal {
    pub fn new(color: bool) -> Terminal {
        // A random nonce per run (std's hasher keys are random per process):
        // the marker never appears in the output, so output stays
        // deterministic.
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(0x6e706d7377656570);
        let nonce = h.finish();
        Terminal {
            color,
            esc_marker: format!("\u{E000}{nonce:016x}\u{E001}"),
            newline_marker: format!("\u{E000}{nonce:016x}\u{E002}"),
        }
    }

    /// The report's own line break (see [`term_line!`](crate::term_line)).
    pub fn newline(&self) -> &str {
        &self.newline_marker
    }

    /// `text` in `style` when colouring; `text` as it is otherwise. The
    /// text is escaped later, with everything else.
    pub fn paint(&self, style: Style, text: &str) -> String {
        if !self.color {
            return text.to_string();
        }
        let open = style.render().to_string().replace('\x1b', &self.esc_marker);
        let close = style
            .render_reset()
            .to_string()
            .replace('\x1b', &self.esc_marker);
        format!("{open}{text}{close}")
    }

    /// Write the rendered report: unsafe characters escaped, then the
    /// report's own markers turned into ESC and newline.
    pub fn finish(&self, rendered: &[u8], out: &mut dyn Write) -> io::Result<()> {
        let text = String::from_utf8_lossy(rendered);
        let escaped = escape(&text);
        let mut done = escaped.replace(&self.newline_marker, "\n");
        if self.color {
            done = done.replace(&self.esc_marker, "\x1b");
        }
        out.write_all(done.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_controls_and_bidi_but_keeps_own_colours() {
        let t = Terminal::new(true);
        let hostile = "a\u{1b}[2J\u{1b}]0;title\u{7}\rb\u{202e}c\u{2066}";
        let mut rendered = t.paint(Style::new().bold(), hostile).into_bytes();
        term_line!(t, rendered).unwrap();
        term_line!(t, rendered, "next\u{9b}31m {}", "a\nb").unwrap();
        let mut out = Vec::new();
        t.finish(&rendered, &mut out).unwrap();
        let out = String::from_utf8(out).unwrap();
        assert!(out.starts_with("\u{1b}[1m"), "{out:?}");
        assert_eq!(out.matches('\u{1b}').count(), 2, "{out:?}");
        for bad in ['\r', '\u{7}', '\u{202e}', '\u{2066}', '\u{9b}'] {
            assert!(!out.contains(bad), "{out:?}");
        }
        assert!(out.contains("a\\u{1b}[2J\\u{1b}]0;title\\u{7}\\rb\\u{202e}c"));
        assert!(out.ends_with("m\nnext\\u{9b}31m a\\nb\n"), "{out:?}");
    }

    #[test]
    fn a_forged_marker_is_not_turned_into_esc() {
        let t = Terminal::new(true);
        let forged = "\u{E000}0000000000000000\u{E001}[8m hidden";
        let mut out = Vec::new();
        t.finish(forged.as_bytes(), &mut out).unwrap();
        assert!(!out.contains(&0x1b));
    }
}

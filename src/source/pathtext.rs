//! Paths as text, reversibly: a file name that is not UTF-8 keeps its
//! identity. Lossy conversion turned `a\xff.txt` and `a\xfe.txt` into the same
//! `a\u{FFFD}.txt`, and findings in two files collapsed into one (same path,
//! same fingerprint).
//!
//! Valid UTF-8 is kept as is; each byte that is not part of valid UTF-8
//! becomes `\xHH`, and a backslash becomes `\\` so that the escape cannot be
//! forged by a name that spells it. Worktree paths have no backslashes left
//! (they are normalised to `/`), so only git paths ever show `\\`.

use std::fmt::Write as _;

/// The text form of a path's bytes (see the module documentation).
pub fn path_text(bytes: &[u8]) -> String {
    if let Ok(s) = std::str::from_utf8(bytes)
        && !s.contains('\\')
    {
        return s.to_string();
    }
    let mut out = String::with_capacity(bytes.len() + 8);
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c == '\\' {
                out.push_str("\\\\");
            } else {
                out.push(c);
            }
        }
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02X}");
        }
    }
    out
}

/// [`path_text`] of an OS path.
pub fn os_path_text(p: &std::path::Path) -> String {
    path_text(p.as_os_str().as_encoded_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distinct_bytes_stay_distinct() {
        assert_eq!(path_text(b"a/b.txt"), "a/b.txt");
        assert_eq!(path_text("é/ü".as_bytes()), "é/ü");
        assert_eq!(path_text(b"a\xff.txt"), "a\\xFF.txt");
        assert_eq!(path_text(b"a\xfe.txt"), "a\\xFE.txt");
        assert_eq!(path_text(b"a\\xFF.txt"), "a\\\\xFF.txt");
        assert_ne!(path_text(b"a\xff.txt"), path_text(b"a\\xFF.txt"));
        assert_eq!(path_text(b"\xc3"), "\\xC3");
    }
}

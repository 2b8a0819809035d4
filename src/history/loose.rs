//! Loose objects are checked before libgit2 ever reads them.
//!
//! libgit2 (1.9) never returns from inflating a loose object whose zlib
//! stream is cut short: its loose reader keeps asking zlib for output after
//! the input has run out. One truncated file in `.git/objects` would hang a
//! sweep. Packed objects are read by other code that detects this, so only
//! loose files are inflated here first (with the system zlib libgit2 itself
//! uses); damaged ones are reported once and never handed to libgit2.

use flate2::read::ZlibDecoder;
use git2::Oid;
use std::collections::HashSet;
use std::io::Read;
use std::path::Path;

/// Object ids that must not be read through libgit2.
#[derive(Debug, Default)]
pub struct Damaged {
    ids: HashSet<Oid>,
}

impl Damaged {
    pub fn contains(&self, id: Oid) -> bool {
        self.ids.contains(&id)
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// An error for a read that was refused.
    pub fn refuse(&self, id: Oid) -> Result<(), String> {
        if self.contains(id) {
            Err(format!("object {id} is a damaged loose object"))
        } else {
            Ok(())
        }
    }
}

/// Inflate every loose object under `objects_dir`; return the damaged ones
/// and one warning for each.
pub fn check(objects_dir: &Path) -> (Damaged, Vec<String>) {
    let mut damaged = Damaged::default();
    let mut warnings = Vec::new();
    let Ok(fanout) = std::fs::read_dir(objects_dir) else {
        return (damaged, warnings);
    };
    let mut buf = Vec::new();
    for dir in fanout.flatten() {
        let prefix = dir.file_name().to_string_lossy().into_owned();
        if prefix.len() != 2 || !prefix.bytes().all(|b| b.is_ascii_hexdigit()) {
            continue; // pack/, info/ and anything else
        }
        let Ok(files) = std::fs::read_dir(dir.path()) else {
            continue;
        };
        for file in files.flatten() {
            let rest = file.file_name().to_string_lossy().into_owned();
            let Ok(id) = Oid::from_str(&format!("{prefix}{rest}")) else {
                continue; // temporary files and the like
            };
            if rest.len() != 38 {
                continue;
            }
            if let Err(problem) = verify(&file.path(), &mut buf) {
                warnings.push(format!(
                    "object {id}: damaged loose object ({problem}); not swept"
                ));
                damaged.ids.insert(id);
            }
        }
    }
    (damaged, warnings)
}

/// A loose object is `zlib("<type> <size>\0<content>")`: inflate it whole
/// and check that the stream ends where the header says.
fn verify(path: &Path, buf: &mut Vec<u8>) -> Result<(), String> {
    let compressed = std::fs::read(path).map_err(|e| format!("cannot read it: {e}"))?;
    buf.clear();
    ZlibDecoder::new(compressed.as_slice())
        .read_to_end(buf)
        .map_err(|e| format!("cannot inflate it: {e}"))?;
    let nul = memchr::memchr(0, &buf[..buf.len().min(64)]).ok_or("no header")?;
    let header = std::str::from_utf8(&buf[..nul]).map_err(|_| "unreadable header")?;
    let (kind, size) = header.split_once(' ').ok_or("malformed header")?;
    if !matches!(kind, "blob" | "tree" | "commit" | "tag") {
        return Err(format!("unknown object type {kind:?}"));
    }
    let size: usize = size.parse().map_err(|_| "malformed size in header")?;
    let actual = buf.len() - nul - 1;
    if actual != size {
        return Err(format!(
            "{actual} bytes of content where the header says {size}"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::Compression;
    use flate2::write::ZlibEncoder;
    use std::io::Write;

    fn deflate(data: &[u8]) -> Vec<u8> {
        let mut e = ZlibEncoder::new(Vec::new(), Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn accepts_whole_objects_and_rejects_cut_or_lying_ones() {
        let dir = tempfile::tempdir().unwrap();
        let good = deflate(b"blob 5\0hello");
        let path = dir.path().join("x");
        let mut buf = Vec::new();
        std::fs::write(&path, &good).unwrap();
        assert!(verify(&path, &mut buf).is_ok());
        std::fs::write(&path, &good[..good.len() - 6]).unwrap();
        assert!(verify(&path, &mut buf).is_err());
        std::fs::write(&path, deflate(b"blob 9\0hello")).unwrap();
        assert!(
            verify(&path, &mut buf)
                .unwrap_err()
                .contains("header says 9")
        );
        std::fs::write(&path, b"not zlib at all").unwrap();
        assert!(verify(&path, &mut buf).is_err());
    }

    #[test]
    fn finds_damaged_files_in_the_fanout() {
        let dir = tempfile::tempdir().unwrap();
        let fan = dir.path().join("ab");
        std::fs::create_dir(&fan).unwrap();
        let good = "cd".repeat(19);
        let bad = "ef".repeat(19);
        std::fs::write(fan.join(&good), deflate(b"blob 1\0x")).unwrap();
        std::fs::write(fan.join(&bad), &deflate(b"blob 1\0x")[..4]).unwrap();
        std::fs::create_dir(dir.path().join("pack")).unwrap();
        let (damaged, warnings) = check(dir.path());
        assert!(damaged.contains(Oid::from_str(&format!("ab{bad}")).unwrap()));
        assert!(!damaged.contains(Oid::from_str(&format!("ab{good}")).unwrap()));
        assert_eq!(warnings.len(), 1);
    }
}

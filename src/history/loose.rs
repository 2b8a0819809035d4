//! Loose objects are checked before libgit2 ever reads them.
//!
//! libgit2 (1.9) never returns from inflating a loose object whose zlib
//! stream is cut short: its loose reader keeps asking zlib for output after
//! the input has run out. One truncated file in `.git/objects` would hang a
//! sweep. Packed objects are read by other code that detects this, so only
//! loose files are inflated here first (with the system zlib libgit2 itself
//! uses); damaged ones are reported once and never handed to libgit2.

use super::object_format::ObjectFormat;
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

/// Inflate every loose object under `objects_dir` (a repository in
/// `format`: files are named by the id's hex digits after the first two);
/// return the damaged ones and one warning for each.
pub fn check(objects_dir: &Path, max_size: u64, format: ObjectFormat) -> (Damaged, Vec<String>) {
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
            let Some(id) = format.id_from_hex(&format!("{prefix}{rest}")) else {
                continue; // temporary files and the like
            };
            match verify(&file.path(), max_size, &mut buf) {
                Ok(()) => {}
                Err(Problem::Damaged(problem)) => {
                    warnings.push(format!(
                        "object {id}: damaged loose object ({problem}); not swept"
                    ));
                    damaged.ids.insert(id);
                }
                // Refused like a damaged object: never inflated by libgit2.
                Err(Problem::TooLarge(size)) => {
                    warnings.push(format!(
                        "object {id}: skipped: {size} bytes is over --max-file-size {max_size}"
                    ));
                    damaged.ids.insert(id);
                }
            }
        }
    }
    (damaged, warnings)
}

/// The ids of the loose objects under `objects_dir` (from their file
/// names, nothing is read).
pub fn ids(objects_dir: &Path, format: ObjectFormat) -> Vec<Oid> {
    let mut out = Vec::new();
    let Ok(fanout) = std::fs::read_dir(objects_dir) else {
        return out;
    };
    for dir in fanout.flatten() {
        let prefix = dir.file_name().to_string_lossy().into_owned();
        if prefix.len() != 2 {
            continue;
        }
        let Ok(files) = std::fs::read_dir(dir.path()) else {
            continue;
        };
        for file in files.flatten() {
            let rest = file.file_name().to_string_lossy().into_owned();
            out.extend(format.id_from_hex(&format!("{prefix}{rest}")));
        }
    }
    out
}

enum Problem {
    Damaged(String),
    TooLarge(u64),
}

impl From<&str> for Problem {
    fn from(s: &str) -> Problem {
        Problem::Damaged(s.to_string())
    }
}

impl From<String> for Problem {
    fn from(s: String) -> Problem {
        Problem::Damaged(s)
    }
}

/// A loose object is `zlib("<type> <size>\0<content>")`: inflate it in
/// chunks, in constant memory, and check that the stream ends where the
/// header says. An object whose header is over `max_size` is not inflated
/// further (a 1 MB zlib bomb used to take 1.1 GB here).
fn verify(path: &Path, max_size: u64, buf: &mut Vec<u8>) -> Result<(), Problem> {
    const CHUNK: usize = 64 * 1024;
    let meta = std::fs::symlink_metadata(path).map_err(|e| format!("cannot read it: {e}"))?;
    if !meta.is_file() {
        return Err(format!(
            "{}, not a regular file",
            crate::source::fsread::describe(&meta)
        )
        .into());
    }
    // Compressed input is never larger than its content by much; bound the
    // read of the file itself too.
    let file = std::fs::File::open(path).map_err(|e| format!("cannot read it: {e}"))?;
    let mut zlib = ZlibDecoder::new(std::io::BufReader::new(file));
    buf.clear();
    buf.resize(CHUNK, 0);
    // The header fits in the first 64 bytes of output.
    let mut filled = 0;
    let nul = loop {
        let n = zlib
            .read(&mut buf[filled..CHUNK])
            .map_err(|e| format!("cannot inflate it: {e}"))?;
        filled += n;
        if let Some(nul) = memchr::memchr(0, &buf[..filled.min(64)]) {
            break nul;
        }
        if n == 0 || filled >= 64 {
            return Err("no header".into());
        }
    };
    let header = std::str::from_utf8(&buf[..nul]).map_err(|_| "unreadable header")?;
    let (kind, size) = header.split_once(' ').ok_or("malformed header")?;
    if !matches!(kind, "blob" | "tree" | "commit" | "tag") {
        return Err(format!("unknown object type {kind:?}").into());
    }
    let size: u64 = size.parse().map_err(|_| "malformed size in header")?;
    if size > max_size {
        return Err(Problem::TooLarge(size));
    }
    let mut actual = (filled - nul - 1) as u64;
    loop {
        if actual > size {
            break;
        }
        let n = zlib
            .read(&mut buf[..CHUNK])
            .map_err(|e| format!("cannot inflate it: {e}"))?;
        if n == 0 {
            break;
        }
        actual += n as u64;
    }
    if actual != size {
        return Err(format!("{actual} bytes of content where the header says {size}").into());
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
        assert!(verify(&path, u64::MAX, &mut buf).is_ok());
        std::fs::write(&path, &good[..good.len() - 6]).unwrap();
        assert!(verify(&path, u64::MAX, &mut buf).is_err());
        std::fs::write(&path, deflate(b"blob 9\0hello")).unwrap();
        assert!(
            verify(&path, u64::MAX, &mut buf)
                .is_err_and(|e| matches!(e, Problem::Damaged(m) if m.contains("header says 9")))
        );
        std::fs::write(&path, b"not zlib at all").unwrap();
        assert!(verify(&path, u64::MAX, &mut buf).is_err());
    }

    #[test]
    fn oversized_objects_are_refused_from_their_header_in_constant_memory() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x");
        // 8 MiB of zeros deflate to about 8 KB: a zlib bomb in miniature.
        let mut bomb = b"blob 8388608\0".to_vec();
        bomb.resize(bomb.len() + (8 << 20), 0);
        std::fs::write(&path, deflate(&bomb)).unwrap();
        drop(bomb);
        let mut buf = Vec::new();
        assert!(matches!(
            verify(&path, 1 << 20, &mut buf),
            Err(Problem::TooLarge(8_388_608))
        ));
        // Under the limit it is inflated in chunks: the buffer stays small.
        assert!(verify(&path, u64::MAX, &mut buf).is_ok());
        assert!(buf.capacity() <= 64 * 1024, "{}", buf.capacity());
    }

    #[test]
    fn finds_damaged_files_in_the_fanout() {
        for format in [ObjectFormat::Sha1, ObjectFormat::Sha256] {
            let dir = tempfile::tempdir().unwrap();
            let fan = dir.path().join("ab");
            std::fs::create_dir(&fan).unwrap();
            let digits = format.hex_len() / 2 - 1;
            let good = "cd".repeat(digits);
            let bad = "ef".repeat(digits);
            // Named for the other format: not an object of this repository.
            let other = "01".repeat(if digits == 19 { 31 } else { 19 });
            std::fs::write(fan.join(&good), deflate(b"blob 1\0x")).unwrap();
            std::fs::write(fan.join(&bad), &deflate(b"blob 1\0x")[..4]).unwrap();
            std::fs::write(fan.join(&other), &deflate(b"blob 1\0x")[..4]).unwrap();
            std::fs::create_dir(dir.path().join("pack")).unwrap();
            let (damaged, warnings) = check(dir.path(), u64::MAX, format);
            let id = |rest: &str| format.id_from_hex(&format!("ab{rest}")).unwrap();
            assert!(damaged.contains(id(&bad)), "{format:?}");
            assert!(!damaged.contains(id(&good)), "{format:?}");
            assert_eq!(warnings.len(), 1, "{format:?}: {warnings:?}");
            assert!(warnings[0].contains(&format!("ab{bad}")), "{warnings:?}");
        }
    }
}

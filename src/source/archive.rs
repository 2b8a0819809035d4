//! Archives as sources: the members of a `.tgz`/`.tar.gz` (an `npm pack`
//! tarball committed by mistake), a `.tar`, a `.zip` (a zipped
//! `node_modules`), or the content of a plain `.gz` file, read from memory
//! with hard limits so that a decompression bomb is a warning, never an
//! out-of-memory. Archives are recognised by their magic bytes, not their
//! names.

use flate2::read::MultiGzDecoder;
use std::io::{self, Cursor, Read};

/// Largest member read, expanded (bigger members are skipped, with a
/// warning).
pub const MAX_MEMBER_BYTES: u64 = 32 << 20;
/// Most bytes expanded from one archive, all members together.
pub const MAX_TOTAL_BYTES: u64 = 256 << 20;
/// Most members read from one archive.
pub const MAX_ENTRIES: usize = 100_000;
/// Most an archive may expand relative to its compressed size, once past
/// [`RATIO_FLOOR`] bytes: real tarballs of text expand 3 to 20 times;
/// bombs expand thousands of times.
pub const MAX_RATIO: u64 = 200;
/// Expansion below this size is never called a bomb, whatever the ratio.
pub const RATIO_FLOOR: u64 = 8 << 20;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Gzip,
    Tar,
    Zip,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Gzip => "gzip",
            Format::Tar => "tar",
            Format::Zip => "zip",
        }
    }
}

/// What the bytes are, from their magic numbers.
pub fn format_of(bytes: &[u8]) -> Option<Format> {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        Some(Format::Gzip)
    } else if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06") {
        Some(Format::Zip)
    } else if is_tar(bytes) {
        Some(Format::Tar)
    } else {
        None
    }
}

/// A POSIX (`ustar`) or GNU tar header at the start.
fn is_tar(bytes: &[u8]) -> bool {
    bytes.len() >= 512 && bytes[257..262] == *b"ustar"
}

/// One member: its name inside the archive and its bytes.
pub struct Member<'a> {
    pub name: &'a str,
    pub bytes: &'a [u8],
}

/// Read every member of the archive in `bytes` and hand it to `visit`.
/// Problems (a limit reached, a damaged entry) are returned as warnings
/// (sentences without the archive's path); what could be read is visited.
pub fn for_each_member(bytes: &[u8], name: &str, mut visit: impl FnMut(Member)) -> Vec<String> {
    let mut warnings = Vec::new();
    let mut budget = Budget::new(bytes.len() as u64);
    let result = match format_of(bytes) {
        Some(Format::Zip) => zip_members(bytes, &mut budget, &mut visit, &mut warnings),
        Some(Format::Tar) => {
            tar_members(Cursor::new(bytes), &mut budget, &mut visit, &mut warnings)
        }
        Some(Format::Gzip) => gzip(bytes, name, &mut budget, &mut visit, &mut warnings),
        None => Ok(()),
    };
    if let Err(e) = result {
        warnings.push(e);
    }
    warnings
}

/// What may still be expanded from one archive.
struct Budget {
    compressed: u64,
    expanded: u64,
    entries: usize,
}

impl Budget {
    fn new(compressed: u64) -> Budget {
        Budget {
            compressed,
            expanded: 0,
            entries: 0,
        }
    }

    /// The most bytes the whole archive may expand to.
    fn ceiling(&self) -> u64 {
        MAX_TOTAL_BYTES.min(RATIO_FLOOR.max(self.compressed.saturating_mul(MAX_RATIO)))
    }

    fn exceeded(&self) -> String {
        if self.ceiling() < MAX_TOTAL_BYTES {
            format!(
                "expands more than {MAX_RATIO} times its compressed size ({} bytes): a decompression bomb? stopped after {} bytes",
                self.compressed, self.expanded
            )
        } else {
            format!(
                "expands to more than {} MiB; the rest of the archive was not scanned",
                MAX_TOTAL_BYTES >> 20
            )
        }
    }

    /// Count one more entry; `Err` when there are too many.
    fn entry(&mut self) -> Result<(), String> {
        self.entries += 1;
        if self.entries > MAX_ENTRIES {
            return Err(format!(
                "more than {MAX_ENTRIES} entries; the rest of the archive was not scanned"
            ));
        }
        Ok(())
    }

    /// Read one member of at most `declared` bytes (a header can lie, so
    /// the read itself is bounded too).
    fn read(
        &mut self,
        reader: &mut impl Read,
        name: &str,
        declared: u64,
    ) -> Result<Option<Vec<u8>>, String> {
        if declared > MAX_MEMBER_BYTES {
            return Ok(None);
        }
        let left = self.ceiling().saturating_sub(self.expanded);
        let limit = declared.min(MAX_MEMBER_BYTES).min(left);
        let mut out = Vec::with_capacity(limit.min(1 << 20) as usize);
        reader
            .take(limit + 1)
            .read_to_end(&mut out)
            .map_err(|e| format!("member {name}: {e}"))?;
        self.expanded += out.len() as u64;
        if out.len() as u64 > limit {
            return Err(self.exceeded());
        }
        Ok(Some(out))
    }
}

/// A member's name as a path: backslash separators (Windows-made archives) as
/// `/`, and bytes that are not UTF-8 as `\xHH` like any other path (see
/// [`crate::source::pathtext`]), so two such members stay two paths.
fn member_name(raw: &[u8]) -> String {
    let slashed: Vec<u8> = raw
        .iter()
        .map(|&b| if b == b'\\' { b'/' } else { b })
        .collect();
    crate::source::pathtext::path_text(&slashed)
}

fn too_big(name: &str) -> String {
    format!(
        "member {name} is larger than {} MiB; not scanned",
        MAX_MEMBER_BYTES >> 20
    )
}

fn zip_members(
    bytes: &[u8],
    budget: &mut Budget,
    visit: &mut impl FnMut(Member),
    warnings: &mut Vec<String>,
) -> Result<(), String> {
    // The zip reader loads the whole central directory first: refuse one
    // that declares more entries than are ever read, before it allocates.
    if let Some(n) = declared_zip_entries(bytes)
        && n > MAX_ENTRIES as u64
    {
        return Err(format!(
            "declares {n} entries, more than {MAX_ENTRIES}; not scanned"
        ));
    }
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| format!("not a readable zip archive: {e}"))?;
    for i in 0..archive.len() {
        budget.entry()?;
        let mut file = match archive.by_index(i) {
            Ok(f) => f,
            Err(e) => {
                warnings.push(format!("zip entry {i}: {e}; not scanned"));
                continue;
            }
        };
        if !file.is_file() {
            continue;
        }
        let name = member_name(file.name_raw());
        let declared = file.size();
        match budget.read(&mut file, &name, declared)? {
            Some(data) => visit(Member {
                name: &name,
                bytes: &data,
            }),
            None => warnings.push(too_big(&name)),
        }
    }
    Ok(())
}

/// The entry count of a zip's end-of-central-directory record (the zip64
/// one when the classic field is saturated), if it can be found.
fn declared_zip_entries(bytes: &[u8]) -> Option<u64> {
    const EOCD: &[u8] = b"PK\x05\x06";
    let tail_start = bytes.len().saturating_sub(22 + 0xFFFF);
    let at = tail_start + memchr::memmem::rfind(&bytes[tail_start..], EOCD)?;
    let record = bytes.get(at..at + 22)?;
    let classic = u64::from(u16::from_le_bytes([record[10], record[11]]));
    if classic != 0xFFFF {
        return Some(classic);
    }
    // Zip64: a locator 20 bytes before the record points at the zip64 record.
    let locator = bytes.get(at.checked_sub(20)?..at)?;
    if &locator[..4] != b"PK\x06\x07" {
        return Some(classic);
    }
    let offset = u64::from_le_bytes(locator[8..16].try_into().ok()?);
    let record = bytes.get(usize::try_from(offset).ok()?..)?.get(..56)?;
    if &record[..4] != b"PK\x06\x06" {
        return Some(classic);
    }
    Some(u64::from_le_bytes(record[32..40].try_into().ok()?))
}

fn tar_members(
    reader: impl Read,
    budget: &mut Budget,
    visit: &mut impl FnMut(Member),
    warnings: &mut Vec<String>,
) -> Result<(), String> {
    let mut archive = tar::Archive::new(reader);
    let entries = archive
        .entries()
        .map_err(|e| format!("not a readable tar archive: {e}"))?;
    for entry in entries {
        budget.entry()?;
        let mut entry = match entry {
            Ok(e) => e,
            Err(e) => {
                // A damaged header: tar cannot find the next one reliably.
                return Err(format!("damaged tar entry: {e}; the rest was not scanned"));
            }
        };
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let name = member_name(&entry.path_bytes());
        let declared = entry.size();
        match budget.read(&mut entry, &name, declared)? {
            Some(data) => visit(Member {
                name: &name,
                bytes: &data,
            }),
            None => warnings.push(too_big(&name)),
        }
    }
    Ok(())
}

/// A counting reader over the decompressed stream: fails once the budget's
/// ceiling is passed, so a gzip bomb stops after a bounded read.
struct Bounded<'b, R> {
    inner: R,
    budget: &'b mut Budget,
}

impl<R: Read> Read for Bounded<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.budget.expanded += n as u64;
        if self.budget.expanded > self.budget.ceiling() {
            return Err(io::Error::other(self.budget.exceeded()));
        }
        Ok(n)
    }
}

/// A gzip stream: a tarball (`.tgz`, `npm pack`) is read as tar while it is
/// decompressed; anything else is one member named like the file without
/// `.gz`.
fn gzip(
    bytes: &[u8],
    name: &str,
    budget: &mut Budget,
    visit: &mut impl FnMut(Member),
    warnings: &mut Vec<String>,
) -> Result<(), String> {
    let mut head = vec![0u8; 512];
    let mut decoder = MultiGzDecoder::new(bytes);
    let got =
        read_up_to(&mut decoder, &mut head).map_err(|e| format!("not readable gzip data: {e}"))?;
    head.truncate(got);
    budget.expanded += got as u64;
    if is_tar(&head) {
        // Member reads are counted by `Budget::read`; the stream itself is
        // bounded too, so headers and padding count against the ceiling.
        let mut stream_budget = Budget::new(budget.compressed);
        stream_budget.expanded = budget.expanded;
        let bounded = Bounded {
            inner: Cursor::new(head).chain(decoder),
            budget: &mut stream_budget,
        };
        let result = tar_members(bounded, budget, visit, warnings);
        return result.map_err(|e| {
            if stream_budget.expanded > stream_budget.ceiling() {
                stream_budget.exceeded()
            } else {
                e
            }
        });
    }
    let inner_name = name
        .rsplit('/')
        .next()
        .unwrap_or(name)
        .strip_suffix(".gz")
        .unwrap_or("(decompressed)")
        .to_string();
    let mut rest = Cursor::new(head).chain(decoder);
    if let Some(data) = budget.read(&mut rest, &inner_name, MAX_MEMBER_BYTES)? {
        visit(Member {
            name: &inner_name,
            bytes: &data,
        });
    } else {
        warnings.push(too_big(&inner_name));
    }
    Ok(())
}

fn read_up_to(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::Compression;
    use flate2::write::GzEncoder;
    use std::io::Write;

    fn tar_of(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (name, data) in files {
            let mut header = tar::Header::new_gnu();
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            builder.append_data(&mut header, name, *data).unwrap();
        }
        builder.into_inner().unwrap()
    }

    fn gz(bytes: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Compression::default());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    fn names(bytes: &[u8]) -> (Vec<String>, Vec<String>) {
        let mut names = Vec::new();
        let w = for_each_member(bytes, "a.tgz", |m| names.push(m.name.to_string()));
        (names, w)
    }

    /// Two members whose names differ only in bytes that are not UTF-8
    /// stay two paths (they were both `pkg/\u{FFFD}.npmrc`).
    #[test]
    #[cfg(unix)]
    fn member_names_that_are_not_utf8_keep_their_identity() {
        use std::os::unix::ffi::OsStrExt;
        let mut builder = tar::Builder::new(Vec::new());
        for name in [&b"pkg/\xff.npmrc"[..], b"pkg/\xfe.npmrc"] {
            let mut header = tar::Header::new_gnu();
            header.set_path(std::ffi::OsStr::from_bytes(name)).unwrap();
            header.set_size(2);
            header.set_mode(0o644);
            header.set_cksum();
            builder.append(&header, &b"x\n"[..]).unwrap();
        }
        let tar = builder.into_inner().unwrap();
        assert_eq!(names(&tar).0, ["pkg/\\xFF.npmrc", "pkg/\\xFE.npmrc"]);
        assert_eq!(member_name(b"a\\b"), "a/b");
    }

    #[test]
    fn tarballs_zips_and_gzip_files() {
        let tar = tar_of(&[("package/.npmrc", b"x=1\n"), ("package/index.js", b"1\n")]);
        assert_eq!(format_of(&tar), Some(Format::Tar));
        assert_eq!(names(&tar).0, ["package/.npmrc", "package/index.js"]);
        let tgz = gz(&tar);
        assert_eq!(format_of(&tgz), Some(Format::Gzip));
        assert_eq!(
            names(&tgz),
            (
                vec!["package/.npmrc".into(), "package/index.js".into()],
                vec![]
            )
        );

        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        zip.start_file("node_modules/x/.npmrc", opts).unwrap();
        zip.write_all(b"x=1\n").unwrap();
        let zip = zip.finish().unwrap().into_inner();
        assert_eq!(names(&zip).0, ["node_modules/x/.npmrc"]);

        let mut seen = Vec::new();
        for_each_member(&gz(b"hello\n"), "logs/debug.log.gz", |m| {
            seen.push((m.name.to_string(), m.bytes.to_vec()))
        });
        assert_eq!(seen, [("debug.log".to_string(), b"hello\n".to_vec())]);
    }

    #[test]
    fn a_gzip_bomb_is_a_warning() {
        // 64 MiB of zeros gzip to ~64 KiB: a ratio of about 1000.
        let mut e = GzEncoder::new(Vec::new(), Compression::best());
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..64 {
            e.write_all(&zeros).unwrap();
        }
        let bomb = e.finish().unwrap();
        let (names, warnings) = names(&bomb);
        assert!(names.is_empty());
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("decompression bomb"), "{warnings:?}");
    }

    #[test]
    fn zip_entry_counts_are_read_before_the_central_directory() {
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        zip.start_file("a", zip::write::SimpleFileOptions::default())
            .unwrap();
        let mut bytes = zip.finish().unwrap().into_inner();
        assert_eq!(declared_zip_entries(&bytes), Some(1));
        // Patch the record to claim 65534 entries.
        let at = memchr::memmem::rfind(&bytes, b"PK\x05\x06").unwrap();
        bytes[at + 10..at + 12].copy_from_slice(&[0xFE, 0xFF]);
        assert_eq!(declared_zip_entries(&bytes), Some(65534));
        // Below the limit the reader gets it, and the lie is a warning.
        let (names, warnings) = names(&bytes);
        assert!(names.is_empty());
        assert_eq!(warnings.len(), 1, "{warnings:?}");
    }

    #[test]
    fn damaged_archives_are_warnings() {
        let tgz = gz(&tar_of(&[("package/a", b"x")]));
        let (_, w) = names(&tgz[..tgz.len() / 2]);
        assert!(!w.is_empty());
        let (_, w) = names(b"PK\x03\x04garbage");
        assert_eq!(w.len(), 1, "{w:?}");
    }
}

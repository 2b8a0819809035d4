//! Reading files from a tree the scanned repository controls: only regular
//! files are ever read, never through a symbolic link unless asked, and never
//! more than a size limit.
//!
//! The type check is made on the open file descriptor (`fstat`), not on the
//! path beforehand, so a file swapped for a FIFO or a link between the check
//! and the read is still caught. The open itself cannot block: FIFOs are
//! opened with `O_NONBLOCK` (and then refused), device files with
//! `O_NOCTTY`.

use std::fs::{File, Metadata};
use std::io::Read;
use std::path::Path;

/// Why a path was not read.
#[derive(Debug)]
pub enum ReadError {
    /// Over the limit: the size seen.
    TooLarge(u64),
    /// Not a regular file: what it is (`a FIFO`, `a symbolic link`…).
    NotRegular(&'static str),
    Io(std::io::Error),
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::TooLarge(n) => write!(f, "{n} bytes is over the size limit"),
            ReadError::NotRegular(what) => write!(f, "{what}, not a regular file; not read"),
            ReadError::Io(e) => write!(f, "{e}"),
        }
    }
}

/// What a file type is, in words, for warnings.
pub fn describe(meta: &Metadata) -> &'static str {
    let t = meta.file_type();
    if t.is_file() {
        return "a regular file";
    }
    if t.is_dir() {
        return "a directory";
    }
    if t.is_symlink() {
        return "a symbolic link";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a FIFO";
        }
        if t.is_char_device() {
            return "a character device";
        }
        if t.is_block_device() {
            return "a block device";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    "a special file"
}

/// Open `path` for reading if, and only if, it is a regular file: a
/// symbolic link is refused unless `follow`, and whatever it leads to must
/// be a regular file too.
pub fn open_regular(path: &Path, follow: bool) -> Result<(File, Metadata), ReadError> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        let mut flags = libc::O_NONBLOCK | libc::O_NOCTTY;
        if !follow {
            flags |= libc::O_NOFOLLOW;
        }
        options.custom_flags(flags);
    }
    let file = match options.open(path) {
        Ok(f) => f,
        // O_NOFOLLOW on a link fails with ELOOP: say what it is.
        Err(e) => {
            return Err(match std::fs::symlink_metadata(path) {
                Ok(m) if m.file_type().is_symlink() && !follow => {
                    ReadError::NotRegular("a symbolic link")
                }
                _ => ReadError::Io(e),
            });
        }
    };
    let meta = file.metadata().map_err(ReadError::Io)?;
    if !meta.is_file() {
        return Err(ReadError::NotRegular(describe(&meta)));
    }
    #[cfg(not(unix))]
    if !follow && std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(ReadError::NotRegular("a symbolic link"));
    }
    Ok((file, meta))
}

/// Read a regular file into `buf` (cleared first), at most `max` bytes.
pub fn read_regular(
    path: &Path,
    follow: bool,
    max: u64,
    buf: &mut Vec<u8>,
) -> Result<usize, ReadError> {
    let (file, meta) = open_regular(path, follow)?;
    let len = meta.len();
    if len > max {
        return Err(ReadError::TooLarge(len));
    }
    buf.clear();
    buf.reserve(len as usize);
    // `take` guards against files that grow while being read.
    file.take(max + 1).read_to_end(buf).map_err(ReadError::Io)?;
    if buf.len() as u64 > max {
        return Err(ReadError::TooLarge(buf.len() as u64));
    }
    Ok(buf.len())
}

/// Ignore files larger than this are not applied (real ones are a few KB).
pub const MAX_IGNORE_FILE: u64 = 1024 * 1024;

/// Is the ignore file at `path` unsafe for the walker (which opens and reads
/// ignore files itself, following links, without a limit)? `None` when it is
/// absent or a small regular file; otherwise what is wrong with it.
pub fn unsafe_ignore_file(path: &Path) -> Option<String> {
    let meta = std::fs::symlink_metadata(path).ok()?;
    if !meta.is_file() {
        return Some(format!("is {}", describe(&meta)));
    }
    (meta.len() > MAX_IGNORE_FILE).then(|| {
        format!(
            "is {} bytes, over the {MAX_IGNORE_FILE}-byte limit for ignore files",
            meta.len()
        )
    })
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn only_regular_files_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        std::fs::write(&file, b"hello").unwrap();
        let link = dir.path().join("l");
        std::os::unix::fs::symlink(&file, &link).unwrap();
        let zero = dir.path().join("z");
        std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
        let fifo = dir.path().join("p");
        assert!(
            std::process::Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .unwrap()
                .success()
        );
        let mut buf = Vec::new();
        assert_eq!(read_regular(&file, false, 10, &mut buf).unwrap(), 5);
        assert!(matches!(
            read_regular(&link, false, 10, &mut buf),
            Err(ReadError::NotRegular("a symbolic link"))
        ));
        assert_eq!(read_regular(&link, true, 10, &mut buf).unwrap(), 5);
        assert!(matches!(
            read_regular(&zero, true, 10, &mut buf),
            Err(ReadError::NotRegular("a character device"))
        ));
        // Would block forever without O_NONBLOCK (no writer).
        assert!(matches!(
            read_regular(&fifo, true, 10, &mut buf),
            Err(ReadError::NotRegular("a FIFO"))
        ));
        assert!(matches!(
            read_regular(&file, false, 4, &mut buf),
            Err(ReadError::TooLarge(5))
        ));
        assert_eq!(unsafe_ignore_file(&file), None);
        assert_eq!(unsafe_ignore_file(&dir.path().join("absent")), None);
        assert_eq!(unsafe_ignore_file(&fifo).as_deref(), Some("is a FIFO"));
        assert_eq!(
            unsafe_ignore_file(&zero).as_deref(),
            Some("is a symbolic link")
        );
    }
}

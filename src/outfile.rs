//! The one way npmsweep creates output files (`-o`, `baseline -o`,
//! `--purge-plan` and its README): never through a symbolic link, never into
//! an existing file's inode, and readable by the owner only whenever the
//! content can hold a secret.
//!
//! The bytes go to a new temporary file next to the target, created with
//! `O_CREAT | O_EXCL` (which never follows a symlink) and the final mode, then renamed over the
//! target: a symlink or hard link planted at the target's path is replaced,
//! not written through, and a reader never sees a half-written file. A
//! target that is a symbolic link is refused (the user may not have meant to
//! replace it), except one that leads to a terminal, pipe or device such as
//! `/dev/stdout` or `/dev/null`, which is written to as it is.

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Who may read the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Mode 0600: the content holds secrets (the purge plan, a report with
    /// `--show-secrets`).
    OwnerOnly,
    /// Mode 0666 less the umask: redacted reports, baselines, instructions.
    Default,
    /// The mode of the file being replaced (`fix --apply` edits a script
    /// without losing its execute bit); 0666 less the umask for a new file.
    Keep,
}

/// Write `bytes` to `path` (see the module documentation).
pub fn write(path: &Path, bytes: &[u8], access: Access) -> Result<(), String> {
    write_inner(path, bytes, access).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn write_inner(path: &Path, bytes: &[u8], access: Access) -> io::Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => {
            let target = std::fs::metadata(path);
            let stream = target.as_ref().is_ok_and(|m| {
                let t = m.file_type();
                t.is_char_device() || t.is_fifo() || t.is_socket()
            });
            if !stream {
                return Err(io::Error::other(
                    "it is a symbolic link; refusing to write through it (remove the link or choose another path)",
                ));
            }
            return write_stream(path, bytes);
        }
        Ok(meta) if meta.is_dir() => return Err(io::Error::other("it is a directory")),
        Ok(meta) if !meta.is_file() => return write_stream(path, bytes),
        _ => {}
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::other("not a file name"))?;
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let kept = match access {
        Access::Keep => std::fs::metadata(path)
            .ok()
            .map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o7777),
        _ => None,
    };
    let mode = match access {
        Access::OwnerOnly => 0o600,
        Access::Default | Access::Keep => kept.unwrap_or(0o666),
    };
    let (tmp, mut file) = loop {
        let mut tmp_name = std::ffi::OsString::from(".");
        tmp_name.push(name);
        tmp_name.push(format!(
            ".npmsweep-{}-{}.tmp",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let tmp = dir.join(tmp_name);
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)
        {
            Ok(f) => break (tmp, f),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    };
    let kept_mode =
        kept.map(|m| file.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(m)));
    let result = kept_mode
        .unwrap_or(Ok(()))
        .and_then(|_| file.write_all(bytes))
        .and_then(|_| file.sync_all())
        .and_then(|_| std::fs::rename(&tmp, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// A terminal, pipe or device (`-o /dev/stdout`): written, never created.
fn write_stream(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut f = OpenOptions::new().write(true).open(path)?;
    f.write_all(bytes)?;
    f.flush()
}

/// `text` quoted for a POSIX shell when it needs quoting.
pub fn shell_quote(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_@%+=:,./-".contains(&b));
    if plain {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

/// A URL without its user information: `https://user:token@host/x` →
/// `https://host/x`. Credentials copied from a remote never go into a file.
/// The second value says whether anything was removed.
pub fn url_without_credentials(url: &str) -> (String, bool) {
    let Some(scheme_end) = url.find("://") else {
        return (url.to_string(), false);
    };
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => (
            format!("{}{}", &url[..scheme_end + 3], &rest[at + 1..]),
            true,
        ),
        None => (url.to_string(), false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn symlinks_are_refused_and_hard_links_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "keep").unwrap();
        std::os::unix::fs::symlink(&victim, dir.path().join("link")).unwrap();
        let err = write(&dir.path().join("link"), b"x", Access::OwnerOnly).unwrap_err();
        assert!(err.contains("symbolic link"), "{err}");
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");
        std::fs::hard_link(&victim, dir.path().join("hard")).unwrap();
        write(&dir.path().join("hard"), b"new", Access::OwnerOnly).unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");
        let mode = std::fs::metadata(dir.path().join("hard"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        // No temporary file left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 3);
        // A device behind a link is written to, not replaced.
        std::os::unix::fs::symlink("/dev/null", dir.path().join("null")).unwrap();
        write(&dir.path().join("null"), b"x", Access::Default).unwrap();
    }

    #[test]
    fn quoting_and_url_credentials() {
        assert_eq!(shell_quote("/tmp/plan.txt"), "/tmp/plan.txt");
        assert_eq!(shell_quote("a b'c;$(x)"), "'a b'\\''c;$(x)'");
        assert_eq!(shell_quote(""), "''");
        assert_eq!(
            url_without_credentials("https://bob:s3cret@example.com/a@b.git"),
            ("https://example.com/a@b.git".to_string(), true)
        );
        assert_eq!(
            url_without_credentials("git@github.com:o/r.git"),
            ("git@github.com:o/r.git".to_string(), false)
        );
    }
}

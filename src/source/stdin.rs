//! Standard input as one item (`scan -`): what a pipeline hands npmsweep
//! (`git show HEAD:.npmrc | npmsweep scan - --stdin-path .npmrc`). The name
//! decides which detectors run, as a file's path does.

use super::SourceStats;
use crate::detect::Item;
use crate::finding::Origin;
use std::io::Read;

/// The name findings get when `--stdin-path` is not given.
pub const DEFAULT_NAME: &str = "<stdin>";

/// Read `input` (at most `max_size` bytes) and hand it to `visit` as one
/// item named `name`. Larger input is skipped with a warning, like a file.
pub fn read<F>(
    mut input: impl Read,
    name: &str,
    max_size: u64,
    mut visit: F,
) -> Result<SourceStats, String>
where
    F: FnMut(&Item),
{
    let mut bytes = Vec::new();
    input
        .by_ref()
        .take(max_size.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read standard input: {e}"))?;
    let mut stats = SourceStats::default();
    if bytes.len() as u64 > max_size {
        stats.skipped = 1;
        stats.warnings.push(format!(
            "{name}: skipped: standard input is over --max-file-size {max_size}"
        ));
        return Ok(stats);
    }
    stats.items = 1;
    stats.bytes = bytes.len() as u64;
    visit(&Item {
        path: name,
        bytes: &bytes,
        origin: Origin::Stdin,
        tree: None,
    });
    Ok(stats)
}

/// Check a `--stdin-path` value: a relative path with forward slashes, as
/// the walker reports paths.
pub fn check_name(name: &str) -> Result<String, String> {
    let trimmed = name.trim_start_matches("./");
    if trimmed.is_empty()
        || trimmed.starts_with('/')
        || trimmed.contains('\\')
        || trimmed.chars().any(char::is_control)
        || trimmed.split('/').any(|part| part == "..")
    {
        return Err(format!(
            "--stdin-path {name:?}: give a relative path with forward slashes, such as .npmrc or .github/workflows/release.yml"
        ));
    }
    Ok(trimmed.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_item_with_its_name_and_a_size_limit() {
        let mut seen = Vec::new();
        let stats = read(&b"abc"[..], ".npmrc", 10, |item| {
            seen.push((
                item.path.to_string(),
                item.bytes.to_vec(),
                item.origin.clone(),
            ));
        })
        .unwrap();
        assert_eq!(seen, [(".npmrc".into(), b"abc".to_vec(), Origin::Stdin)]);
        assert_eq!((stats.items, stats.bytes, stats.skipped), (1, 3, 0));
        let stats = read(&b"abcdef"[..], "x", 5, |_| panic!("over the limit")).unwrap();
        assert_eq!((stats.items, stats.skipped), (0, 1));
        assert!(stats.warnings[0].contains("over --max-file-size 5"));
    }

    #[test]
    fn names_are_relative_paths() {
        assert_eq!(check_name("./.npmrc").unwrap(), ".npmrc");
        assert_eq!(
            check_name(".github/workflows/a.yml").unwrap(),
            ".github/workflows/a.yml"
        );
        for bad in ["", "/etc/npmrc", "a\\b", "../x", "a\nb"] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
    }
}

//! Sources: where the bytes come from. Each source hands [`crate::detect::Item`]s
//! to a visitor and reports what it could not read; none of them detects.

pub mod archive;
pub mod history;
pub mod staged;
pub mod worktree;

/// What a source did, for the summary line and SARIF notifications.
#[derive(Clone, Debug, Default)]
pub struct SourceStats {
    /// Files (or blobs) scanned.
    pub items: u64,
    /// Bytes scanned.
    pub bytes: u64,
    /// Files or objects that could not be scanned.
    pub skipped: u64,
    /// One sentence per problem, naming the file or object. Sorted.
    pub warnings: Vec<String>,
    /// Facts about the scan worth telling (e.g. "history is truncated").
    pub notes: Vec<String>,
}

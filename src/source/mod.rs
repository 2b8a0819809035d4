//! Sources: where the bytes come from. Each source hands [`crate::detect::Item`]s
//! to a visitor and reports what it could not read; none of them detects.

pub mod archive;
pub mod fsread;
pub mod history;
pub mod pathtext;
pub mod ref_files;
pub mod repository;
pub mod staged;
pub mod stdin;
pub mod tree;
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

impl SourceStats {
    /// Make warnings and notes ready to print: credential-shaped text copied
    /// from the input (a parser quoting a line, a ref name) redacted like a
    /// secret (git object ids excepted), then sorted and deduplicated. Every command calls this once
    /// on the stats it reports.
    pub fn settle(&mut self) {
        for text in self.warnings.iter_mut().chain(self.notes.iter_mut()) {
            if let std::borrow::Cow::Owned(clean) = crate::redact::scrub_keeping_object_ids(text) {
                *text = clean;
            }
        }
        self.warnings.sort();
        self.warnings.dedup();
    }
}

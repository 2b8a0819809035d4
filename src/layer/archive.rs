//! Archive layer: every member of an archive item is scanned like a file
//! of its own path (`archive.tgz!package/.npmrc`, so `package/.npmrc` is
//! parsed as an `.npmrc`), through the same per-file dispatch as a file on
//! disk or a blob. Reading and its limits live in [`crate::source::archive`].

use crate::detect::{DetectOptions, Item, Sink};
use crate::source::archive::{self, format_of};

/// Archives inside archives are opened this many levels deep.
pub const MAX_NESTING: usize = 3;

/// If `item` is an archive, scan its members into `sink` and return true.
pub fn expand(item: &Item, opts: &DetectOptions, sink: &mut Sink) -> bool {
    let Some(format) = format_of(item.bytes) else {
        return false;
    };
    if opts.layer_depth >= MAX_NESTING {
        sink.warn(
            item.path,
            format!(
                "{} archive nested more than {MAX_NESTING} levels deep; not opened",
                format.name()
            ),
        );
        return true;
    }
    let deeper = DetectOptions {
        layer_depth: opts.layer_depth + 1,
        ..opts.clone()
    };
    let warnings = archive::for_each_member(item.bytes, item.path, |member| {
        let path = format!("{}!{}", item.path, member.name);
        let inner = Item {
            path: &path,
            bytes: member.bytes,
            origin: item.origin.clone(),
            tree: None,
        };
        let detected = crate::scan::detect_item(&inner, &deeper);
        for mut finding in detected.findings {
            // The outermost archive is the file on disk or the blob: where
            // the SARIF location points; the rest is the member.
            if let Some(member) = finding
                .path
                .strip_prefix(item.path)
                .and_then(|p| p.strip_prefix('!'))
            {
                finding.details.insert("archive".into(), item.path.into());
                finding
                    .details
                    .insert("archive_member".into(), member.into());
            }
            sink.findings.push(finding);
        }
        sink.warnings.extend(detected.warnings);
    });
    for w in warnings {
        sink.warn(item.path, format!("{} archive: {w}", format.name()));
    }
    // An uncompressed archive (`.tar`, a stored zip member) holds its
    // members' bytes as they are, so the token matcher on the archive found
    // each member's token too, at a meaningless line of the archive: the
    // member's finding is the one to keep. A token only in the archive's
    // own bytes (a member *named* after one) stays reported.
    let in_members: std::collections::HashSet<&str> = sink
        .findings
        .iter()
        .filter_map(|f| f.secret.as_ref().map(crate::finding::Secret::expose))
        .collect();
    if !in_members.is_empty() {
        sink.hits.retain(|h| {
            h.secret
                .as_ref()
                .is_none_or(|s| !in_members.contains(s.expose()))
        });
    }
    true
}

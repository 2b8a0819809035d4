//! The sweep's progress bar on standard error: blobs done out of the total,
//! bytes read and the read rate. Hidden unless standard error is a terminal
//! (and not `--quiet`), so logs and pipes never see it.

use crate::report::human::human_bytes;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

pub struct Progress {
    bar: ProgressBar,
    bytes: AtomicU64,
    start: Instant,
}

/// Refresh the byte count every this many blobs: formatting it per blob
/// would cost more than matching most blobs.
const MESSAGE_EVERY: u64 = 512;

impl Progress {
    /// A bar whose total grows as planning finds blobs.
    pub fn new(visible: bool) -> Progress {
        let bar = if visible {
            ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr())
        } else {
            ProgressBar::hidden()
        };
        if let Ok(style) = ProgressStyle::with_template(
            "{spinner} sweeping history [{bar:30}] {pos}/{len} blobs, {msg} [{elapsed}]",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message("0 B");
        Progress {
            bar,
            bytes: AtomicU64::new(0),
            start: Instant::now(),
        }
    }

    /// `n` more blobs to read.
    pub fn planned(&self, n: u64) {
        self.bar.inc_length(n);
    }

    /// One blob done (`bytes` of it read).
    pub fn advance(&self, bytes: u64) {
        let total = self.bytes.fetch_add(bytes, Ordering::Relaxed) + bytes;
        self.bar.inc(1);
        if self.bar.position().is_multiple_of(MESSAGE_EVERY) {
            let secs = self.start.elapsed().as_secs_f64().max(0.001);
            self.bar.set_message(format!(
                "{} ({}/s)",
                human_bytes(total),
                human_bytes((total as f64 / secs) as u64)
            ));
        }
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

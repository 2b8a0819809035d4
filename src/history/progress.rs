//! The sweep's progress bar on standard error: blobs done out of the total,
//! bytes read and the read rate. Hidden unless standard error is a terminal
//! (and not `--quiet`), so logs and pipes never see it.

use crate::report::human::human_bytes;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

pub struct Progress {
    bar: ProgressBar,
    bytes: Arc<AtomicU64>,
}

impl Progress {
    /// A bar whose total grows as planning finds blobs.
    pub fn new(visible: bool) -> Progress {
        Progress::to(if visible {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        })
    }

    fn to(target: ProgressDrawTarget) -> Progress {
        let bar = ProgressBar::with_draw_target(Some(0), target);
        let bytes = Arc::new(AtomicU64::new(0));
        // The byte count is formatted when the bar is drawn (a few times a
        // second), not per blob: formatting per blob would cost more than
        // matching most blobs, and updating it only every N blobs left it at
        // "0 B" for the first hundreds of them.
        let shown = Arc::clone(&bytes);
        let read = move |state: &ProgressState, w: &mut dyn std::fmt::Write| {
            let total = shown.load(Ordering::Relaxed);
            let secs = state.elapsed().as_secs_f64().max(0.001);
            let _ = write!(
                w,
                "{} ({}/s)",
                human_bytes(total),
                human_bytes((total as f64 / secs) as u64)
            );
        };
        if let Ok(style) = ProgressStyle::with_template(
            "{spinner} sweeping history [{bar:30}] {pos}/{len} blobs, {read} [{elapsed}]",
        ) {
            bar.set_style(style.with_key("read", read).progress_chars("=> "));
        }
        Progress { bar, bytes }
    }

    /// `n` more blobs to read.
    pub fn planned(&self, n: u64) {
        self.bar.inc_length(n);
    }

    /// One blob done (`bytes` of it read).
    pub fn advance(&self, bytes: u64) {
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
        self.bar.inc(1);
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// A terminal that records what the bar draws.
    #[derive(Debug, Default, Clone)]
    struct Screen(Arc<Mutex<String>>);

    impl indicatif::TermLike for Screen {
        fn width(&self) -> u16 {
            200
        }
        fn move_cursor_up(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_down(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_right(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_left(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn write_line(&self, s: &str) -> std::io::Result<()> {
            self.write_str(&format!("{s}\n"))
        }
        fn write_str(&self, s: &str) -> std::io::Result<()> {
            self.0.lock().unwrap().push_str(s);
            Ok(())
        }
        fn clear_line(&self) -> std::io::Result<()> {
            self.0.lock().unwrap().clear();
            Ok(())
        }
        fn flush(&self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn bytes_read_show_from_the_first_blob() {
        let screen = Screen::default();
        let p = Progress::to(ProgressDrawTarget::term_like(Box::new(screen.clone())));
        p.planned(1000);
        p.advance(3 * 1024);
        p.bar.force_draw();
        let drawn = screen.0.lock().unwrap().clone();
        assert!(drawn.contains("1/1000 blobs, 3.0 KiB ("), "{drawn:?}");
    }
}

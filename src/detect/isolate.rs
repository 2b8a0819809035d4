//! Panic isolation: a bug in one analyser on one hostile file becomes a
//! warning naming that file, and every other finding is still reported.
//!
//! Detectors are written not to panic (string slices on character
//! boundaries, bounded recursion, the fuzz tests in `tests/robustness.rs`);
//! this is the defence in depth behind that. The panic's message is never
//! printed or kept: Rust's slice-boundary messages quote the string being
//! sliced, which can be a secret. Only the source location is reported.

use std::cell::{Cell, RefCell};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Once;

thread_local! {
    /// Set while this thread runs guarded code: the hook stays silent.
    static GUARDED: Cell<bool> = const { Cell::new(false) };
    /// Where the last guarded panic happened (`src/detect/x.rs:12`).
    static LOCATION: RefCell<Option<String>> = const { RefCell::new(None) };
}

static HOOK: Once = Once::new();

/// Replace the panic hook once, keeping the previous one for panics outside
/// guarded code (those still abort the command as before, loudly).
fn install_hook() {
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if GUARDED.with(Cell::get) {
                let at = info
                    .location()
                    .map(|l| format!("{}:{}", l.file(), l.line()))
                    .unwrap_or_else(|| "unknown location".into());
                LOCATION.with(|l| *l.borrow_mut() = Some(at));
            } else {
                previous(info);
            }
        }));
    });
}

/// Run `f`; if it panics, return the warning for `path` instead. `what`
/// names the analyser (`the workflow detector`).
pub fn guard<T>(path: &str, what: &str, f: impl FnOnce() -> T) -> Result<T, String> {
    install_hook();
    let was = GUARDED.with(|g| g.replace(true));
    let result = catch_unwind(AssertUnwindSafe(f));
    GUARDED.with(|g| g.set(was));
    result.map_err(|_| {
        let at = LOCATION
            .with(|l| l.borrow_mut().take())
            .unwrap_or_else(|| "unknown location".into());
        format!(
            "{path}: internal error in {what} (panic at {at}); its findings for this file are \
             missing, the other analysers and files were scanned; please report this bug"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_a_warning_without_its_message() {
        let r: Result<(), String> = guard("a/b.yml", "the test detector", || {
            let s = String::from("npm_secret-ish é");
            let cut = s.len() - 1;
            let _ = &s[cut..];
        });
        let w = r.unwrap_err();
        assert!(w.starts_with("a/b.yml: internal error in the test detector (panic at src/"));
        assert!(w.contains("isolate.rs:"), "{w}");
        assert!(!w.contains("secret-ish"), "{w}");
        // Nested guards and later calls work as before.
        assert_eq!(guard("x", "y", || 7), Ok(7));
    }
}

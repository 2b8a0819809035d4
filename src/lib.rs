//! npmsweep: finds npm credentials that should not be where they are.
//!
//! Data flows one way: [`source`] → [`detect`] → [`finding`] → [`report`],
//! with [`scan`] connecting them and [`cli`] parsing arguments.

/// `--version`: the package version and the commit it was built from
/// (`0.1.0 (commit 3f2a9c1e0b7d, 2026-11-30)`), set by build.rs from `git`,
/// or from `NPMSWEEP_BUILD_COMMIT` where there is no repository (a source
/// tarball); reports keep the bare package version.
pub const BUILD_VERSION: &str = env!("NPMSWEEP_BUILD_VERSION");

pub mod cli;
pub mod detect;
pub mod filter;
pub mod finding;
pub mod fix;
pub mod history;
pub mod layer;
pub mod manual;
pub mod org;
pub mod outfile;
pub mod readiness;
pub mod redact;
pub mod report;
pub mod rules;
pub mod scan;
pub mod source;
pub mod token;
pub mod verify;

//! Sweeping an organisation: [`plan`] splits a list of repositories into
//! shards, [`run`] sweeps one shard's share, [`merge`] combines the shards'
//! reports into one answer. npmsweep runs as shards on the scheduler a team
//! already has (a GitHub Actions matrix, a Kubernetes Indexed Job); it does
//! not grow a cluster of its own.

pub mod github;
pub mod merge;
pub mod plan;
pub mod run;
pub mod sarif;

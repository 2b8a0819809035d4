//! npmsweep: finds npm credentials that should not be where they are.
//!
//! Data flows one way: [`source`] → [`detect`] → [`finding`] → [`report`],
//! with [`scan`] connecting them and [`cli`] parsing arguments.

pub mod cli;
pub mod detect;
pub mod filter;
pub mod finding;
pub mod history;
pub mod layer;
pub mod report;
pub mod rules;
pub mod scan;
pub mod source;
pub mod token;

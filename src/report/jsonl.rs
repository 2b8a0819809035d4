//! `--format jsonl`: JSON Lines for log pipelines — one finding per line,
//! each exactly an element of the JSON report's `findings` array, nothing
//! else (warnings stay on standard error; no summary line to filter out).

use super::ReportOptions;
use super::json::json_finding;
use crate::scan::Report;
use std::io::{self, Write};

pub fn write(report: &Report, opts: &ReportOptions, out: &mut dyn Write) -> io::Result<()> {
    for f in report
        .findings
        .iter()
        .filter(|f| f.suppressed.is_none() || opts.show_suppressed)
    {
        serde_json::to_writer(&mut *out, &json_finding(f, opts))?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

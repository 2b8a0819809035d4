//! Rendering of what the detectors found in one item, for CI snapshot
//! tests (GitLab CI, CircleCI): findings in report order, publish paths
//! and warnings, one line each. A test file uses it with
//! `mod support { pub mod detected; }`.

use npmsweep::detect::Detected;
use npmsweep::finding::Finding;

/// Findings and publish paths, one line each.
pub fn render(d: &Detected) -> String {
    let mut f: Vec<Finding> = d.findings.clone();
    npmsweep::finding::sort_findings(&mut f);
    let mut out = String::new();
    for f in &f {
        out.push_str(&format!(
            "{}:{} {} {}\n    {}\n",
            f.span.start_line, f.span.start_column, f.severity, f.rule_id, f.message
        ));
    }
    if f.is_empty() {
        out.push_str("(no findings)\n");
    }
    for p in &d.publish_paths {
        out.push_str(&format!(
            "publish path {}:{} {} job {} step {} `{}`: {:?} via {:?} ({:?}, {})\n",
            p.path,
            p.line,
            p.ci,
            p.job.as_str(),
            p.step.as_str(),
            p.command.as_str(),
            p.status,
            p.auth,
            p.credential.as_ref().map(|c| c.as_str().to_string()),
            p.registry
        ));
    }
    for w in &d.warnings {
        out.push_str(&format!("warning: {w}\n"));
    }
    out
}

//! `npmsweep completions SHELL` and `npmsweep man`: generated from the one
//! definition of the command line in [`crate::cli`], so they cannot drift
//! from `--help`.

use crate::cli::Cli;
use clap::CommandFactory;
use std::io::Write;

/// Write the completion script for `shell` to `out`.
pub fn completions(shell: clap_complete::Shell, out: &mut dyn Write) -> std::io::Result<()> {
    let mut command = Cli::command();
    // clap_complete panics when its writer fails (a closed pipe: `| head`),
    // so it writes to memory and the error is ours to report.
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "npmsweep", &mut script);
    out.write_all(&script)?;
    out.flush()
}

/// Write npmsweep(1) (roff) to `out`.
pub fn man(out: &mut dyn Write) -> std::io::Result<()> {
    clap_mangen::Man::new(Cli::command()).render(out)?;
    out.flush()
}

/// Write npmsweep.1 and one page per subcommand (npmsweep-scan.1, …) into
/// `dir`.
pub fn man_pages(dir: &std::path::Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    clap_mangen::generate_to(Cli::command(), dir)
}

//! Embeds every `rules/**/*.toml` file so that adding a rule is adding a
//! file, and names the commit in `--version`.
use std::path::{Path, PathBuf};
use std::process::Command;

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "toml") {
            out.push(path);
        }
    }
}

/// `git ARGS` in the package directory, trimmed; `None` without git or a
/// repository.
fn git(root: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(root)
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && !text.is_empty()).then_some(text)
}

/// `0.1.0 (commit 3f2a9c1e0b7d, 2026-11-30)`: the commit and its commit
/// date (not the build time, so the same commit always builds the same
/// string). `NPMSWEEP_BUILD_COMMIT` wins (release builds from a tarball).
fn build_version(root: &Path) -> String {
    let version = std::env::var("CARGO_PKG_VERSION").unwrap();
    println!("cargo:rerun-if-env-changed=NPMSWEEP_BUILD_COMMIT");
    if let Ok(commit) = std::env::var("NPMSWEEP_BUILD_COMMIT")
        && !commit.trim().is_empty()
    {
        return format!("{version} (commit {})", commit.trim());
    }
    // Rebuild when HEAD moves: HEAD itself, the branch it names, packed refs.
    for path in ["HEAD", "packed-refs"] {
        if let Some(p) = git(root, &["rev-parse", "--git-path", path]) {
            println!("cargo:rerun-if-changed={}", root.join(p).display());
        }
    }
    if let Some(branch) = git(root, &["symbolic-ref", "-q", "HEAD"])
        && let Some(p) = git(root, &["rev-parse", "--git-path", &branch])
    {
        println!("cargo:rerun-if-changed={}", root.join(p).display());
    }
    match (
        git(root, &["rev-parse", "--short=12", "HEAD"]),
        git(root, &["show", "-s", "--format=%cs", "HEAD"]),
    ) {
        (Some(commit), Some(date)) => format!("{version} (commit {commit}, {date})"),
        _ => format!("{version} (commit unknown)"),
    }
}

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    println!(
        "cargo:rustc-env=NPMSWEEP_BUILD_VERSION={}",
        build_version(&root)
    );
    let rules_dir = root.join("rules");
    println!("cargo:rerun-if-changed=rules");
    let mut files = Vec::new();
    collect(&rules_dir, &mut files);
    files.sort();
    let mut code = String::from("pub static RULE_FILES: &[(&str, &str)] = &[\n");
    for f in &files {
        println!("cargo:rerun-if-changed={}", f.display());
        let rel = f
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        code.push_str(&format!(
            "    ({rel:?}, include_str!({:?})),\n",
            f.to_string_lossy()
        ));
    }
    code.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("rule_files.rs");
    std::fs::write(out, code).unwrap();
}

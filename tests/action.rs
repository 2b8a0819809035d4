//! The GitHub Action's script (`scripts/action.sh`) in a simulated Actions
//! environment: RUNNER_OS/RUNNER_ARCH, RUNNER_TEMP, GITHUB_PATH,
//! GITHUB_OUTPUT, GITHUB_STEP_SUMMARY, and a local "release" directory with
//! the binary under test packed as the release workflow packs it, plus its
//! SHA256SUMS. Needs bash, curl, tar, sha256sum and jq (as GitHub's runners
//! have); skipped with a message where one is missing.

#![cfg(unix)]

use npmsweep::token::fake_token;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

const VERSION: &str = "0.1.0";
const TRIPLE: &str = "x86_64-unknown-linux-musl";

fn tools_missing() -> Option<&'static str> {
    ["bash", "curl", "tar", "sha256sum", "jq"]
        .into_iter()
        .find(|tool| {
            Command::new("sh")
                .args(["-c", &format!("command -v {tool}")])
                .output()
                .map_or(true, |o| !o.status.success())
        })
}

struct Runner {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

impl Runner {
    fn new() -> Runner {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        for d in ["temp", "release", "workspace"] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        for f in ["path", "output", "summary"] {
            std::fs::write(root.join(f), "").unwrap();
        }
        Runner { _dir: dir, root }
    }

    /// Publish the binary under test as the release workflow does:
    /// `vVERSION/npmsweep-VERSION-TRIPLE.tar.gz` holding `npmsweep`, listed
    /// in SHA256SUMS. Packed once per test run (a debug binary is large).
    fn publish_release(&self) {
        static PACKED: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
        let (_, packed) = PACKED.get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            std::fs::copy(env!("CARGO_BIN_EXE_npmsweep"), dir.path().join("npmsweep")).unwrap();
            let archive = dir
                .path()
                .join(format!("npmsweep-{VERSION}-{TRIPLE}.tar.gz"));
            let st = Command::new("sh")
                .arg("-c")
                .arg("tar -cf - npmsweep | gzip -1 > \"$0\"")
                .arg(&archive)
                .current_dir(dir.path())
                .status()
                .unwrap();
            assert!(st.success());
            (dir, archive)
        });
        let dir = self.root.join("release").join(format!("v{VERSION}"));
        std::fs::create_dir_all(&dir).unwrap();
        let name = packed.file_name().unwrap();
        std::fs::copy(packed, dir.join(name)).unwrap();
        let sums = Command::new("sha256sum")
            .arg(name)
            .current_dir(&dir)
            .output()
            .unwrap();
        std::fs::write(dir.join("SHA256SUMS"), sums.stdout).unwrap();
    }

    fn step(&self, step: &str, env: &[(&str, &str)], path: &str) -> Output {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/action.sh");
        let mut cmd = Command::new("bash");
        cmd.arg(script)
            .arg(step)
            .current_dir(self.root.join("workspace"))
            .env_clear()
            .env("PATH", path)
            .env("HOME", &self.root)
            .env("RUNNER_OS", "Linux")
            .env("RUNNER_ARCH", "X64")
            .env("RUNNER_TEMP", self.root.join("temp"))
            .env("GITHUB_PATH", self.root.join("path"))
            .env("GITHUB_OUTPUT", self.root.join("output"))
            .env("GITHUB_STEP_SUMMARY", self.root.join("summary"))
            .env(
                "NPMSWEEP_RELEASE_URL",
                format!("file://{}", self.root.join("release").display()),
            )
            .env("NPMSWEEP_VERSION", VERSION);
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    }

    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.root.join(name)).unwrap()
    }
}

fn system_path() -> String {
    std::env::var("PATH").unwrap_or_default()
}

fn text(out: &Output) -> String {
    format!(
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn install_verify_run_summarise_and_fail() {
    if let Some(tool) = tools_missing() {
        eprintln!("{tool} not found: the action script is not tested here");
        return;
    }
    let runner = Runner::new();
    runner.publish_release();
    let out = runner.step("install", &[], &system_path());
    assert!(out.status.success(), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("sha256 "));
    let bin = runner.read("path").trim().to_string();
    assert!(Path::new(&bin).join("npmsweep").is_file(), "{bin}");

    // A token and a literal .npmrc credential in the workspace.
    let token = fake_token("npm_", 81);
    let ws = runner.root.join("workspace");
    std::fs::write(ws.join("a.js"), format!("const t = '{token}';\n")).unwrap();
    std::fs::write(
        ws.join(".npmrc"),
        // npmsweep:ignore test fixture: a made-up value, not a credential
        "//registry.npmjs.org/:_authToken=0b5c3f0e-7b3d-4b8e-9d4f-3a2b1c0d9e8f\n",
    )
    .unwrap();
    let path = format!("{bin}:{}", system_path());
    let out = runner.step("run", &[("NPMSWEEP_COMMAND", "scan")], &path);
    assert!(
        out.status.success(),
        "the run step itself succeeds: {}",
        text(&out)
    );
    let log = String::from_utf8_lossy(&out.stdout);
    assert!(log.contains("::error file=a.js"), "annotations: {log}");

    let outputs = runner.read("output");
    assert!(outputs.contains("exit-code=1\n"), "{outputs}");
    assert!(outputs.contains("findings=2\n"), "{outputs}");
    let sarif = outputs
        .lines()
        .find_map(|l| l.strip_prefix("sarif-file="))
        .expect("sarif-file output");
    let log: serde_json::Value = serde_json::from_slice(&std::fs::read(sarif).unwrap()).unwrap();
    assert_eq!(log["runs"][0]["results"].as_array().unwrap().len(), 2);

    let summary = runner.read("summary");
    assert!(summary.contains("## npmsweep scan"), "{summary}");
    assert!(
        summary.contains("| critical | 1 |") && summary.contains("| high | 1 |"),
        "{summary}"
    );
    assert!(summary.contains("- `npm-token` (1)"), "{summary}");
    assert!(summary.contains("Revoke every token"), "{summary}");
    for leaked in [token.as_str(), &token[..12], "0b5c3f0e-7b3d"] {
        assert!(!summary.contains(leaked) && !outputs.contains(leaked));
    }

    let out = runner.step("finish", &[("NPMSWEEP_EXIT_CODE", "1")], &path);
    assert_eq!(out.status.code(), Some(1));
    let out = runner.step("finish", &[("NPMSWEEP_EXIT_CODE", "0")], &path);
    assert_eq!(out.status.code(), Some(0));
    let out = runner.step("finish", &[("NPMSWEEP_EXIT_CODE", "")], &path);
    assert_eq!(out.status.code(), Some(2));

    // --fail-on critical on the .npmrc alone (a high finding): clean.
    std::fs::write(runner.root.join("output"), "").unwrap();
    std::fs::write(runner.root.join("summary"), "").unwrap();
    let out = runner.step(
        "run",
        &[
            ("NPMSWEEP_ARGS", "--fail-on critical --no-ignore"),
            ("NPMSWEEP_PATHS", ".npmrc"),
        ],
        &path,
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        runner.read("output").contains("exit-code=0\n"),
        "{}",
        runner.read("output")
    );
}

#[test]
fn a_checksum_mismatch_is_fatal_and_installs_nothing() {
    if let Some(tool) = tools_missing() {
        eprintln!("{tool} not found: the action script is not tested here");
        return;
    }
    let runner = Runner::new();
    runner.publish_release();
    let sums = runner
        .root
        .join("release")
        .join(format!("v{VERSION}/SHA256SUMS"));
    let text_sums = std::fs::read_to_string(&sums).unwrap();
    let flipped = if text_sums.starts_with('0') { "1" } else { "0" };
    std::fs::write(&sums, format!("{flipped}{}", &text_sums[1..])).unwrap();
    let out = runner.step("install", &[], &system_path());
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("checksum mismatch"));
    assert_eq!(runner.read("path"), "");
}

#[test]
fn no_release_binary_falls_back_to_building_from_source() {
    if let Some(tool) = tools_missing() {
        eprintln!("{tool} not found: the action script is not tested here");
        return;
    }
    let runner = Runner::new();
    // No release published, and no cargo on PATH: the fallback is tried and
    // says precisely why it cannot build (a real build takes minutes).
    let out = runner.step(
        "install",
        &[("RUNNER_OS", "Linux"), ("RUNNER_ARCH", "ARM")],
        "/usr/bin:/bin",
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no release binary v0.1.0 for Linux/ARM"),
        "{err}"
    );
    assert!(err.contains("building from the action's source"), "{err}");
    assert!(err.contains("no cargo to build one"), "{err}");
}

#[test]
fn bad_inputs_are_errors() {
    if let Some(tool) = tools_missing() {
        eprintln!("{tool} not found: the action script is not tested here");
        return;
    }
    let runner = Runner::new();
    let path = format!(
        "{}:{}",
        Path::new(env!("CARGO_BIN_EXE_npmsweep"))
            .parent()
            .unwrap()
            .display(),
        system_path()
    );
    for (k, v, message) in [
        (
            "NPMSWEEP_COMMAND",
            "purge",
            "command must be scan or history",
        ),
        ("NPMSWEEP_FORMAT", "sarif", "format must be github or human"),
    ] {
        let out = runner.step("run", &[(k, v)], &path);
        assert_eq!(out.status.code(), Some(2));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(message),
            "{}",
            text(&out)
        );
    }
    let out = runner.step(
        "run",
        &[("NPMSWEEP_COMMAND", "history"), ("NPMSWEEP_PATHS", "a b")],
        &path,
    );
    assert_eq!(out.status.code(), Some(2));
    // A value is never evaluated by a shell.
    let out = runner.step("run", &[("NPMSWEEP_ARGS", "$(touch pwned)")], &path);
    assert!(
        !runner.root.join("workspace/pwned").exists(),
        "{}",
        text(&out)
    );
}

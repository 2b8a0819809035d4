//! End-to-end tests of the layers: archives (`scan` and `history`, nesting,
//! a decompression bomb, SARIF), and embedded or encoded npm configuration.
//! Archives and tokens are built at run time; nothing secret-looking is
//! committed.

mod support {
    pub mod cli;
    pub mod sarif_schema;
}
use support::cli::{git, json, npmsweep, write};

use base64::Engine;
use flate2::Compression;
use flate2::write::GzEncoder;
use npmsweep::token::fake_token;
use serde_json::Value;
use std::io::Write;
use support::sarif_schema::{assert_github_acceptable, assert_schema_valid};

fn tar_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, data) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder.append_data(&mut header, name, *data).unwrap();
    }
    builder.into_inner().unwrap()
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn zip_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in files {
        zip.start_file(*name, opts).unwrap();
        zip.write_all(data).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

/// An `npm pack` tarball with a planted `.npmrc`.
fn npm_pack_tarball(token: &str) -> Vec<u8> {
    let npmrc =
        format!("registry=https://registry.npmjs.org/\n//registry.npmjs.org/:_authToken={token}\n");
    gz(&tar_of(&[
        ("package/package.json", b"{\"name\": \"pkg\"}\n"),
        ("package/.npmrc", npmrc.as_bytes()),
        ("package/index.js", b"module.exports = 1;\n"),
    ]))
}

fn finding<'a>(doc: &'a Value, path: &str) -> &'a Value {
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == path)
        .unwrap_or_else(|| panic!("no finding at {path}: {doc:#}"))
}

#[test]
fn archive_members_are_scanned_like_files() {
    let dir = tempfile::tempdir().unwrap();
    let token = fake_token("npm_", 101);
    write(dir.path(), "pkg-1.0.0.tgz", npm_pack_tarball(&token));
    // A zip holding a tarball holding an `.env`: nested archives.
    let uuid = "7c1e4f2a-9b3d-4e8f-a2c6-5d7e9f1b3a4c";
    let inner = gz(&tar_of(&[(
        "package/.env",
        format!("NPM_TOKEN={uuid}\n").as_bytes(),
    )]));
    write(
        dir.path(),
        "vendor/bundle.zip",
        zip_of(&[("inner-1.0.0.tgz", &inner), ("readme.txt", b"hello\n")]),
    );
    let out = npmsweep(&["scan", ".", "--format", "json"], dir.path());
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc = json(&out);
    assert_eq!(doc["findings"].as_array().unwrap().len(), 2, "{doc:#}");

    let f = finding(&doc, "pkg-1.0.0.tgz!package/.npmrc");
    assert_eq!(f["rule_id"], "npm-token");
    assert_eq!(f["start_line"], 2);
    assert_eq!(f["start_column"], 34);
    assert_eq!(f["details"]["archive"], "pkg-1.0.0.tgz");
    assert_eq!(f["details"]["archive_member"], "package/.npmrc");

    let f = finding(&doc, "vendor/bundle.zip!inner-1.0.0.tgz!package/.env");
    assert_eq!(f["rule_id"], "npm-legacy-token");
    assert_eq!(f["details"]["archive"], "vendor/bundle.zip");
    assert_eq!(
        f["details"]["archive_member"],
        "inner-1.0.0.tgz!package/.env"
    );

    // No secret in any format; SARIF stays valid and points at the archive.
    for format in ["json", "human", "sarif", "github"] {
        let out = npmsweep(&["scan", ".", "--format", format], dir.path());
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            !text.contains(&token) && !text.contains(uuid),
            "{format}: {text}"
        );
    }
    let out = npmsweep(&["scan", ".", "--format", "sarif"], dir.path());
    let log: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_schema_valid(&log);
    assert_github_acceptable(&out.stdout);
    let uris: Vec<&str> = log["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert_eq!(uris, ["pkg-1.0.0.tgz", "vendor/bundle.zip"]);
    let message = log["runs"][0]["results"][0]["message"]["text"]
        .as_str()
        .unwrap();
    assert!(
        message.contains("archive member package/.npmrc, line 2"),
        "{message}"
    );
}

#[test]
fn a_decompression_bomb_is_a_warning_and_the_scan_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    // 64 MiB of zeros in a tar member: about 64 KiB compressed.
    let mut e = GzEncoder::new(Vec::new(), Compression::best());
    let mut header = tar::Header::new_gnu();
    header.set_size(64 << 20);
    header.set_mode(0o644);
    header.set_path("package/zeros.bin").unwrap();
    header.set_cksum();
    e.write_all(header.as_bytes()).unwrap();
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..64 {
        e.write_all(&zeros).unwrap();
    }
    write(dir.path(), "bomb.tgz", e.finish().unwrap());
    let token = fake_token("npm_", 102);
    write(dir.path(), "after.js", format!("const t = '{token}';\n"));
    let out = npmsweep(&["scan", ".", "--format", "json"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    let doc = json(&out);
    assert_eq!(doc["findings"][0]["path"], "after.js");
    let warnings = doc["warnings"].to_string();
    assert!(
        warnings.contains("bomb.tgz: gzip archive: expands more than 200 times"),
        "{warnings}"
    );
}

#[test]
fn history_opens_archives_in_blobs() {
    let dir = tempfile::tempdir().unwrap();
    let token = fake_token("npm_", 103);
    git(dir.path(), &["init", "-q", "-b", "main"]);
    write(dir.path(), "README.md", "# pkg\n");
    write(dir.path(), "pkg-1.0.0.tgz", npm_pack_tarball(&token));
    git(dir.path(), &["add", "."]);
    git(dir.path(), &["commit", "-qm", "release"]);
    git(dir.path(), &["rm", "-q", "pkg-1.0.0.tgz"]);
    git(dir.path(), &["commit", "-qm", "remove the tarball"]);
    let out = npmsweep(&["history", ".", "--format", "json"], dir.path());
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc = json(&out);
    let f = finding(&doc, "pkg-1.0.0.tgz!package/.npmrc");
    assert_eq!(f["rule_id"], "npm-token");
    assert_eq!(f["provenance"]["in_head"], false);
    let out = npmsweep(&["history", ".", "--format", "sarif"], dir.path());
    assert_schema_valid(&serde_json::from_slice(&out.stdout).unwrap());
    assert_github_acceptable(&out.stdout);
}

/// An uncompressed tar holds its members' bytes as they are: each token is
/// reported once, as the member's finding, not again at a line of the
/// archive; a token in a member's *name* is reported on that member, as
/// `npm-token-in-path` (the archive's bytes hold the name too: that hit is
/// the member's finding, not a second one).
#[test]
fn an_uncompressed_archive_reports_each_member_token_once() {
    let dir = tempfile::tempdir().unwrap();
    let token = fake_token("npm_", 105);
    let named = fake_token("npm_", 106);
    let npmrc = format!("//registry.npmjs.org/:_authToken={token}\n");
    let member = format!("package/{named}.txt");
    write(
        dir.path(),
        "pkg.tar",
        tar_of(&[("package/.npmrc", npmrc.as_bytes()), (&member, b"x\n")]),
    );
    let out = npmsweep(
        &["scan", ".", "--format", "json", "--show-secrets"],
        dir.path(),
    );
    let doc = json(&out);
    let findings = doc["findings"].as_array().unwrap();
    let with = |secret: &str| -> Vec<&str> {
        findings
            .iter()
            .filter(|f| f["secret"] == secret)
            .map(|f| f["path"].as_str().unwrap())
            .collect()
    };
    assert_eq!(with(&token), ["pkg.tar!package/.npmrc"], "{findings:#?}");
    assert_eq!(with(&named), [format!("pkg.tar!{member}")], "{findings:#?}");
    let rule = |secret: &str| -> Vec<&str> {
        findings
            .iter()
            .filter(|f| f["secret"] == secret)
            .map(|f| f["rule_id"].as_str().unwrap())
            .collect()
    };
    assert_eq!(rule(&named), ["npm-token-in-path"], "{findings:#?}");
}

/// `exclude` applies to history and the index as to the working tree: an
/// excluded archive's members are excluded with it (their paths are
/// `archive!member`, which a pattern on the archive does not match alone).
#[test]
fn an_excluded_archive_is_excluded_in_history_and_the_index() {
    let dir = tempfile::tempdir().unwrap();
    let token = fake_token("npm_", 104);
    git(dir.path(), &["init", "-q", "-b", "main"]);
    write(dir.path(), "vendor/pkg-1.0.0.tgz", npm_pack_tarball(&token));
    git(dir.path(), &["add", "."]);
    git(dir.path(), &["commit", "-qm", "release"]);
    let out = npmsweep(&["history", ".", "-q"], dir.path());
    assert_eq!(out.status.code(), Some(1), "control: the member is found");
    write(dir.path(), "npmsweep.toml", "exclude = [\"*.tgz\"]\n");
    let out = npmsweep(&["history", ".", "--format", "json"], dir.path());
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    write(dir.path(), "npmsweep.toml", "exclude = [\"vendor/\"]\n");
    write(dir.path(), "vendor/pkg-1.0.1.tgz", npm_pack_tarball(&token));
    git(dir.path(), &["add", "vendor"]);
    let out = npmsweep(&["scan", "--staged", "--format", "json"], dir.path());
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn embedded_and_encoded_configuration_in_a_tree() {
    let dir = tempfile::tempdir().unwrap();
    let token = fake_token("npm_", 104);
    let npmrc = format!("//registry.npmjs.org/:_authToken={token}\n");
    let b64 = base64::engine::general_purpose::STANDARD.encode(&npmrc);
    write(
        dir.path(),
        "deploy/secret.yaml",
        format!("apiVersion: v1\nkind: Secret\nmetadata:\n  name: npmrc\ndata:\n  .npmrc: {b64}\n"),
    );
    let literal = "gLpAtNoTaReAlT0k3nAtAll";
    write(
        dir.path(),
        "deploy/configmap.yaml",
        format!(
            "kind: ConfigMap\ndata:\n  .npmrc: |\n    @corp:registry=https://gitlab.example.com/api/v4/packages/npm/\n    //gitlab.example.com/api/v4/packages/npm/:_authToken={literal}\n"
        ),
    );
    write(
        dir.path(),
        "docs/publishing.md",
        "Configure:\n\n```ini\n//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n```\n",
    );
    let out = npmsweep(&["scan", ".", "--format", "json"], dir.path());
    let doc = json(&out);
    let findings = doc["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 2, "{doc:#}");
    let f = finding(&doc, "deploy/configmap.yaml");
    assert_eq!(f["rule_id"], "npmrc-literal-auth-token");
    assert_eq!(f["start_line"], 5);
    assert_eq!(f["details"]["embedded_in"], "a YAML block scalar");
    let f = finding(&doc, "deploy/secret.yaml");
    assert_eq!(f["rule_id"], "npm-token");
    assert_eq!(f["start_line"], 6);
    assert_eq!(f["details"]["encoding"], "base64");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains(&token) && !text.contains(literal) && !text.contains(&b64));
}

//! `--verify` end to end: a real registry (Verdaccio 6.8.0 on loopback,
//! started once per test binary) and a tiny HTTP server in the test for
//! timeouts, slow answers and malformed replies.
//!
//! Verdaccio is installed with npm into `target/verdaccio/` (`.ci/run` does
//! the same); without `npm` the Verdaccio tests print a visible SKIPPED line
//! and pass.

mod support {
    pub mod cli;
    pub mod sarif_schema;
}
use support::cli::npmsweep;

use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

fn json_scan(dir: &Path, extra: &[&str]) -> (i32, Value, String) {
    let mut args = vec!["scan", ".", "--verify", "--format", "json"];
    args.extend_from_slice(extra);
    let out = npmsweep(&args, dir);
    let stdout = String::from_utf8(out.stdout).expect("utf-8");
    let doc: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), doc, stdout)
}

/// The verification of the finding at `path`:`line`.
fn verification(doc: &Value, path: &str, line: u64) -> Value {
    doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["path"] == path && f["start_line"] == line)
        .unwrap_or_else(|| panic!("no finding at {path}:{line} in {doc:#}"))["verification"]
        .clone()
}

fn token(seed: u64) -> String {
    npmsweep::rules::synthetic_uuid(seed)
}

// ---------------------------------------------------------------- test server

/// How the test server answers.
#[derive(Clone, Copy)]
enum Mode {
    Json(u16, &'static str),
    Slow(Duration),
    Garbage,
    Redirect,
}

struct TestServer {
    port: u16,
    requests: Arc<Mutex<Vec<String>>>,
    /// The most connections it was answering at once.
    max_concurrent: Arc<AtomicUsize>,
}

/// A loopback HTTP server answering every request the same way; it records
/// each request's first line and Authorization header.
fn serve(mode: Mode) -> TestServer {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let requests = Arc::new(Mutex::new(Vec::new()));
    let max_concurrent = Arc::new(AtomicUsize::new(0));
    let (seen, max) = (requests.clone(), max_concurrent.clone());
    let now = Arc::new(AtomicUsize::new(0));
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let (seen, max, now) = (seen.clone(), max.clone(), now.clone());
            std::thread::spawn(move || {
                max.fetch_max(now.fetch_add(1, Ordering::SeqCst) + 1, Ordering::SeqCst);
                // A request is in flight until its reply is written: once the
                // client has read it, it may start the next one before this
                // thread ends (counting to the thread's end saw 3 at a limit
                // of 2).
                answer(stream, mode, &seen, &|| {
                    now.fetch_sub(1, Ordering::SeqCst);
                });
            });
        }
    });
    TestServer {
        port,
        requests,
        max_concurrent,
    }
}

fn answer(stream: TcpStream, mode: Mode, seen: &Mutex<Vec<String>>, replied: &dyn Fn()) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut head = String::new();
    let mut auth = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        if head.is_empty() {
            head = line.trim_end().to_string();
        } else if let Some(v) = line
            .strip_prefix("authorization: ")
            .or_else(|| line.strip_prefix("Authorization: "))
        {
            auth = v.trim_end().to_string();
        }
    }
    seen.lock().unwrap().push(format!("{head} | {auth}"));
    let mut stream = stream;
    let reply = match mode {
        Mode::Json(status, body) => format!(
            "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        ),
        Mode::Slow(d) => {
            std::thread::sleep(d);
            "HTTP/1.1 200 OK\r\ncontent-length: 20\r\n\r\n{\"username\":\"late\"}".to_string()
        }
        Mode::Garbage => "this is not HTTP at all\r\n\r\n".to_string(),
        Mode::Redirect => "HTTP/1.1 302 Found\r\nlocation: http://127.0.0.2:9/-/whoami\r\ncontent-length: 0\r\n\r\n".to_string(),
    };
    replied();
    let _ = stream.write_all(reply.as_bytes());
}

fn repo(files: &[(&str, String)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for (path, text) in files {
        let p = dir.path().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    dir
}

#[test]
fn answers_that_name_no_user_or_break_http_are_dead_or_unknown_with_the_reason() {
    let empty = serve(Mode::Json(200, "{}"));
    let html = serve(Mode::Json(200, "<html>login</html>"));
    let garbage = serve(Mode::Garbage);
    let redirect = serve(Mode::Redirect);
    let error = serve(Mode::Json(503, "{}"));
    let live = serve(Mode::Json(200, r#"{"username":"carol"}"#));
    let (t1, t2, t3, t4, t5, t6) = (token(1), token(2), token(3), token(4), token(5), token(6));
    let npmrc = format!(
        "//127.0.0.1:{}/:_authToken={t1}\n//127.0.0.1:{}/:_authToken={t2}\n//127.0.0.1:{}/:_authToken={t3}\n//127.0.0.1:{}/:_authToken={t4}\n//127.0.0.1:{}/:_authToken={t5}\n//127.0.0.1:{}/:_authToken={t6}\n",
        empty.port, html.port, garbage.port, redirect.port, error.port, live.port
    );
    let dir = repo(&[(".npmrc", npmrc)]);
    let (code, doc, stdout) = json_scan(dir.path(), &[]);
    assert_eq!(code, 1);
    let status = |line| verification(&doc, ".npmrc", line);
    assert_eq!(status(1)["status"], "dead", "{}", status(1));
    assert!(status(1)["reason"].as_str().unwrap().contains("no user"));
    assert_eq!(status(2)["status"], "unknown");
    assert!(status(2)["reason"].as_str().unwrap().contains("JSON"));
    assert_eq!(status(3)["status"], "unknown");
    assert!(
        status(3)["reason"]
            .as_str()
            .unwrap()
            .contains("unexpected answer"),
        "{}",
        status(3)
    );
    assert_eq!(status(4)["status"], "unknown");
    assert!(
        status(4)["reason"]
            .as_str()
            .unwrap()
            .contains("not followed")
    );
    assert_eq!(status(5)["reason"], "unexpected answer: HTTP 503");
    assert_eq!(status(6)["status"], "live");
    assert_eq!(status(6)["user"], "carol");
    // Live first in the report.
    assert_eq!(doc["findings"][0]["verification"]["status"], "live");
    // The registry got the token as a Bearer credential, at /-/whoami.
    let seen = live.requests.lock().unwrap().clone();
    assert!(
        seen.iter()
            .any(|r| r == &format!("GET /-/whoami HTTP/1.1 | Bearer {t6}")),
        "{seen:?}"
    );
    // Nothing in the report holds a token.
    for t in [&t1, &t2, &t3, &t4, &t5, &t6] {
        assert!(!stdout.contains(t.as_str()));
    }
}

#[test]
fn slow_registries_time_out_and_the_deadline_bounds_the_run() {
    let slow = serve(Mode::Slow(Duration::from_secs(4)));
    let tokens: Vec<String> = (10..14).map(token).collect();
    let npmrc: String = tokens
        .iter()
        .enumerate()
        .map(|(i, t)| format!("//127.0.0.1:{}/r{i}/:_authToken={t}\n", slow.port))
        .collect();
    let dir = repo(&[(".npmrc", npmrc)]);
    let started = Instant::now();
    let (_, doc, _) = json_scan(
        dir.path(),
        &[
            "--verify-timeout",
            "1",
            "--verify-deadline",
            "2",
            "--verify-per-host",
            "1",
        ],
    );
    let took = started.elapsed();
    let reasons: Vec<String> = (1..=4)
        .map(|l| {
            verification(&doc, ".npmrc", l)["reason"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert!(
        reasons
            .iter()
            .all(|r| r.contains("timeout") || r.contains("deadline")),
        "{reasons:?}"
    );
    assert!(reasons.iter().any(|r| r.contains("timeout")), "{reasons:?}");
    assert!(
        reasons.iter().any(|r| r.contains("deadline")),
        "{reasons:?}"
    );
    // One request at a time to this host, none after the deadline.
    assert!(slow.requests.lock().unwrap().len() <= 3);
    assert!(took < Duration::from_secs(8), "{took:?}");
}

#[test]
fn each_distinct_secret_is_asked_once_and_only_where_it_is_bound() {
    let server = serve(Mode::Json(401, r#"{"error":"unauthorized"}"#));
    let t = token(20);
    let line = format!("//127.0.0.1:{}/:_authToken={t}\n", server.port);
    let dir = repo(&[
        (".npmrc", line.clone()),
        ("a/.npmrc", line.clone()),
        ("b/.npmrc", line),
        // Plain HTTP to a non-loopback host, and a credential without a
        // registry: never sent.
        (
            ".yarnrc.yml",
            format!(
                "npmRegistries:\n  \"http://npm.example.com\":\n    npmAuthToken: {}\n",
                token(21)
            ),
        ),
        (".env", format!("NPM_TOKEN={}\n", token(22))),
    ]);
    let (code, doc, _) = json_scan(dir.path(), &["--fail-on", "live"]);
    assert_eq!(code, 0, "dead credentials do not fail --fail-on live");
    assert_eq!(server.requests.lock().unwrap().len(), 1);
    for p in [".npmrc", "a/.npmrc", "b/.npmrc"] {
        assert_eq!(verification(&doc, p, 1)["status"], "dead");
    }
    let yarn = verification(&doc, ".yarnrc.yml", 3);
    assert_eq!(yarn["status"], "unknown");
    assert!(
        yarn["reason"].as_str().unwrap().contains("not sent"),
        "{yarn}"
    );
    let env = verification(&doc, ".env", 1);
    assert!(
        env["reason"].as_str().unwrap().contains("not bound"),
        "{env}"
    );
    // --only-verified keeps live credentials only: none here.
    let (_, only, _) = json_scan(dir.path(), &["--only-verified"]);
    assert_eq!(only["findings"].as_array().unwrap().len(), 0);
}

#[test]
fn fail_on_live_needs_verify() {
    let dir = repo(&[(
        ".npmrc",
        format!("//127.0.0.1:9/:_authToken={}\n", token(30)),
    )]);
    let out = npmsweep(&["scan", ".", "--fail-on", "live"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--verify"));
    let out = npmsweep(&["scan", ".", "--only-verified"], dir.path());
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn without_verify_public_legacy_tokens_say_npm_revoked_them() {
    let dir = repo(&[(
        ".npmrc",
        format!(
            "//registry.npmjs.org/:_authToken={}\n//npm.example.com/:_authToken={}\n",
            token(40),
            token(41)
        ),
    )]);
    let out = npmsweep(&["scan", ".", "--format", "json"], dir.path());
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let f = &doc["findings"];
    assert_eq!(f[0]["severity"], "low");
    assert!(f[0]["message"].as_str().unwrap().contains("2025-12-09"));
    assert!(f[0].get("verification").is_none());
    assert_eq!(f[1]["severity"], "high", "private registries keep theirs");
    assert!(f[1]["details"].get("liveness").is_none());
}

// ---------------------------------------------------------------- Verdaccio

struct Verdaccio {
    port: u16,
}

static VERDACCIO: OnceLock<Option<Verdaccio>> = OnceLock::new();
static USERS: AtomicUsize = AtomicUsize::new(0);

fn verdaccio_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/verdaccio")
}

/// Install (once, cached under target/) and start Verdaccio 6.8.0; `None`
/// without npm.
fn verdaccio() -> Option<&'static Verdaccio> {
    VERDACCIO
        .get_or_init(|| {
            if Command::new("npm").arg("--version").output().is_err() {
                eprintln!("SKIPPED: Verdaccio tests need npm (not found on PATH)");
                return None;
            }
            let dir = verdaccio_dir();
            let bin = dir.join("node_modules/.bin/verdaccio");
            if !bin.exists() {
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(
                    dir.join("package.json"),
                    r#"{"name":"npmsweep-verdaccio","private":true,"dependencies":{"verdaccio":"6.8.0"},"overrides":{"node-fetch":"2.7.0"}}"#,
                )
                .unwrap();
                let status = Command::new("npm")
                    .args(["install", "--no-audit", "--no-fund", "--loglevel=error"])
                    .current_dir(&dir)
                    .status()
                    .expect("npm install");
                assert!(status.success(), "npm install verdaccio@6.8.0 failed");
            }
            let run = tempfile::tempdir().unwrap().keep();
            std::fs::write(
                run.join("config.yaml"),
                "storage: ./storage\nauth:\n  htpasswd:\n    file: ./htpasswd\n    max_users: 1000\nuplinks: {}\npackages:\n  '**':\n    access: $authenticated\n    publish: $authenticated\nlog: { type: stdout, format: pretty, level: error }\n",
            )
            .unwrap();
            let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
            // A watchdog shell stops Verdaccio when this test process ends
            // (it outlives the test, so it is never waited for).
            let script = format!(
                "\"$0\" --config config.yaml --listen 127.0.0.1:{port} >log 2>&1 & v=$!; while kill -0 {} 2>/dev/null; do sleep 1; done; kill $v",
                std::process::id()
            );
            #[allow(clippy::zombie_processes)]
            Command::new("sh")
                .args(["-c", &script, bin.to_str().unwrap()])
                .current_dir(&run)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start verdaccio");
            let deadline = Instant::now() + Duration::from_secs(60);
            while Instant::now() < deadline {
                if http("GET", port, "/-/ping", None, None).is_ok_and(|(s, _)| s == 200) {
                    return Some(Verdaccio { port });
                }
                std::thread::sleep(Duration::from_millis(200));
            }
            panic!("Verdaccio did not start; see {}/log", run.display());
        })
        .as_ref()
}

/// A minimal HTTP/1.1 request to the test registry.
fn http(
    method: &str,
    port: u16,
    path: &str,
    auth: Option<&str>,
    body: Option<&Value>,
) -> std::io::Result<(u16, Value)> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(20)))?;
    let (headers, body) = match body {
        Some(b) => {
            let b = b.to_string();
            let h = format!(
                "content-type: application/json\r\ncontent-length: {}\r\n",
                b.len()
            );
            (h, b)
        }
        None => (String::new(), String::new()),
    };
    let auth = auth
        .map(|a| format!("authorization: Bearer {a}\r\n"))
        .unwrap_or_default();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\n{auth}{headers}connection: close\r\n\r\n{body}"
    )?;
    let mut reply = String::new();
    s.read_to_string(&mut reply)?;
    let status = reply
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = reply.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    // Verdaccio may answer chunked: take the JSON between the first { and last }.
    let json = match (body.find('{'), body.rfind('}')) {
        (Some(a), Some(b)) => serde_json::from_str(&body[a..=b]).unwrap_or(Value::Null),
        _ => Value::Null,
    };
    Ok((status, json))
}

/// Create a user; returns (name, password, login token).
fn user(v: &Verdaccio) -> (String, String, String) {
    // Verdaccio's htpasswd file takes one new user at a time.
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    let _guard = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let name = format!(
        "u{}x{}",
        std::process::id(),
        USERS.fetch_add(1, Ordering::SeqCst)
    );
    let password = format!("pw-{name}-secret");
    let (status, body) = http(
        "PUT",
        v.port,
        &format!("/-/user/org.couchdb.user:{name}"),
        None,
        Some(&serde_json::json!({"name": name, "password": password})),
    )
    .unwrap();
    assert_eq!(status, 201, "{body}");
    let token = body["token"].as_str().expect("token").to_string();
    (name, password, token)
}

#[test]
fn verdaccio_live_dead_and_unknown_end_to_end() {
    let Some(v) = verdaccio() else { return };
    let (alice, alice_pw, alice_login) = user(v);
    let (bob, bob_pw, _) = user(v);
    // A read-only token restricted to loopback: live, not over-privileged.
    let (status, restricted) = http(
        "POST",
        v.port,
        "/-/npm/v1/tokens",
        Some(&alice_login),
        Some(&serde_json::json!({"password": alice_pw, "readonly": true, "cidr_whitelist": ["127.0.0.1/32"]})),
    )
    .unwrap();
    assert!(status == 200 || status == 201, "{restricted}");
    // A read-write token, then revoked by key: dead.
    let (_, revoked) = http(
        "POST",
        v.port,
        "/-/npm/v1/tokens",
        Some(&alice_login),
        Some(&serde_json::json!({"password": alice_pw, "readonly": false, "cidr_whitelist": []})),
    )
    .unwrap();
    let key = revoked["key"].as_str().unwrap();
    let (status, _) = http(
        "DELETE",
        v.port,
        &format!("/-/npm/v1/tokens/token/{key}"),
        Some(&alice_login),
        None,
    )
    .unwrap();
    assert_eq!(status, 200);
    let never_issued = token(50);
    let closed_port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let p = v.port;
    let dir = repo(&[
        (
            ".npmrc",
            format!("//127.0.0.1:{p}/:_authToken={alice_login}\n"),
        ),
        (
            "ro/.npmrc",
            format!(
                "//127.0.0.1:{p}/:_authToken={}\n",
                restricted["token"].as_str().unwrap()
            ),
        ),
        (
            "rw/.npmrc",
            format!(
                "//127.0.0.1:{p}/:_authToken={}\n",
                revoked["token"].as_str().unwrap()
            ),
        ),
        (
            "x/.npmrc",
            format!("//127.0.0.1:{p}/:_authToken={never_issued}\n"),
        ),
        (
            "down/.npmrc",
            format!("//127.0.0.1:{closed_port}/:_authToken={}\n", token(51)),
        ),
        (
            "app/.yarnrc.yml",
            format!(
                "npmRegistries:\n  \"http://127.0.0.1:{p}\":\n    npmAuthIdent: \"{bob}:{bob_pw}\"\n"
            ),
        ),
    ]);
    let (code, doc, stdout) = json_scan(dir.path(), &[]);
    assert_eq!(code, 1);
    let live = verification(&doc, ".npmrc", 1);
    assert_eq!(
        (live["status"].as_str(), live["user"].as_str()),
        (Some("live"), Some(alice.as_str())),
        "{live}"
    );
    let ro = verification(&doc, "ro/.npmrc", 1);
    assert_eq!(ro["status"], "live", "{ro}");
    assert_eq!(ro["token"]["readonly"], "true", "{ro}");
    assert_eq!(ro["token"]["cidr"], "127.0.0.1/32");
    assert!(ro.get("over_privileged").is_none(), "{ro}");
    let rw = verification(&doc, "rw/.npmrc", 1);
    assert_eq!(rw["status"], "dead", "revoked by key: {rw}");
    let never = verification(&doc, "x/.npmrc", 1);
    assert_eq!(never["status"], "dead", "200 {{}} names no user: {never}");
    let down = verification(&doc, "down/.npmrc", 1);
    assert_eq!(down["status"], "unknown");
    assert!(
        down["reason"].as_str().unwrap().contains("network error"),
        "{down}"
    );
    let basic = verification(&doc, "app/.yarnrc.yml", 3);
    assert_eq!(
        (basic["status"].as_str(), basic["user"].as_str()),
        (Some("live"), Some(bob.as_str())),
        "{basic}"
    );
    for secret in [&alice_login, &never_issued, &bob_pw] {
        assert!(
            !stdout.contains(secret.as_str()),
            "a secret leaked into the report"
        );
    }
    // Live credentials first; the gate; only-verified; SARIF and human.
    assert_eq!(doc["findings"][0]["verification"]["status"], "live");
    let (code, only, _) = json_scan(dir.path(), &["--only-verified", "--fail-on", "live"]);
    assert_eq!(code, 1);
    assert_eq!(only["findings"].as_array().unwrap().len(), 3);
    let sarif = npmsweep(&["scan", ".", "--verify", "--format", "sarif"], dir.path());
    support::sarif_schema::assert_github_acceptable(&sarif.stdout);
    let sarif: Value = serde_json::from_slice(&sarif.stdout).unwrap();
    support::sarif_schema::assert_schema_valid(&sarif);
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert!(
        results
            .iter()
            .any(|r| r["rank"] == 100.0 && r["properties"]["verification"]["status"] == "live")
    );
    let human = npmsweep(&["scan", ".", "--verify"], dir.path());
    let human = String::from_utf8_lossy(&human.stdout);
    assert!(human.contains(&format!("LIVE as {alice}")), "{human}");
    assert!(human.contains("dead (HTTP"), "{human}");
}

#[test]
fn verdaccio_revoke_prints_the_key_command_and_yes_revokes_it() {
    let Some(v) = verdaccio() else { return };
    let (name, password, login) = user(v);
    let (_, created) = http(
        "POST",
        v.port,
        "/-/npm/v1/tokens",
        Some(&login),
        Some(&serde_json::json!({"password": password, "readonly": false, "cidr_whitelist": []})),
    )
    .unwrap();
    let leaked = created["token"].as_str().unwrap().to_string();
    let key = created["key"].as_str().unwrap().to_string();
    let p = v.port;
    let dir = repo(&[(".npmrc", format!("//127.0.0.1:{p}/:_authToken={leaked}\n"))]);

    // Dry run: the command by key (Verdaccio's listing is masked), nothing revoked.
    let out = npmsweep(&["revoke", "."], dir.path());
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains(&format!(
            "npm token revoke {key} --registry http://127.0.0.1:{p}/"
        )),
        "{text}"
    );
    assert!(text.contains(&format!("live as {name}")), "{text}");
    assert!(!text.contains(&leaked), "{text}");
    let (_, who) = http("GET", p, "/-/whoami", Some(&leaked), None).unwrap();
    assert_eq!(who["username"], name.as_str(), "a dry run revokes nothing");

    // --yes: npm runs as the owner (their own login in their npm config).
    let home = tempfile::tempdir().unwrap();
    let userconfig = home.path().join(".npmrc");
    std::fs::write(
        &userconfig,
        format!("//127.0.0.1:{p}/:_authToken={login}\n"),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_npmsweep"))
        .args(["revoke", ".", "--yes"])
        .current_dir(dir.path())
        .env("npm_config_userconfig", &userconfig)
        .env("npm_config_cache", home.path().join("cache"))
        .env("npm_config_update_notifier", "false")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        text.contains("verified again: dead"),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(0), "{text}");
    let (_, who) = http("GET", p, "/-/whoami", Some(&leaked), None).unwrap();
    assert!(who.get("username").is_none(), "{who}");
    // Nothing live any more: nothing to do.
    let out = npmsweep(&["revoke", "."], dir.path());
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("nothing to revoke"));
}

#[test]
fn revoke_says_where_for_registries_without_a_token_api() {
    // A live answer from a registry at a GitLab-style path: a sentence, not a command.
    let live = serve(Mode::Json(200, r#"{"username":"dora"}"#));
    let t = token(60);
    let dir = repo(&[(
        ".npmrc",
        format!(
            "//127.0.0.1:{}/api/v4/projects/1/packages/npm/:_authToken={t}\n",
            live.port
        ),
    )]);
    let out = npmsweep(&["revoke", "."], dir.path());
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("GitLab"), "{text}");
    assert!(!text.contains("npm token revoke"), "{text}");
    assert!(!text.contains(&t), "{text}");
}

#[test]
fn history_verify_asks_once_for_a_secret_in_many_commits() {
    let server = serve(Mode::Json(200, r#"{"username":"erin"}"#));
    let t = token(70);
    let dir = repo(&[]);
    let git = |args: &[&str]| {
        let out = Command::new("git")
            .args(args)
            .current_dir(dir.path())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("HOME", dir.path())
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
            .output()
            .expect("git");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    git(&["init", "-q", "-b", "main"]);
    let line = format!("//127.0.0.1:{}/:_authToken={t}\n", server.port);
    std::fs::write(dir.path().join(".npmrc"), &line).unwrap();
    git(&["add", ".npmrc"]);
    git(&["commit", "-qm", "one"]);
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    std::fs::write(dir.path().join("sub/.npmrc"), format!("# copied\n{line}")).unwrap();
    git(&["add", "sub/.npmrc"]);
    git(&["commit", "-qm", "two"]);
    std::fs::remove_file(dir.path().join(".npmrc")).unwrap();
    std::fs::remove_file(dir.path().join("sub/.npmrc")).unwrap();
    git(&["commit", "-qam", "three"]);
    let out = npmsweep(
        &[
            "history",
            ".",
            "--verify",
            "--format",
            "json",
            "--fail-on",
            "live",
        ],
        dir.path(),
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let findings = doc["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 2, "{doc:#}");
    assert!(findings.iter().all(|f| f["verification"]["user"] == "erin"));
    // One whoami, and for the live token one look at the token listing.
    let seen = server.requests.lock().unwrap().clone();
    let whoami = seen
        .iter()
        .filter(|r| r.starts_with("GET /-/whoami "))
        .count();
    let listing = seen
        .iter()
        .filter(|r| r.starts_with("GET /-/npm/v1/tokens "))
        .count();
    assert_eq!((whoami, listing), (1, 1), "{seen:?}");
}

#[test]
fn per_host_limit_holds_and_https_is_used_where_the_config_says_so() {
    let slow = serve(Mode::Slow(Duration::from_millis(300)));
    let plain = serve(Mode::Json(200, r#"{"username":"frank"}"#));
    let npmrc: String = (80..86)
        .map(|i| format!("//127.0.0.1:{}/r{i}/:_authToken={}\n", slow.port, token(i)))
        .collect();
    let dir = repo(&[
        (".npmrc", npmrc),
        // An explicit https:// registry is asked over TLS, even on loopback:
        // a plain-HTTP server there is not a registry that accepted it.
        (
            ".yarnrc.yml",
            format!(
                "npmRegistries:\n  \"https://127.0.0.1:{}\":\n    npmAuthToken: {}\n",
                plain.port,
                token(90)
            ),
        ),
    ]);
    let (_, doc, _) = json_scan(dir.path(), &["--verify-per-host", "2"]);
    // Never more than 2 at once at one host (under CPU load the workers may
    // not overlap at all: the limit, not the overlap, is the property).
    let most = slow.max_concurrent.load(Ordering::SeqCst);
    assert!((1..=2).contains(&most), "{most} requests at once");
    let tls = verification(&doc, ".yarnrc.yml", 3);
    assert_eq!(tls["status"], "unknown", "{tls}");
    assert!(tls["reason"].as_str().unwrap().contains("TLS"), "{tls}");
    assert_eq!(
        tls["registry"],
        format!("https://127.0.0.1:{}/", plain.port)
    );
}

#[test]
fn nothing_leaves_the_machine_without_verify() {
    let server = serve(Mode::Json(200, r#"{"username":"hal"}"#));
    let t = token(100);
    let dir = repo(&[(
        ".npmrc",
        format!("//127.0.0.1:{}/:_authToken={t}\n", server.port),
    )]);
    for format in ["human", "json", "sarif", "github"] {
        let out = npmsweep(&["scan", ".", "--format", format], dir.path());
        assert_eq!(out.status.code(), Some(1));
        assert!(!String::from_utf8_lossy(&out.stdout).contains("verification"));
    }
    std::thread::sleep(Duration::from_millis(100));
    assert!(server.requests.lock().unwrap().is_empty());
}

//! `--verify`: ask the registry each credential is bound to whether it
//! still works.
//!
//! What leaves the machine, and nothing else: for each distinct (registry,
//! credential) pair, one `GET <registry>/-/whoami` to that registry's host
//! with the credential in the `Authorization` header (`Bearer` for tokens,
//! `Basic` for `_auth`, `npmAuthIdent` and user/password pairs), and, when
//! the answer names a user and the credential is a token, one
//! `GET <registry>/-/npm/v1/tokens` to the same host to read the token's
//! restrictions. HTTPS only; plain HTTP only to loopback addresses. No
//! redirects are followed, no proxy is used, nothing is logged.
//!
//! The verifier takes findings and [`VerifyOptions`]; it knows nothing of
//! the command line.

pub mod binding;
pub mod http;
pub mod offline;
pub mod revoke;

use crate::finding::Finding;
use binding::Binding;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Outcome of asking a registry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// The registry accepted the credential and named its user.
    Live,
    /// The registry could not be asked or answered something unexpected.
    Unknown,
    /// The registry rejected the credential (401/403, "unauthorized", or an
    /// answer that names no user).
    Dead,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Live => "live",
            Status::Dead => "dead",
            Status::Unknown => "unknown",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        match s {
            "live" => Some(Status::Live),
            "dead" => Some(Status::Dead),
            "unknown" => Some(Status::Unknown),
            _ => None,
        }
    }
}

/// What the registry said about one credential. Never holds the secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Verification {
    pub status: Status,
    /// The user the registry named (live only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The registry asked (`None` when the credential was not sent anywhere).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registry: Option<String>,
    /// Why the status is what it is: `HTTP 401`, `timeout after 10s`, …
    pub reason: String,
    /// What the registry's token listing says about a live token: `readonly`,
    /// `cidr`, `created`, `expires`, `key`.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub token: BTreeMap<String, String>,
    /// Measured reasons the live credential can do more than it should
    /// (`read-write`, `no CIDR restriction`, `no expiry`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub over_privileged: Vec<String>,
}

impl Verification {
    pub fn unknown(registry: Option<String>, reason: impl Into<String>) -> Verification {
        Verification {
            status: Status::Unknown,
            user: None,
            registry,
            reason: reason.into(),
            token: BTreeMap::new(),
            over_privileged: Vec::new(),
        }
    }

    /// One short phrase for the human report: `live: alice`, `dead (HTTP 401)`.
    pub fn summary(&self) -> String {
        match (self.status, &self.user) {
            (Status::Live, Some(user)) => {
                let mut s = format!("LIVE as {user}");
                if !self.over_privileged.is_empty() {
                    s.push_str(&format!(
                        ", over-privileged: {}",
                        self.over_privileged.join(", ")
                    ));
                }
                s
            }
            (status, _) => format!("{} ({})", status.as_str(), self.reason),
        }
    }
}

/// How to verify (the high-level options; the CLI builds them).
#[derive(Clone, Debug)]
pub struct VerifyOptions {
    /// Timeout of one request (connect to last byte).
    pub timeout: Duration,
    /// Time budget of the whole verification; what has not started by then
    /// is `unknown` ("deadline").
    pub deadline: Duration,
    /// Requests in flight to one host at a time.
    pub per_host: usize,
    /// Where `npm_` tokens found without a registry binding are checked.
    pub public_registry: String,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions {
            timeout: Duration::from_secs(10),
            deadline: Duration::from_secs(60),
            per_host: 4,
            public_registry: binding::PUBLIC_REGISTRY.to_string(),
        }
    }
}

/// What verification did, for the summary and notes.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Distinct (registry, credential) pairs asked about.
    pub asked: usize,
    pub live: usize,
    pub dead: usize,
    pub unknown: usize,
}

/// Verify every finding that carries a secret, each distinct (registry,
/// credential) pair once, and record the result on the findings.
pub fn verify(findings: &mut [Finding], opts: &VerifyOptions) -> Outcome {
    let started = Instant::now();
    // Distinct requests, in first-seen order (deterministic scheduling).
    let mut jobs: Vec<(String, Binding)> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut per_finding: Vec<Option<Result<usize, Verification>>> = Vec::new();
    for f in findings.iter() {
        let entry = match binding::bind(f, &opts.public_registry) {
            None => None,
            Some(Err(reason)) => Some(Err(Verification::unknown(None, reason))),
            Some(Ok(b)) => {
                let key = b.dedup_key();
                let next = jobs.len();
                let i = *index.entry(key.clone()).or_insert(next);
                if i == next {
                    jobs.push((key, b));
                }
                Some(Ok(i))
            }
        };
        per_finding.push(entry);
    }

    let results = run_jobs(&jobs, opts, started);

    let mut outcome = Outcome {
        asked: jobs.len(),
        ..Outcome::default()
    };
    for r in &results {
        match r.status {
            Status::Live => outcome.live += 1,
            Status::Dead => outcome.dead += 1,
            Status::Unknown => outcome.unknown += 1,
        }
    }
    for (f, entry) in findings.iter_mut().zip(per_finding) {
        f.verification = match entry {
            None => None,
            Some(Err(v)) => Some(v),
            Some(Ok(i)) => Some(results[i].clone()),
        };
    }
    outcome
}

/// Requests in flight at once, over all hosts: a history full of
/// registries must not open hundreds of connections.
pub const MAX_IN_FLIGHT: usize = 16;

/// The work queues: one per host, and how many requests each host has in
/// flight.
struct Queues {
    pending: Vec<VecDeque<usize>>,
    in_flight: Vec<usize>,
}

impl Queues {
    /// The next job of a host below its limit: `Some((host, job))`, or
    /// `None` with `true` when everything has been taken.
    fn take(&mut self, per_host: usize) -> (Option<(usize, usize)>, bool) {
        let mut all_taken = true;
        for (host, queue) in self.pending.iter_mut().enumerate() {
            if queue.is_empty() {
                continue;
            }
            all_taken = false;
            if self.in_flight[host] < per_host {
                let job = queue.pop_front().expect("non-empty queue");
                self.in_flight[host] += 1;
                return (Some((host, job)), false);
            }
        }
        (None, all_taken)
    }
}

/// Run the requests: a pool of at most [`MAX_IN_FLIGHT`] workers, at most
/// `per_host` of them on one host, all bounded by the total deadline.
fn run_jobs(
    jobs: &[(String, Binding)],
    opts: &VerifyOptions,
    started: Instant,
) -> Vec<Verification> {
    let deadline = started + opts.deadline;
    let mut by_host: BTreeMap<&str, VecDeque<usize>> = BTreeMap::new();
    for (i, (_, b)) in jobs.iter().enumerate() {
        by_host.entry(b.host.as_str()).or_default().push_back(i);
    }
    let hosts = by_host.len();
    let queues = Mutex::new(Queues {
        pending: by_host.into_values().collect(),
        in_flight: vec![0; hosts],
    });
    let done = std::sync::Condvar::new();
    let per_host = opts.per_host.max(1);
    let results: Vec<Mutex<Option<Verification>>> = jobs.iter().map(|_| Mutex::new(None)).collect();
    let client = http::Client::new(opts.timeout);
    let workers = MAX_IN_FLIGHT.min(jobs.len());
    std::thread::scope(|scope| {
        for _ in 0..workers {
            let (client, results, queues, done) = (&client, &results, &queues, &done);
            scope.spawn(move || {
                loop {
                    let mut q = queues.lock().expect("verify queues");
                    let (host, i) = loop {
                        match q.take(per_host) {
                            (Some(next), _) => break next,
                            (None, true) => return,
                            // Every remaining job's host is at its limit.
                            (None, false) => q = done.wait(q).expect("verify queues"),
                        }
                    };
                    drop(q);
                    let b = &jobs[i].1;
                    let now = Instant::now();
                    let v = if now >= deadline {
                        Verification::unknown(
                            Some(b.registry.clone()),
                            format!(
                                "not asked: the total deadline of {}s was reached",
                                opts.deadline.as_secs()
                            ),
                        )
                    } else {
                        client.verify(b, deadline - now)
                    };
                    *results[i].lock().expect("verify result") = Some(v);
                    queues.lock().expect("verify queues").in_flight[host] -= 1;
                    done.notify_all();
                }
            });
        }
    });
    results
        .into_iter()
        .map(|m| {
            m.into_inner()
                .expect("verify result")
                .expect("every job ran")
        })
        .collect()
}

/// Live first, then unknown, dead, unverified: the rank of a finding in
/// every report. Findings without a verification all rank the same, so the
/// order without `--verify` is unchanged.
pub fn rank(f: &Finding) -> u8 {
    match f.verification.as_ref().map(|v| v.status) {
        Some(Status::Live) => 0,
        _ => 1,
    }
}

pub use binding::PUBLIC_REGISTRY;

//! Credentials by use, not by name: follow each `secrets.X` / `vars.X`
//! from where it enters (an `env:` entry at workflow, job or step level, a
//! `with:` input, a `${{ … }}` pasted into `run:`, a reusable workflow's
//! `secrets:`) to what the steps that can see it do with it.
//!
//! A use reaches **npm** when the value lands where npm, pnpm, Yarn or
//! setup-node's `.npmrc` read credentials (`NODE_AUTH_TOKEN`, `NPM_TOKEN`,
//! `npm_config_*`, `YARN_NPM_AUTH_TOKEN`), in `npm config set`, in an
//! `_authToken`/`npmAuthToken` line, in a package-manager command, or in a
//! publishing action's input. A use feeds the **GitHub API** when it lands
//! in `GH_TOKEN`/`GITHUB_TOKEN`, a `gh` or `git` command, a request to
//! `github.com`, or the `token`/`github-token` input of an action that does
//! not publish to npm. A secret whose every seen use is a GitHub one is not
//! an npm credential, whatever its name ([`SecretUses::foreign`]).

use super::shell::{Command, Word};
use super::{Job, Step, Workflow, context_refs, publish_action};
use std::collections::BTreeSet;

/// What a use of a value does with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Use {
    /// Reaches npm's authentication.
    Npm,
    /// Feeds the GitHub API (or git over HTTPS).
    GitHub,
}

/// Env var names npm, pnpm, Yarn and setup-node's `.npmrc` read a token from.
pub fn npm_auth_env(name: &str) -> bool {
    let l = name.to_ascii_lowercase();
    matches!(
        l.as_str(),
        "node_auth_token"
            | "npm_token"
            | "npm_auth_token"
            | "yarn_npm_auth_token"
            | "bun_auth_token"
    ) || (l.starts_with("npm_config_") && (l.contains("auth") || l.ends_with("token")))
}

/// Env var names `gh`, Octokit-based tools and actions read a GitHub token from.
pub fn github_api_env(name: &str) -> bool {
    matches!(
        name.to_ascii_uppercase().as_str(),
        "GH_TOKEN" | "GITHUB_TOKEN" | "GH_ENTERPRISE_TOKEN" | "GITHUB_ENTERPRISE_TOKEN"
    )
}

/// `secrets.GITHUB_TOKEN` / `github.token`: minted per job, expires with it.
pub fn is_job_token(source: &str) -> bool {
    let s = source.to_ascii_lowercase();
    s.contains("secrets.github_token") || s.contains("github.token")
}

/// How each secret (`secrets.X`, `vars.X`) of a workflow is used.
#[derive(Debug, Default)]
pub struct SecretUses {
    npm: BTreeSet<String>,
    github: BTreeSet<String>,
}

impl SecretUses {
    pub fn of(wf: &Workflow) -> SecretUses {
        let mut u = SecretUses::default();
        for job in &wf.jobs {
            for e in &job.secrets {
                // A reusable workflow's secret: its name in the callee says
                // what it is for.
                let role = if npm_auth_env(&e.name) {
                    Some(Use::Npm)
                } else if github_api_env(&e.name) {
                    Some(Use::GitHub)
                } else {
                    None
                };
                u.record(&e.value.value, role);
            }
            for step in &job.steps {
                u.step(wf, job, step);
            }
        }
        u
    }

    /// Every seen use of `source` feeds the GitHub API: not an npm credential.
    pub fn foreign(&self, source: &str) -> bool {
        self.github.contains(source) && !self.npm.contains(source)
    }

    /// Some use of `source` reaches npm's authentication.
    pub fn reaches_npm(&self, source: &str) -> bool {
        self.npm.contains(source)
    }

    fn record(&mut self, value: &str, role: Option<Use>) {
        let Some(role) = role else { return };
        for r in context_refs(value) {
            if r.context != "secrets" && r.context != "vars" {
                continue;
            }
            let source = format!("{}.{}", r.context, r.name);
            match role {
                Use::Npm => self.npm.insert(source),
                Use::GitHub => self.github.insert(source),
            };
        }
    }

    fn step(&mut self, wf: &Workflow, job: &Job, step: &Step) {
        let env = wf.effective_env(job, step);
        // Env entries: by the variable's own name, else by what the step
        // does with `$VAR` / `${{ env.VAR }}`.
        for e in &env {
            let role = if npm_auth_env(&e.name) {
                Some(Use::Npm)
            } else if github_api_env(&e.name) {
                Some(Use::GitHub)
            } else {
                step_use_of_var(step, &e.name)
            };
            self.record(&e.value.value, role);
        }
        // `with:` inputs, directly or through `${{ env.VAR }}`.
        for (k, _, v) in &step.with {
            let role = input_use(step, k);
            self.record(&v.value, role);
            for r in context_refs(&v.value)
                .into_iter()
                .filter(|r| r.context == "env")
            {
                if let Some(e) = env.iter().find(|e| e.name == r.name) {
                    self.record(&e.value.value, role);
                }
            }
        }
        // `${{ secrets.X }}` pasted into a command of `run:`.
        if let Some(run) = &step.run {
            for c in &run.script.commands {
                for w in c.words() {
                    for &i in &w.exprs {
                        if let Some(e) = run.script.exprs.get(i) {
                            let inner = format!("${{{{ {} }}}}", e.inner);
                            self.record(&inner, command_use(c, w));
                        }
                    }
                }
            }
        }
    }
}

/// What a step does with env var `name`: the strongest use among the
/// commands that expand it and the inputs that read `env.name`.
fn step_use_of_var(step: &Step, name: &str) -> Option<Use> {
    let mut found = None;
    for c in step.commands() {
        for w in c.words() {
            if w.vars.iter().any(|v| v.name == name) || w.sub_vars.iter().any(|v| v.name == name) {
                match command_use(c, w) {
                    Some(Use::Npm) => return Some(Use::Npm),
                    Some(Use::GitHub) => found = Some(Use::GitHub),
                    None => {}
                }
            }
        }
    }
    found
}

/// What a command does with the value expanded in word `w`.
fn command_use(c: &Command, w: &Word) -> Option<Use> {
    let v = w.value.as_str();
    // A config line or `$GITHUB_ENV` assignment says where the value goes.
    if [
        "_authToken",
        "_auth=",
        "_password",
        "npmAuthToken",
        "npmAuthIdent",
    ]
    .iter()
    .any(|k| v.contains(k))
    {
        return Some(Use::Npm);
    }
    if let Some((lhs, _)) = v.split_once('=') {
        let lhs = lhs.trim_start_matches(['"', '\'']);
        if npm_auth_env(lhs) {
            return Some(Use::Npm);
        }
        if github_api_env(lhs) {
            return Some(Use::GitHub);
        }
    }
    let all: String = c.argv().collect::<Vec<_>>().join(" ");
    let npm_host = |s: &str| {
        s.contains("registry.npmjs.") || s.contains("npm.pkg.github.com") || s.contains(".npmrc")
    };
    match c.name.as_str() {
        "npm" | "npx" | "pnpm" | "pn" | "pnpx" | "yarn" | "bun" | "bunx" => Some(Use::Npm),
        "gh" => Some(Use::GitHub),
        "git" => Some(Use::GitHub),
        "curl" | "wget" | "http" | "https" => {
            if npm_host(&all) {
                Some(Use::Npm)
            } else if all.contains("github.com") || all.contains("api.github") {
                Some(Use::GitHub)
            } else {
                None
            }
        }
        _ if npm_host(&all) => Some(Use::Npm),
        _ => None,
    }
}

/// What an action does with input `key`.
fn input_use(step: &Step, key: &str) -> Option<Use> {
    let k = key.to_ascii_lowercase().replace('_', "-");
    if k.contains("npm") || k.contains("node-auth") || k.contains("registry-token") {
        return Some(Use::Npm);
    }
    let tokenish = matches!(
        k.as_str(),
        "token" | "github-token" | "repo-token" | "gh-token" | "github-api-token"
    );
    if !tokenish {
        return None;
    }
    if publish_action(step).is_some() {
        // `JS-DevTools/npm-publish`'s `token` is the npm token; the GitHub
        // token of a publishing action is named `github-token`.
        return if k == "token" {
            Some(Use::Npm)
        } else {
            Some(Use::GitHub)
        };
    }
    // Any other action: `actions/github-script`, `actions/setup-node`
    // (its `token` fetches Node builds), release and labelling actions.
    Some(Use::GitHub)
}

/// What a finding about the job's own `GITHUB_TOKEN` should add: there is
/// nothing to revoke, only its reach to limit.
pub fn job_token_note(source: &str) -> &'static str {
    if is_job_token(source) {
        " (the job's GITHUB_TOKEN, here for GitHub Packages: it expires when the job ends, so there is nothing to revoke; limit it with `permissions: packages: write` on the publishing job only)"
    } else {
        ""
    }
}

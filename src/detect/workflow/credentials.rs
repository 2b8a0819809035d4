//! What counts as an npm credential: `secrets.X`/`vars.X` (or env vars)
//! whose name says so, and the shell variables of a step that end up
//! holding one.

use super::shell::{Command, Script, Word};
use super::{Credential, Ctx, Job, Step, Workflow, is_job_token};
use crate::detect::DetectOptions;
use crate::detect::envassign::is_credential_name;
use crate::detect::values::{ValueClass, classify};
use regex::Regex;
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// A `secrets.NAME` or `vars.NAME` reference inside a value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContextRef {
    pub context: String,
    pub name: String,
}

fn context_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r#"\b(secrets|vars|inputs|env)\s*(?:\.\s*([A-Za-z_][A-Za-z0-9_-]*)|\[\s*['"]([^'"]+)['"]\s*\])"#)
            .expect("valid regex")
    })
}

/// `secrets.X` / `vars.X` / `inputs.X` / `env.X` references in an
/// expression or a value.
pub fn context_refs(text: &str) -> Vec<ContextRef> {
    context_re()
        .captures_iter(text)
        .map(|c| ContextRef {
            context: c[1].to_string(),
            name: c
                .get(2)
                .or_else(|| c.get(3))
                .map(|m| m.as_str().to_string())
                .unwrap_or_default(),
        })
        .collect()
}

/// A secret name that says the token can only read.
pub fn read_only_name(name: &str) -> bool {
    let up = name.to_ascii_uppercase();
    up.contains("READ") || up.ends_with("_RO") || up.contains("_RO_") || up.contains("INSTALL")
}

/// A credential name that does not rely on `key`/`secret` alone.
fn strong_credential_name(name: &str) -> bool {
    let l = name.to_ascii_lowercase();
    ["token", "auth", "pass"].iter().any(|w| l.contains(w)) && !l.ends_with("always_auth")
}

/// Is this `name: value` (an env entry or input) an npm credential by its
/// names? [`Workflow::credential`] also weighs what the secret is used for.
pub fn credential(name: &str, value: &str, opts: &DetectOptions) -> Option<Credential> {
    credential_by_name(name, value, opts).map(|mut c| {
        c.job_token = is_job_token(&c.source);
        c
    })
}

fn credential_by_name(name: &str, value: &str, opts: &DetectOptions) -> Option<Credential> {
    let extra = &opts.extra_credential_names;
    let refs = context_refs(value);
    if let Some(r) = refs.iter().find(|r| is_credential_name(&r.name, extra)) {
        return Some(Credential {
            source: format!("{}.{}", r.context, r.name),
            registered: r.context == "secrets",
            read_only: read_only_name(&r.name),
            job_token: false,
        });
    }
    if !is_credential_name(name, extra) {
        return None;
    }
    if let Some(r) = refs.first() {
        return Some(Credential {
            source: format!("{}.{}", r.context, r.name),
            registered: r.context == "secrets",
            read_only: read_only_name(&r.name),
            job_token: false,
        });
    }
    let v = value.trim();
    // Without a secret behind it, only a name that plainly says "token"
    // (not `NPM_CACHE_KEY`) and a value that could be one count.
    if !strong_credential_name(name) {
        return None;
    }
    if v.contains("${{") {
        // A step output or another expression: not a registered secret.
        return Some(Credential {
            source: v.to_string(),
            registered: false,
            read_only: read_only_name(name),
            job_token: false,
        });
    }
    match classify(v, &opts.extra_placeholders) {
        ValueClass::Empty | ValueClass::Placeholder => None,
        ValueClass::EnvReference => Some(Credential {
            source: v.to_string(),
            registered: false,
            read_only: read_only_name(name),
            job_token: false,
        }),
        _ if v.len() < 16 || v.contains(char::is_whitespace) => None,
        _ => Some(Credential {
            source: "a literal value".into(),
            registered: false,
            read_only: read_only_name(name),
            job_token: false,
        }),
    }
}

/// Is an expression (`secrets.NPM_TOKEN`, `secrets.NPM_TOKEN || ''`…) a
/// credential value pasted as is? Comparisons and negations yield booleans.
pub fn expr_credential(inner: &str, opts: &DetectOptions) -> Option<ContextRef> {
    if ["==", "!=", "<", ">"].iter().any(|op| inner.contains(op))
        || inner.trim_start().starts_with('!')
    {
        return None;
    }
    context_refs(inner)
        .into_iter()
        .find(|r| is_credential_name(&r.name, &opts.extra_credential_names))
}

/// Is the step's script POSIX shell? `shell: pwsh|powershell|cmd|python`
/// and the Windows runners' default (PowerShell) are not analysed as bash.
pub fn posix_shell(wf: &Workflow, job: &Job, step: &Step) -> bool {
    let shell = step
        .shell
        .as_ref()
        .map(|s| s.value.as_str())
        .or(job.default_shell.as_deref())
        .or(wf.default_shell.as_deref());
    match shell {
        Some(s) => {
            let first = s.split_whitespace().next().unwrap_or("");
            let name = first.rsplit(['/', '\\']).next().unwrap_or(first);
            !matches!(
                name.to_ascii_lowercase().trim_end_matches(".exe"),
                "pwsh" | "powershell" | "cmd" | "python" | "python3"
            )
        }
        None => {
            job.runs_on.is_empty()
                || !job
                    .runs_on
                    .iter()
                    .all(|l| l.trim().to_ascii_lowercase().starts_with("windows"))
        }
    }
}

/// How a shell variable holding a credential got it.
#[derive(Clone, Debug)]
pub struct ShellCred {
    pub source: String,
    pub registered: bool,
    pub transformed: bool,
}

/// The shell variables of a step that hold an npm credential: the
/// credential env vars in scope, names that say so, and script variables
/// assigned from either (tracked in order by [`StepShell::assign`]).
pub struct StepShell<'a> {
    pub cx: &'a Ctx<'a>,
    pub vars: BTreeMap<String, ShellCred>,
    pub script: &'a Script,
}

impl<'a> StepShell<'a> {
    pub fn new(cx: &'a Ctx<'a>, job: &'a Job, step: &'a Step) -> Option<StepShell<'a>> {
        let run = step.run.as_ref()?;
        if !posix_shell(cx.wf, job, step) {
            return None;
        }
        let mut vars = BTreeMap::new();
        for (e, c) in cx.wf.step_credentials(job, step, cx.opts) {
            vars.insert(
                e.name.clone(),
                ShellCred {
                    source: c.source,
                    registered: c.registered,
                    transformed: false,
                },
            );
        }
        Some(StepShell {
            cx,
            vars,
            script: &run.script,
        })
    }

    /// The credential a word expands, if any.
    pub fn word_cred(&self, w: &Word) -> Option<ShellCred> {
        for v in &w.vars {
            if let Some(c) = self.vars.get(&v.name) {
                let mut c = c.clone();
                c.transformed |= v.transformed;
                return Some(c);
            }
            if is_credential_name(&v.name, &self.cx.opts.extra_credential_names) {
                return Some(ShellCred {
                    source: format!("${}", v.name),
                    registered: false,
                    transformed: v.transformed,
                });
            }
        }
        for &i in &w.exprs {
            if let Some(r) = self
                .script
                .exprs
                .get(i)
                .and_then(|e| expr_credential(&e.inner, self.cx.opts))
                && !self
                    .cx
                    .wf
                    .secret_uses
                    .foreign(&format!("{}.{}", r.context, r.name))
            {
                return Some(ShellCred {
                    source: format!("{}.{}", r.context, r.name),
                    registered: r.context == "secrets",
                    transformed: false,
                });
            }
        }
        None
    }

    /// Record assignments of a command (`TOKEN=$NPM_TOKEN`, `export X=…`).
    pub fn assign(&mut self, c: &Command) {
        // Prefix assignments (`X=1 cmd`) only last for that command, but
        // tracking them does no harm for printing checks.
        for a in &c.assigns {
            // `X=$(echo "$T" | rev)`: derived from the credential, transformed.
            let derived = || {
                let inner = Word {
                    vars: a.value.sub_vars.clone(),
                    ..Word::default()
                };
                self.word_cred(&inner).map(|mut c| {
                    c.transformed = true;
                    c
                })
            };
            match self.word_cred(&a.value).or_else(derived) {
                Some(mut cred) => {
                    cred.transformed |= a.value.substitution;
                    self.vars.insert(a.name.clone(), cred);
                }
                None => {
                    self.vars.remove(&a.name);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials() {
        let o = DetectOptions::default();
        assert!(credential("NODE_AUTH_TOKEN", "${{ secrets.NPM_TOKEN }}", &o).is_some());
        assert!(credential("TOKEN", "${{ secrets.NPM_TOKEN }}", &o).is_some());
        assert!(credential("GITHUB_TOKEN", "${{ secrets.GITHUB_TOKEN }}", &o).is_none());
        assert!(credential("NODE_AUTH_TOKEN", "", &o).is_none());
        assert!(credential("NPM_CONFIG_ALWAYS_AUTH", "true", &o).is_none());
        assert!(credential("NPM_CACHE_KEY", "${{ hashFiles('x') }}", &o).is_none());
        assert!(credential("NODE_AUTH_TOKEN", "${{ steps.t.outputs.token }}", &o).is_some());
        assert!(
            credential("NODE_AUTH_TOKEN", "${{ secrets.NPM_READ_TOKEN }}", &o)
                .unwrap()
                .read_only
        );
        let extra = DetectOptions {
            extra_credential_names: vec!["REGISTRY_PUSH".into()],
            ..DetectOptions::default()
        };
        assert!(credential("X", "${{ secrets.REGISTRY_PUSH }}", &extra).is_some());
        assert!(expr_credential("secrets.NPM_TOKEN != ''", &o).is_none());
        assert!(expr_credential("secrets.NPM_TOKEN", &o).is_some());
        assert!(expr_credential("secrets['NPM_TOKEN']", &o).is_some());
    }
}

//! What stands between an outsider's event and a job or a step, beyond its
//! own `if:`: the jobs it `needs` must succeed first (unless its condition
//! runs after a failure), and a step that exits non-zero for anyone but a
//! member — a membership check written in shell,
//! `if [[ "$ASSOCIATION" != MEMBER ]]; then exit 1; fi` — stops its job
//! there. Conditions are weighed together ([`outsider_can_pass_all`]): a
//! dependent job that tests the same step output as the `if:` of the gate
//! cannot skip the gate.
//!
//! `needs`, job `outputs` and `continue-on-error` are read from the file
//! here (the shared model does not carry them); step indexes match the
//! model's (sequence items that are mappings).

use super::expr::{self, CmpOp, Expr, map_paths, outsider_can_pass_all, runs_after_failure};
use super::{Ctx, Job, Step, posix_shell, shell};
use crate::detect::yaml;
use marked_yaml::Node;
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use tree_sitter::Parser;

/// `needs` chains followed at most this deep (a cycle is a broken file).
const MAX_NEEDS_DEPTH: usize = 8;

/// What the model does not carry, per job id.
#[derive(Default)]
struct JobFacts {
    needs: Vec<String>,
    /// Output name (lower-cased) → its value as written.
    outputs: BTreeMap<String, String>,
    continue_on_error: bool,
    /// `continue-on-error` of each step, by the model's step index.
    step_continue_on_error: Vec<bool>,
}

pub struct Reach<'a> {
    cx: &'a Ctx<'a>,
    facts: BTreeMap<String, JobFacts>,
    /// Names for unknown shell operands, each distinct.
    fresh: Cell<usize>,
}

impl<'a> Reach<'a> {
    pub fn new(cx: &'a Ctx<'a>) -> Reach<'a> {
        Reach {
            cx,
            facts: job_facts(cx.text),
            fresh: Cell::new(0),
        }
    }

    /// Can an outsider, through `event`, get `job` to start?
    pub fn job(&self, job: &Job, event: &str) -> bool {
        outsider_can_pass_all(&self.start_conditions(job, 0), event)
    }

    /// Can an outsider, through `event`, get `step` of `job` to run: the
    /// job starts, the step's `if:` holds, and no gate before it stopped
    /// the job (unless the step runs after a failure)?
    pub fn step(&self, job: &Job, step: &Step, event: &str) -> bool {
        let mut conds = self.start_conditions(job, 0);
        let own = step
            .condition
            .as_ref()
            .map(|c| self.condition(job, &c.value));
        let after_failure = own.as_ref().is_some_and(runs_after_failure);
        conds.extend(own);
        if !after_failure {
            conds.extend(self.passed_gates(job, step.index));
        }
        outsider_can_pass_all(&conds, event)
    }

    /// What must hold for `job` to start: its `if:`, and unless that runs
    /// after a failure, every needed job started and passed its gates.
    fn start_conditions(&self, job: &Job, depth: usize) -> Vec<Expr> {
        let mut out = Vec::new();
        let own = job
            .condition
            .as_ref()
            .map(|c| self.condition(job, &c.value));
        let after_failure = own.as_ref().is_some_and(runs_after_failure);
        out.extend(own);
        if after_failure || depth >= MAX_NEEDS_DEPTH {
            return out;
        }
        let Some(facts) = self.facts.get(&job.id) else {
            return out;
        };
        for need in &facts.needs {
            let Some(needed) = self.cx.wf.jobs.iter().find(|j| &j.id == need) else {
                continue;
            };
            out.extend(self.start_conditions(needed, depth + 1));
            if !self.facts.get(need).is_some_and(|f| f.continue_on_error) {
                out.push(self.finished_conditions(needed));
            }
        }
        out
    }

    /// What must hold for `job` to succeed for the outsider: each of its
    /// gates skipped (`!(its if:)`, or `false` for one without `if:`).
    fn finished_conditions(&self, job: &Job) -> Expr {
        let mut all = Expr::Bool(true);
        for step in &job.steps {
            if self.stops_outsiders(job, step) {
                all = Expr::And(Box::new(all), Box::new(self.skipped(job, step)));
            }
        }
        all
    }

    /// For the gates before step `before` in `job`: each must be skipped.
    fn passed_gates(&self, job: &Job, before: usize) -> Vec<Expr> {
        job.steps[..before.min(job.steps.len())]
            .iter()
            .filter(|s| self.stops_outsiders(job, s))
            .map(|s| self.skipped(job, s))
            .collect()
    }

    /// `!(if:)` of a step, `false` when it always runs.
    fn skipped(&self, job: &Job, step: &Step) -> Expr {
        match &step.condition {
            Some(c) => Expr::Not(Box::new(self.condition(job, &c.value))),
            None => Expr::Bool(false),
        }
    }

    /// A job's or step's `if:` in the terms shared across jobs: the job's
    /// `steps.*` named apart from other jobs', `needs.<job>.outputs.<name>`
    /// replaced by what that output holds. Unparsable: unknown.
    fn condition(&self, job: &Job, text: &str) -> Expr {
        match expr::parse_condition(text) {
            Ok(e) => self.scoped(job, &e, 0),
            Err(_) => self.unknown(),
        }
    }

    fn scoped(&self, job: &Job, e: &Expr, depth: usize) -> Expr {
        map_paths(e, &|p: &str| {
            if let Some(rest) = p.strip_prefix("steps.") {
                return Some(Expr::Path(format!("jobs.{}.steps.{rest}", job.id)));
            }
            let rest = p.strip_prefix("needs.")?;
            let (need, output) = rest.split_once(".outputs.")?;
            let needed = self
                .cx
                .wf
                .jobs
                .iter()
                .find(|j| j.id.eq_ignore_ascii_case(need))?;
            let value = self.facts.get(&needed.id)?.outputs.get(output)?;
            // Only an output that is one expression is known to equal it.
            let inner = value
                .trim()
                .strip_prefix("${{")?
                .strip_suffix("}}")
                .filter(|i| !i.contains("${{"))?;
            let parsed = expr::parse(inner).ok()?;
            (depth < MAX_NEEDS_DEPTH).then(|| self.scoped(needed, &parsed, depth + 1))
        })
    }

    /// An unknown that equals no other.
    fn unknown(&self) -> Expr {
        let n = self.fresh.get();
        self.fresh.set(n + 1);
        Expr::Path(format!("shell.unknown.{n}"))
    }

    /// Does the step fail for every outsider, whatever untrusted event: a
    /// top-level membership check in its shell script that exits non-zero
    /// unless the outsider could pass it? (`continue-on-error` undoes it.)
    fn stops_outsiders(&self, job: &Job, step: &Step) -> bool {
        let Some(run) = &step.run else {
            return false;
        };
        let continues = self
            .facts
            .get(&job.id)
            .and_then(|f| f.step_continue_on_error.get(step.index))
            .copied()
            .unwrap_or(true);
        if continues
            || run.script.has_errors
            || run.script.not_analysed.is_some()
            || !run.body.contains("exit")
            || !posix_shell(self.cx.wf, job, step)
        {
            return false;
        }
        let env = self.cx.wf.effective_env(job, step);
        let operand = |text: &str| self.operand(text, &env);
        exit_guards(&run.body, &operand).into_iter().any(|g| {
            // The outsider gets past when the test can take the value
            // that does not exit, through any untrusted event.
            let pass = if g.exits_when {
                Expr::Not(Box::new(g.test))
            } else {
                g.test
            };
            !super::token_untrusted_trigger::UNTRUSTED
                .iter()
                .any(|event| outsider_can_pass_all(std::slice::from_ref(&pass), event))
        })
    }

    /// A shell operand as an expression: a literal, a `${{ … }}` pasted in,
    /// or a variable the step's `env:` sets to either.
    fn operand(&self, text: &str, env: &[&super::EnvVar]) -> Expr {
        let t = unquote(text);
        if let Some(e) = single_expression(t) {
            return e;
        }
        if let Some(name) = variable_name(t) {
            return match env.iter().find(|e| e.name == name) {
                Some(var) => match single_expression(var.value.value.trim()) {
                    Some(e) => e,
                    None if !var.value.value.contains('$') => Expr::Str(var.value.value.clone()),
                    None => self.unknown(),
                },
                None => self.unknown(),
            };
        }
        if t.contains(['$', '`', '*', '?', '[']) {
            return self.unknown();
        }
        Expr::Str(t.to_string())
    }
}

/// The job facts the model does not carry, from the workflow's text.
fn job_facts(text: &str) -> BTreeMap<String, JobFacts> {
    let mut out = BTreeMap::new();
    let Ok(root) = yaml::parse(text) else {
        return out;
    };
    let Some(jobs) = root
        .as_mapping()
        .and_then(|m| m.get_node("jobs"))
        .and_then(Node::as_mapping)
    else {
        return out;
    };
    let set = |n: Option<&Node>| match n.and_then(Node::as_scalar) {
        None => false,
        // An expression may be true.
        Some(s) => !s.as_str().trim().eq_ignore_ascii_case("false"),
    };
    for (id, job) in jobs.iter() {
        let Some(job) = job.as_mapping() else {
            continue;
        };
        let mut facts = JobFacts {
            continue_on_error: set(job.get_node("continue-on-error")),
            ..JobFacts::default()
        };
        match job.get_node("needs") {
            Some(Node::Scalar(s)) => facts.needs.push(s.as_str().trim().to_string()),
            Some(Node::Sequence(seq)) => facts.needs.extend(
                seq.iter()
                    .filter_map(Node::as_scalar)
                    .map(|s| s.as_str().trim().to_string()),
            ),
            _ => {}
        }
        if let Some(outputs) = job.get_node("outputs").and_then(Node::as_mapping) {
            for (k, v) in outputs.iter() {
                if let Some(v) = v.as_scalar() {
                    facts
                        .outputs
                        .insert(k.as_str().to_ascii_lowercase(), v.as_str().to_string());
                }
            }
        }
        if let Some(steps) = job.get_node("steps").and_then(Node::as_sequence) {
            facts.step_continue_on_error = steps
                .iter()
                .filter_map(Node::as_mapping)
                .map(|s| set(s.get_node("continue-on-error")))
                .collect();
        }
        out.insert(id.as_str().to_string(), facts);
    }
    out
}

fn unquote(t: &str) -> &str {
    let t = t.trim();
    for q in ['"', '\''] {
        if let Some(inner) = t.strip_prefix(q).and_then(|r| r.strip_suffix(q)) {
            return inner;
        }
    }
    t
}

/// `${{ expr }}` and nothing else.
fn single_expression(t: &str) -> Option<Expr> {
    let inner = t.strip_prefix("${{")?.strip_suffix("}}")?;
    if inner.contains("${{") {
        return None;
    }
    expr::parse(inner).ok()
}

/// `$NAME` or `${NAME}` and nothing else.
fn variable_name(t: &str) -> Option<&str> {
    let name = t.strip_prefix('$')?;
    let name = name
        .strip_prefix('{')
        .and_then(|n| n.strip_suffix('}'))
        .unwrap_or(name);
    (!name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
        .then_some(name)
}

/// A top-level check that ends the script with a non-zero status when its
/// test is `exits_when`.
pub struct ExitGuard {
    pub test: Expr,
    pub exits_when: bool,
}

/// The exit guards at the top level of a shell body: `if TEST; then …
/// exit 1; fi` (or the `else` branch exiting), `TEST || exit 1`,
/// `TEST && exit 1`. `operand` turns each side of a comparison into an
/// expression; anything else in a test is unknown.
pub fn exit_guards(body: &str, operand: &dyn Fn(&str) -> Expr) -> Vec<ExitGuard> {
    thread_local! {
        static PARSER: RefCell<Option<Parser>> = const { RefCell::new(None) };
    }
    let mut masked = body.as_bytes().to_vec();
    for e in shell::find_exprs(body) {
        masked[e.range].fill(b'_');
    }
    let Some(tree) = PARSER.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            let mut p = Parser::new();
            p.set_language(&tree_sitter_bash::LANGUAGE.into()).ok()?;
            *slot = Some(p);
        }
        slot.as_mut()?.parse(&masked, None)
    }) else {
        return Vec::new();
    };
    let root = tree.root_node();
    if root.has_error() {
        return Vec::new();
    }
    let tr = Translator { body, operand };
    let mut out = Vec::new();
    let mut cursor = root.walk();
    for stmt in root.named_children(&mut cursor) {
        match stmt.kind() {
            "if_statement" => out.extend(tr.if_guard(stmt)),
            "list" => out.extend(tr.list_guard(stmt)),
            _ => {}
        }
    }
    out
}

struct Translator<'t> {
    /// The original body (the parsed one has `${{ }}` masked).
    body: &'t str,
    operand: &'t dyn Fn(&str) -> Expr,
}

impl<'t> Translator<'t> {
    fn text(&self, n: tree_sitter::Node) -> &'t str {
        self.body.get(n.byte_range()).unwrap_or("")
    }

    /// `if TEST; then A; else B; fi` where exactly one of A and B exits
    /// non-zero (no `elif`).
    fn if_guard(&self, n: tree_sitter::Node) -> Option<ExitGuard> {
        let mut cursor = n.walk();
        let conditions: Vec<_> = n
            .children_by_field_name("condition", &mut cursor)
            .filter(|c| c.is_named())
            .collect();
        let [condition] = conditions.as_slice() else {
            return None;
        };
        let mut cursor = n.walk();
        let mut then_exits = false;
        let mut else_exits = false;
        for child in n.named_children(&mut cursor) {
            if child.id() == condition.id() {
                continue;
            }
            match child.kind() {
                "elif_clause" => return None,
                "else_clause" => else_exits = self.exits(child),
                _ => then_exits |= self.exits_statement(child),
            }
        }
        if then_exits == else_exits {
            return None;
        }
        Some(ExitGuard {
            test: self.condition(*condition)?,
            exits_when: then_exits,
        })
    }

    /// `TEST || exit 1` / `TEST && exit 1`.
    fn list_guard(&self, n: tree_sitter::Node) -> Option<ExitGuard> {
        if n.child_count() != 3 {
            return None;
        }
        let (left, op, right) = (n.child(0)?, n.child(1)?, n.child(2)?);
        if !self.exits_statement(right) {
            return None;
        }
        let exits_when = match op.kind() {
            "&&" => true,
            "||" => false,
            _ => return None,
        };
        Some(ExitGuard {
            test: self.condition(left)?,
            exits_when,
        })
    }

    /// Does a clause's statement list exit non-zero at its top level?
    fn exits(&self, clause: tree_sitter::Node) -> bool {
        let mut cursor = clause.walk();
        clause
            .named_children(&mut cursor)
            .any(|s| self.exits_statement(s))
    }

    /// `exit N` with N ≠ 0, alone or ending a `{ …; }` group.
    fn exits_statement(&self, s: tree_sitter::Node) -> bool {
        match s.kind() {
            "command" => {
                let words: Vec<&str> = self.text(s).split_whitespace().collect();
                matches!(words.as_slice(), ["exit", code] if code.parse::<i64>().is_ok_and(|c| c != 0))
            }
            "compound_statement" => self.exits(s),
            _ => false,
        }
    }

    /// A test statement as an expression: `[[ … ]]`, `[ … ]`, `test …`,
    /// negated or joined with `&&` / `||`. Other commands: `None`.
    fn condition(&self, n: tree_sitter::Node) -> Option<Expr> {
        match n.kind() {
            "test_command" => Some(self.test(n.named_child(0)?)),
            "negated_command" => Some(Expr::Not(Box::new(self.condition(n.named_child(0)?)?))),
            "list" if n.child_count() == 3 => {
                let (l, op, r) = (n.child(0)?, n.child(1)?, n.child(2)?);
                let (l, r) = (self.condition(l)?, self.condition(r)?);
                match op.kind() {
                    "&&" => Some(Expr::And(Box::new(l), Box::new(r))),
                    "||" => Some(Expr::Or(Box::new(l), Box::new(r))),
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// An expression inside a test.
    fn test(&self, n: tree_sitter::Node) -> Expr {
        let unknown = || (self.operand)("$(unknown)");
        match n.kind() {
            "binary_expression" => {
                let (Some(l), Some(op), Some(r)) = (
                    n.child_by_field_name("left"),
                    n.child_by_field_name("operator"),
                    n.child_by_field_name("right"),
                ) else {
                    return unknown();
                };
                let (lt, rt) = (self.text(l), self.text(r));
                match self.text(op) {
                    "&&" | "-a" => Expr::And(Box::new(self.test(l)), Box::new(self.test(r))),
                    "||" | "-o" => Expr::Or(Box::new(self.test(l)), Box::new(self.test(r))),
                    "==" | "=" => cmp(CmpOp::Eq, (self.operand)(lt), (self.operand)(rt)),
                    "!=" => cmp(CmpOp::Ne, (self.operand)(lt), (self.operand)(rt)),
                    _ => unknown(),
                }
            }
            "unary_expression" if n.child(0).is_some_and(|o| o.kind() == "!") => {
                match n.named_child(0) {
                    Some(inner) => Expr::Not(Box::new(self.test(inner))),
                    None => unknown(),
                }
            }
            "parenthesized_expression" => match n.named_child(0) {
                Some(inner) if n.named_child_count() == 1 => self.test(inner),
                _ => unknown(),
            },
            _ => unknown(),
        }
    }
}

fn cmp(op: CmpOp, l: Expr, r: Expr) -> Expr {
    Expr::Cmp(op, Box::new(l), Box::new(r))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guards(body: &str) -> Vec<(String, bool)> {
        let operand = |t: &str| {
            let t = unquote(t);
            match variable_name(t) {
                Some(n) => Expr::Path(format!("env.{}", n.to_ascii_lowercase())),
                None => single_expression(t).unwrap_or_else(|| Expr::Str(t.to_string())),
            }
        };
        exit_guards(body, &operand)
            .into_iter()
            .map(|g| (format!("{:?}", g.test), g.exits_when))
            .collect()
    }

    #[test]
    fn shell_membership_checks_become_guards() {
        let g = guards(
            "if [[ \"${A}\" != 'MEMBER' && \"${A}\" != 'OWNER' ]]\nthen\n  echo no\n  exit 1\nelse\n  echo ok\nfi\n",
        );
        assert_eq!(g.len(), 1, "{g:?}");
        assert!(g[0].1);
        assert!(g[0].0.contains("And"), "{g:?}");
        assert!(g[0].0.contains("Ne"), "{g:?}");
        let g = guards("[ \"$A\" = MEMBER ] || exit 1\n");
        assert_eq!(g.len(), 1, "{g:?}");
        assert!(!g[0].1);
        let g = guards("if [ \"$A\" == OWNER ]; then echo ok; else echo no; exit 2; fi\n");
        assert_eq!(g.len(), 1, "{g:?}");
        assert!(!g[0].1);
        let g = guards(
            "if ! [[ ${{ github.event.comment.author_association }} == MEMBER ]]; then exit 1; fi\n",
        );
        assert_eq!(g.len(), 1, "{g:?}");
        assert!(g[0].0.contains("author_association"), "{g:?}");
    }

    #[test]
    fn other_shapes_are_not_guards() {
        for body in [
            // Both branches, or neither, exit non-zero; `exit 0` passes.
            "if [[ $A == MEMBER ]]; then exit 1; else exit 1; fi\n",
            "if [[ $A == MEMBER ]]; then echo a; fi\n",
            "if [[ $A != MEMBER ]]; then exit 0; fi\n",
            // Not at the top level, or not a test.
            "f() { if [[ $A != MEMBER ]]; then exit 1; fi; }\n",
            "if grep -q x file; then exit 1; fi\n",
            "if [[ $A != MEMBER ]]; then exit 1; elif [[ $B ]]; then echo; fi\n",
        ] {
            assert!(guards(body).is_empty(), "{body}: {:?}", guards(body));
        }
    }
}

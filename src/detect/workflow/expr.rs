//! GitHub Actions expressions (`if:` conditions): a parser for the
//! documented syntax — literals, contexts (`a.b`, `a['b']`, `a.*.b`),
//! function calls, `!`, comparisons, `&&`, `||`, parentheses — and an
//! evaluator that asks one question: can an outsider (someone without write
//! access, acting from a fork) make this condition true?
//!
//! Evaluation is three-valued: what an outsider controls is known to differ
//! from the repository's own names, what a maintainer alone controls
//! (labels, `author_association` of members) is known not to be the
//! outsider's, and everything else is unknown — and unknown counts as
//! reachable.

use std::fmt;

#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    Str(String),
    Num(f64),
    Bool(bool),
    Null,
    /// A context path, lower-cased, with literal indexes folded in
    /// (`github.event.pull_request.labels.*.name`); `?` for a computed index.
    Path(String),
    Call(String, Vec<Expr>),
    Not(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Cmp(CmpOp, Box<Expr>, Box<Expr>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, PartialEq, Eq)]
pub struct ParseError(pub String);

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Str(String),
    Num(f64),
    Ident(String),
    Op(&'static str),
}

const OPS: &[&str] = &[
    "==", "!=", "<=", ">=", "&&", "||", "<", ">", "!", "(", ")", "[", "]", ",", ".", "*",
];

fn lex(s: &str) -> Result<Vec<Tok>, ParseError> {
    let b = s.as_bytes();
    let mut i = 0;
    let mut out = Vec::new();
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c == b'\'' {
            // 'it''s': a doubled quote is a quote.
            let mut v = String::new();
            i += 1;
            loop {
                match s[i..].find('\'') {
                    None => return Err(ParseError("unterminated string".into())),
                    Some(j) => {
                        v.push_str(&s[i..i + j]);
                        i += j + 1;
                        if b.get(i) == Some(&b'\'') {
                            v.push('\'');
                            i += 1;
                        } else {
                            break;
                        }
                    }
                }
            }
            out.push(Tok::Str(v));
        } else if c.is_ascii_digit()
            || (c == b'-' && b.get(i + 1).is_some_and(|d| d.is_ascii_digit()))
        {
            let start = i;
            i += 1;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'.') {
                i += 1;
            }
            let t = &s[start..i];
            let n = if let Some(h) = t.strip_prefix("0x") {
                i64::from_str_radix(h, 16).map(|v| v as f64).ok()
            } else {
                t.parse::<f64>().ok()
            };
            out.push(Tok::Num(
                n.ok_or_else(|| ParseError(format!("bad number {t}")))?,
            ));
        } else if c.is_ascii_alphabetic() || c == b'_' {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'-') {
                i += 1;
            }
            out.push(Tok::Ident(s[start..i].to_string()));
        } else if let Some(op) = OPS.iter().find(|op| s[i..].starts_with(**op)) {
            out.push(Tok::Op(op));
            i += op.len();
        } else {
            let ch = s[i..].chars().next().unwrap_or('?');
            return Err(ParseError(format!("unexpected character {ch:?}")));
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
    depth: usize,
}

/// Deeper nesting than this is refused (no stack overflow on hostile input).
const MAX_DEPTH: usize = 64;

impl Parser {
    fn peek_op(&self, op: &str) -> bool {
        matches!(self.toks.get(self.pos), Some(Tok::Op(o)) if *o == op)
    }

    fn eat(&mut self, op: &str) -> bool {
        let yes = self.peek_op(op);
        if yes {
            self.pos += 1;
        }
        yes
    }

    fn expect(&mut self, op: &str) -> Result<(), ParseError> {
        if self.eat(op) {
            Ok(())
        } else {
            Err(ParseError(format!("expected `{op}`")))
        }
    }

    fn or(&mut self) -> Result<Expr, ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ParseError("expression nested too deeply".into()));
        }
        let mut l = self.and()?;
        while self.eat("||") {
            l = Expr::Or(Box::new(l), Box::new(self.and()?));
        }
        self.depth -= 1;
        Ok(l)
    }

    fn and(&mut self) -> Result<Expr, ParseError> {
        let mut l = self.eq()?;
        while self.eat("&&") {
            l = Expr::And(Box::new(l), Box::new(self.eq()?));
        }
        Ok(l)
    }

    fn eq(&mut self) -> Result<Expr, ParseError> {
        let mut l = self.cmp()?;
        loop {
            let op = if self.eat("==") {
                CmpOp::Eq
            } else if self.eat("!=") {
                CmpOp::Ne
            } else {
                return Ok(l);
            };
            l = Expr::Cmp(op, Box::new(l), Box::new(self.cmp()?));
        }
    }

    fn cmp(&mut self) -> Result<Expr, ParseError> {
        let mut l = self.unary()?;
        loop {
            let op = if self.eat("<=") {
                CmpOp::Le
            } else if self.eat(">=") {
                CmpOp::Ge
            } else if self.eat("<") {
                CmpOp::Lt
            } else if self.eat(">") {
                CmpOp::Gt
            } else {
                return Ok(l);
            };
            l = Expr::Cmp(op, Box::new(l), Box::new(self.unary()?));
        }
    }

    fn unary(&mut self) -> Result<Expr, ParseError> {
        if self.eat("!") {
            self.depth += 1;
            if self.depth > MAX_DEPTH {
                return Err(ParseError("expression nested too deeply".into()));
            }
            let e = self.unary()?;
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(e)));
        }
        self.postfix()
    }

    fn postfix(&mut self) -> Result<Expr, ParseError> {
        let mut e = self.primary()?;
        loop {
            if self.eat(".") {
                let seg = match self.toks.get(self.pos) {
                    Some(Tok::Ident(n)) => n.to_ascii_lowercase(),
                    Some(Tok::Op("*")) => "*".into(),
                    _ => return Err(ParseError("expected a property name after `.`".into())),
                };
                self.pos += 1;
                e = extend(e, &seg);
            } else if self.eat("[") {
                let idx = self.or()?;
                self.expect("]")?;
                let seg = match idx {
                    Expr::Str(s) => s.to_ascii_lowercase(),
                    Expr::Num(n) => n.to_string(),
                    _ => "?".into(),
                };
                e = extend(e, &seg);
            } else {
                return Ok(e);
            }
        }
    }

    fn primary(&mut self) -> Result<Expr, ParseError> {
        let t = self
            .toks
            .get(self.pos)
            .cloned()
            .ok_or_else(|| ParseError("unexpected end of expression".into()))?;
        self.pos += 1;
        match t {
            Tok::Str(s) => Ok(Expr::Str(s)),
            Tok::Num(n) => Ok(Expr::Num(n)),
            Tok::Op("(") => {
                let e = self.or()?;
                self.expect(")")?;
                Ok(e)
            }
            Tok::Ident(name) => {
                let lower = name.to_ascii_lowercase();
                if self.eat("(") {
                    let mut args = Vec::new();
                    if !self.eat(")") {
                        loop {
                            args.push(self.or()?);
                            if self.eat(")") {
                                break;
                            }
                            self.expect(",")?;
                        }
                    }
                    return Ok(Expr::Call(lower, args));
                }
                Ok(match lower.as_str() {
                    "true" => Expr::Bool(true),
                    "false" => Expr::Bool(false),
                    "null" => Expr::Null,
                    _ => Expr::Path(lower),
                })
            }
            Tok::Op(o) => Err(ParseError(format!("unexpected `{o}`"))),
        }
    }
}

fn extend(e: Expr, seg: &str) -> Expr {
    match e {
        Expr::Path(p) => Expr::Path(format!("{p}.{seg}")),
        // `fromJSON(x).a`, `(a || b).c`: not a context we know.
        _ => Expr::Path("?".into()),
    }
}

/// Parse an expression (without `${{ }}`).
pub fn parse(s: &str) -> Result<Expr, ParseError> {
    let toks = lex(s)?;
    let mut p = Parser {
        toks,
        pos: 0,
        depth: 0,
    };
    let e = p.or()?;
    if p.pos != p.toks.len() {
        return Err(ParseError("unexpected text after the expression".into()));
    }
    Ok(e)
}

/// Parse an `if:` value: a bare expression, or one wrapped whole in
/// `${{ }}`. Text around an embedded `${{ }}` makes a non-empty string,
/// which GitHub treats as true.
pub fn parse_condition(s: &str) -> Result<Expr, ParseError> {
    let t = s.trim();
    if let Some(inner) = t.strip_prefix("${{").and_then(|r| r.strip_suffix("}}"))
        && !inner.contains("${{")
    {
        return parse(inner);
    }
    if t.contains("${{") {
        return Ok(Expr::Str(t.to_string()));
    }
    parse(t)
}

// Evaluation from an outsider's point of view

/// A three-valued truth.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tri {
    True,
    False,
    Unknown,
}

impl Tri {
    fn not(self) -> Tri {
        match self {
            Tri::True => Tri::False,
            Tri::False => Tri::True,
            Tri::Unknown => Tri::Unknown,
        }
    }
    fn of(b: bool) -> Tri {
        if b { Tri::True } else { Tri::False }
    }
}

/// A value as far as an outsider's event tells.
#[derive(Clone, Debug, PartialEq)]
enum Val {
    Str(String),
    Num(f64),
    Bool(bool),
    Null,
    /// The outsider's own, non-empty, and never the repository's: the
    /// fork's name, the actor, a pull request's author.
    Outsider,
    /// The repository's own names (`github.repository`, its owner):
    /// assumed to equal the literal they are compared with.
    Own,
    /// Set by maintainers only (labels, members' association): never one
    /// the outsider can choose, so comparisons with it are false.
    Maintainers,
    /// `fromJSON('[…]')` of literals.
    List(Vec<Val>),
    Unknown,
}

/// The facts of one event an outsider can cause.
pub struct Outsider<'a> {
    /// The trigger (`pull_request_target`, `issue_comment`…).
    pub event: &'a str,
    /// Unknowns given a truth value (see [`outsider_can_pass_all`]).
    pub fixed: &'a [(Expr, bool)],
}

/// Association values that belong to people with write access.
const INSIDERS: &[&str] = &["owner", "member", "collaborator"];

impl Outsider<'_> {
    fn context(&self, path: &str) -> Val {
        let p = path;
        match p {
            "github.event_name" => return Val::Str(self.event.to_string()),
            "github.repository"
            | "github.repository_owner"
            | "github.event.repository.full_name"
            | "github.event.repository.name"
            | "github.event.repository.owner.login"
            | "github.event.pull_request.base.repo.full_name"
            | "github.event.pull_request.base.repo.owner.login" => return Val::Own,
            "github.actor"
            | "github.triggering_actor"
            | "github.event.sender.login"
            | "github.event.pull_request.user.login"
            | "github.event.comment.user.login"
            | "github.event.issue.user.login"
            | "github.event.review.user.login"
            | "github.event.workflow_run.actor.login"
            | "github.event.workflow_run.triggering_actor.login" => return Val::Outsider,
            // Where the outsider's code comes from: their fork.
            "github.event.pull_request.head.repo.full_name"
            | "github.event.pull_request.head.repo.owner.login"
            | "github.event.pull_request.head.label"
            | "github.event.workflow_run.head_repository.full_name"
            | "github.event.workflow_run.head_repository.owner.login" => return Val::Outsider,
            "github.event.pull_request.head.repo.fork"
            | "github.event.workflow_run.head_repository.fork" => return Val::Bool(true),
            // The run that triggered `workflow_run`: the outsider's pull request.
            "github.event.workflow_run.event" => return Val::Str("pull_request".into()),
            _ => {}
        }
        if p.ends_with(".author_association") {
            return Val::Outsider;
        }
        if p.starts_with("github.event.pull_request.labels")
            || p.starts_with("github.event.issue.labels")
            || p == "github.event.label.name"
        {
            return Val::Maintainers;
        }
        if p == "github.event.pull_request.head.repo" || p == "github.event.workflow_run" {
            return Val::Unknown;
        }
        Val::Unknown
    }

    fn eval(&self, e: &Expr) -> Val {
        if let Some((_, b)) = self.fixed.iter().find(|(f, _)| f == e) {
            return Val::Bool(*b);
        }
        match e {
            Expr::Str(s) => Val::Str(s.clone()),
            Expr::Num(n) => Val::Num(*n),
            Expr::Bool(b) => Val::Bool(*b),
            Expr::Null => Val::Null,
            Expr::Path(p) => self.context(p),
            Expr::Not(x) => tri_val(self.truth(x).not()),
            // `a && b` yields `a` when falsy, else `b` (values, not booleans).
            Expr::And(a, b) => match self.truth(a) {
                Tri::False => self.eval(a),
                Tri::True => self.eval(b),
                Tri::Unknown => match self.truth(b) {
                    Tri::False => Val::Bool(false),
                    _ => Val::Unknown,
                },
            },
            Expr::Or(a, b) => match self.truth(a) {
                Tri::True => self.eval(a),
                Tri::False => self.eval(b),
                Tri::Unknown => match self.truth(b) {
                    Tri::True => Val::Bool(true),
                    _ => Val::Unknown,
                },
            },
            Expr::Cmp(op, a, b) => tri_val(compare(*op, &self.eval(a), &self.eval(b))),
            Expr::Call(f, args) => self.call(f, args),
        }
    }

    fn call(&self, f: &str, args: &[Expr]) -> Val {
        let v: Vec<Val> = args.iter().map(|a| self.eval(a)).collect();
        match (f, v.as_slice()) {
            ("success", _) | ("always", _) => Val::Bool(true),
            ("failure", _) | ("cancelled", _) => Val::Unknown,
            ("contains", [hay, needle]) => tri_val(contains(hay, needle)),
            ("startswith", [a, b]) => tri_val(affix(a, b, |x, y| x.starts_with(y))),
            ("endswith", [a, b]) => tri_val(affix(a, b, |x, y| x.ends_with(y))),
            ("fromjson", [Val::Str(s)]) => from_json(s),
            _ => Val::Unknown,
        }
    }

    /// Can the outsider make `e` truthy?
    pub fn truth(&self, e: &Expr) -> Tri {
        truthy(&self.eval(e))
    }
}

fn tri_val(t: Tri) -> Val {
    match t {
        Tri::True => Val::Bool(true),
        Tri::False => Val::Bool(false),
        Tri::Unknown => Val::Unknown,
    }
}

fn truthy(v: &Val) -> Tri {
    match v {
        Val::Bool(b) => Tri::of(*b),
        Val::Str(s) => Tri::of(!s.is_empty()),
        Val::Num(n) => Tri::of(*n != 0.0 && !n.is_nan()),
        Val::Null => Tri::False,
        Val::Outsider | Val::Own | Val::List(_) => Tri::True,
        Val::Maintainers | Val::Unknown => Tri::Unknown,
    }
}

fn compare(op: CmpOp, a: &Val, b: &Val) -> Tri {
    let eq = equals(a, b);
    match op {
        CmpOp::Eq => eq,
        CmpOp::Ne => eq.not(),
        _ => match (a, b) {
            (Val::Num(x), Val::Num(y)) => Tri::of(match op {
                CmpOp::Lt => x < y,
                CmpOp::Le => x <= y,
                CmpOp::Gt => x > y,
                _ => x >= y,
            }),
            _ => Tri::Unknown,
        },
    }
}

/// GitHub compares strings case-insensitively.
fn equals(a: &Val, b: &Val) -> Tri {
    use Val::*;
    match (a, b) {
        (Unknown, _) | (_, Unknown) => Tri::Unknown,
        (Str(x), Str(y)) => Tri::of(x.eq_ignore_ascii_case(y)),
        (Num(x), Num(y)) => Tri::of(x == y),
        (Bool(x), Bool(y)) => Tri::of(x == y),
        (Null, Null) => Tri::True,
        (Bool(x), Str(s)) | (Str(s), Bool(x)) => Tri::of(s.eq_ignore_ascii_case(&x.to_string())),
        // The outsider's name is never the repository's, a member's or a
        // name written in the workflow (a bot, a maintainer's login)…
        (Outsider, Own) | (Own, Outsider) => Tri::False,
        (Outsider, Str(s)) | (Str(s), Outsider) => outsider_is(s),
        (Outsider, Outsider) => Tri::Unknown,
        // …and the repository's own names are what the workflow expects.
        (Own, Str(_)) | (Str(_), Own) | (Own, Own) => Tri::True,
        (Maintainers, _) | (_, Maintainers) => Tri::False,
        _ => Tri::False,
    }
}

/// May an outsider's value (a login, a fork, an association) equal `s`?
fn outsider_is(s: &str) -> Tri {
    let l = s.to_ascii_lowercase();
    if INSIDERS.contains(&l.as_str()) {
        return Tri::False;
    }
    if matches!(
        l.as_str(),
        "contributor" | "first_time_contributor" | "first_timer" | "none" | "mannequin"
    ) {
        // One of these, but which one is the outsider's history.
        return Tri::Unknown;
    }
    Tri::False
}

fn contains(hay: &Val, needle: &Val) -> Tri {
    match hay {
        Val::List(items) => {
            let mut out = Tri::False;
            for i in items {
                match equals(i, needle) {
                    Tri::True => return Tri::True,
                    Tri::Unknown => out = Tri::Unknown,
                    Tri::False => {}
                }
            }
            out
        }
        // Only maintainers set labels.
        Val::Maintainers => Tri::False,
        Val::Str(h) => match needle {
            Val::Str(n) => Tri::of(h.to_ascii_lowercase().contains(&n.to_ascii_lowercase())),
            _ => Tri::Unknown,
        },
        _ => Tri::Unknown,
    }
}

fn affix(a: &Val, b: &Val, f: impl Fn(&str, &str) -> bool) -> Tri {
    match (a, b) {
        (Val::Str(x), Val::Str(y)) => Tri::of(f(&x.to_ascii_lowercase(), &y.to_ascii_lowercase())),
        // An outsider's fork or login does not start with the org's name
        // only if the literal names the org; unknown otherwise.
        _ => Tri::Unknown,
    }
}

/// `fromJSON('["OWNER","MEMBER"]')`: lists of scalars; anything else unknown.
fn from_json(s: &str) -> Val {
    match serde_json::from_str::<serde_json::Value>(s) {
        Ok(serde_json::Value::Array(items)) => Val::List(items.iter().map(json_val).collect()),
        Ok(v) => json_val(&v),
        Err(_) => Val::Unknown,
    }
}

fn json_val(v: &serde_json::Value) -> Val {
    match v {
        serde_json::Value::String(s) => Val::Str(s.clone()),
        serde_json::Value::Bool(b) => Val::Bool(*b),
        serde_json::Value::Number(n) => n.as_f64().map(Val::Num).unwrap_or(Val::Unknown),
        serde_json::Value::Null => Val::Null,
        _ => Val::Unknown,
    }
}

/// Can an outsider, through `event`, make the `if:` condition true? A
/// condition that does not parse counts as reachable.
pub fn outsider_can_pass(condition: &str, event: &str) -> bool {
    match parse_condition(condition) {
        Ok(e) => Outsider { event, fixed: &[] }.truth(&e) != Tri::False,
        Err(_) => true,
    }
}

/// Unknowns tried both ways by [`outsider_can_pass_all`]; with more, each
/// condition is judged alone.
const MAX_UNKNOWNS: usize = 8;

/// Can an outsider, through `event`, make every condition true at once?
/// Conditions that test the same unknown (a job's `if:` and the `if:` of a
/// step that gates it, both reading one step output) are weighed together:
/// each distinct unknown comparison, context or call is tried true and
/// false, so `x == 'a'` and `!(x == 'a')` are never both passed.
pub fn outsider_can_pass_all(conditions: &[Expr], event: &str) -> bool {
    let plain = Outsider { event, fixed: &[] };
    let mut unknowns: Vec<Expr> = Vec::new();
    for c in conditions {
        collect_unknowns(&plain, c, &mut unknowns);
    }
    if unknowns.len() > MAX_UNKNOWNS {
        return conditions.iter().all(|c| plain.truth(c) != Tri::False);
    }
    (0..1u32 << unknowns.len()).any(|bits| {
        let fixed: Vec<(Expr, bool)> = unknowns
            .iter()
            .enumerate()
            .map(|(i, u)| (u.clone(), bits & (1 << i) != 0))
            .collect();
        let o = Outsider {
            event,
            fixed: &fixed,
        };
        conditions.iter().all(|c| o.truth(c) != Tri::False)
    })
}

/// The smallest parts of a condition whose truth the outsider's event does
/// not tell, below `&&`, `||` and `!`.
fn collect_unknowns(o: &Outsider, e: &Expr, out: &mut Vec<Expr>) {
    match e {
        Expr::And(a, b) | Expr::Or(a, b) => {
            collect_unknowns(o, a, out);
            collect_unknowns(o, b, out);
        }
        Expr::Not(a) => collect_unknowns(o, a, out),
        // A computed path (`?`) stands for different things in different
        // places: never shared, it stays unknown.
        Expr::Cmp(..) | Expr::Path(_) | Expr::Call(..)
            if o.truth(e) == Tri::Unknown && !out.contains(e) && !computed(e) =>
        {
            out.push(e.clone());
        }
        _ => {}
    }
}

fn computed(e: &Expr) -> bool {
    match e {
        Expr::Path(p) => p.contains('?'),
        Expr::Not(a) => computed(a),
        Expr::And(a, b) | Expr::Or(a, b) | Expr::Cmp(_, a, b) => computed(a) || computed(b),
        Expr::Call(_, args) => args.iter().any(computed),
        _ => false,
    }
}

/// `e` with every context path rewritten by `f` (which returns `None` to
/// keep a path): a job's `steps.*` named apart from another job's, a
/// `needs.<job>.outputs.<name>` replaced by what that output holds.
pub fn map_paths(e: &Expr, f: &impl Fn(&str) -> Option<Expr>) -> Expr {
    let m = |x: &Expr| Box::new(map_paths(x, f));
    match e {
        Expr::Path(p) => f(p).unwrap_or_else(|| e.clone()),
        Expr::Not(a) => Expr::Not(m(a)),
        Expr::And(a, b) => Expr::And(m(a), m(b)),
        Expr::Or(a, b) => Expr::Or(m(a), m(b)),
        Expr::Cmp(op, a, b) => Expr::Cmp(*op, m(a), m(b)),
        Expr::Call(name, args) => {
            Expr::Call(name.clone(), args.iter().map(|a| map_paths(a, f)).collect())
        }
        _ => e.clone(),
    }
}

/// Does the condition call a status function that lets it run after a
/// failure (`always()`, `failure()`, `cancelled()`, `!cancelled()`)? Then
/// what failed before does not stop it.
pub fn runs_after_failure(e: &Expr) -> bool {
    match e {
        Expr::Call(name, args) => {
            matches!(name.as_str(), "always" | "failure" | "cancelled")
                || args.iter().any(runs_after_failure)
        }
        Expr::Not(a) => runs_after_failure(a),
        Expr::And(a, b) | Expr::Or(a, b) | Expr::Cmp(_, a, b) => {
            runs_after_failure(a) || runs_after_failure(b)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_syntax() {
        let e = parse("!(github.event_name == 'push') && contains(github.event.pull_request.labels.*.name, 'ok')").unwrap();
        assert!(matches!(e, Expr::And(..)));
        assert_eq!(
            parse("github.event['pull_request'].head.repo.full_name").unwrap(),
            Expr::Path("github.event.pull_request.head.repo.full_name".into())
        );
        assert_eq!(parse("'it''s'").unwrap(), Expr::Str("it's".into()));
        assert_eq!(
            parse("0x10 == 16").unwrap(),
            Expr::Cmp(
                CmpOp::Eq,
                Box::new(Expr::Num(16.0)),
                Box::new(Expr::Num(16.0))
            )
        );
        for bad in ["a ==", "(a", "'x", "a b", "f(a,", "a.", "a & b", ""] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        let deep = format!("{}a{}", "(".repeat(500), ")".repeat(500));
        assert!(parse(&deep).is_err());
        assert!(parse(&"!".repeat(500)).is_err());
    }

    fn can(cond: &str, event: &str) -> bool {
        outsider_can_pass(cond, event)
    }

    #[test]
    fn conditions_sharing_an_unknown_are_weighed_together() {
        let e = |s: &str| parse(s).unwrap();
        let ev = "issue_comment";
        let out = "steps.check.outputs.triggered == 'true'";
        // Each alone can hold; both at once cannot.
        assert!(outsider_can_pass_all(&[e(out)], ev));
        assert!(outsider_can_pass_all(&[e(&format!("!({out})"))], ev));
        assert!(!outsider_can_pass_all(
            &[e(out), e(&format!("!({out})"))],
            ev
        ));
        // Different unknowns stay independent.
        assert!(outsider_can_pass_all(
            &[e(out), e("!(steps.other.outputs.x == 'true')")],
            ev
        ));
        // A computed path is never taken for another.
        assert!(outsider_can_pass_all(
            &[e("fromJSON(a).x == 'y'"), e("!(fromJSON(b).x == 'y')")],
            ev
        ));
        // Known facts still decide.
        assert!(!outsider_can_pass_all(
            &[e(out), e("github.event_name == 'push'")],
            ev
        ));
        assert!(runs_after_failure(&e("always() && x")));
        assert!(runs_after_failure(&e("!cancelled()")));
        assert!(!runs_after_failure(&e("success() && x == 'y'")));
    }

    #[test]
    fn gates_that_keep_outsiders_out() {
        let prt = "pull_request_target";
        assert!(!can("github.event_name == 'push'", prt));
        assert!(!can("${{ github.event_name == 'push' }}", prt));
        assert!(!can(
            "github.event.pull_request.head.repo.full_name == github.repository",
            prt
        ));
        assert!(!can("!github.event.pull_request.head.repo.fork", prt));
        assert!(!can("github.actor == 'dependabot[bot]'", prt));
        assert!(!can(
            "github.actor == 'renovate[bot]' || github.actor == 'octocat'",
            prt
        ));
        assert!(!can(
            "contains(github.event.pull_request.labels.*.name, 'safe to test')",
            prt
        ));
        assert!(!can(
            "contains(fromJSON('[\"OWNER\", \"MEMBER\"]'), github.event.comment.author_association)",
            "issue_comment"
        ));
        assert!(!can(
            "github.event.comment.author_association == 'MEMBER' && startsWith(github.event.comment.body, '/release')",
            "issue_comment"
        ));
        assert!(!can(
            "github.event.workflow_run.event == 'push' && github.event.workflow_run.conclusion == 'success'",
            "workflow_run"
        ));
        assert!(!can(
            "github.event.workflow_run.head_repository.full_name == github.repository",
            "workflow_run"
        ));
    }

    #[test]
    fn conditions_outsiders_pass() {
        let prt = "pull_request_target";
        assert!(can("github.repository_owner == 'acme'", prt));
        assert!(can("github.repository == 'acme/lib'", prt));
        assert!(can("github.event_name == 'pull_request_target'", prt));
        assert!(can(
            "github.event.pull_request.head.repo.full_name != github.repository",
            prt
        ));
        assert!(can("github.actor != 'dependabot[bot]'", prt));
        assert!(can(
            "github.event_name == 'push' || github.event.pull_request.head.repo.fork",
            prt
        ));
        assert!(can(
            "startsWith(github.event.comment.body, '/publish')",
            "issue_comment"
        ));
        assert!(can("success()", prt));
        assert!(can(
            "github.event.workflow_run.conclusion == 'success'",
            "workflow_run"
        ));
        assert!(can(
            "!cancelled() && github.repository_owner == 'acme'",
            prt
        ));
        // Text around `${{ }}` is a non-empty string: always true.
        assert!(can("${{ github.event_name == 'push' }} && true", prt));
        // Unparseable: assume reachable.
        assert!(can("github.event_name ==", prt));
    }
}

#!/usr/bin/env python3
"""Precision of npmsweep's CI rules against a labelled set.

    benches/precision/precision.py MIRROR_DIR [--ci github|gitlab|circleci]
                                   [--npmsweep BIN] [--labels FILE]
                                   [--dump-unlabelled FILE] [--repos a/b,c/d]

`--ci` picks the rules (`gha-*`, default; `gitlab-*`; `circleci-*`), the
labels file (labels.tsv, gitlab-labels.tsv, circleci-labels.tsv) and how a
finding's place is keyed: `job=<id>/step=<…>` for GitHub workflows; the
top-level key holding the line for GitLab (`job=<id>`, or `top=variables`,
`top=default`, `top=include`…); `job=<id>/step=<name>`, `workflow=<id>`
or `top=<key>` for CircleCI.

Runs `npmsweep history --format json` over each bare mirror named in the
labels (MIRROR_DIR/owner+name/repo, as the `fetch` tool lays them out),
keeps the workflow findings (`gha-*`), identifies each by repository, the
commit that introduced the blob, the file, the rule and a job/step key
computed from the workflow itself (so the labels do not depend on npmsweep's
messages or fingerprints), and compares them with the labels:

    repo  commit  path  rule  key  verdict  reason

verdict is `correct` or `fp` (false positive). Prints, per rule, the
labelled findings, the correct ones and the precision; findings without a
label are counted apart (label them: `--dump-unlabelled` writes them in the
label format with an empty verdict). Labels whose finding is gone are listed
as "no longer reported" — the verdict says whether that is a fix (`fp`) or
a regression (`correct`). Exit 0 when history precision is at least 90% and
no `gha-npm-token-in-install-job` finding is labelled as a publishing job.
"""
import argparse
import json
import os
import re
import subprocess
import sys
from collections import defaultdict

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))


def compose(text):
    """The YAML node tree, or None. PyYAML refuses a trailing tab that CI
    systems' parsers accept: retried without trailing blanks (same lines)."""
    for t in (text, re.sub(r"[ \t]+$", "", text, flags=re.M)):
        try:
            return yaml.compose(t, Loader=yaml.BaseLoader)
        except Exception:
            continue
    return None


def job_step_key(text, line):
    """`job=<id>` or `job=<id>/step=<id|name|#n>` holding 1-based `line`."""
    root = compose(text)
    if not isinstance(root, yaml.MappingNode):
        return "?"
    jobs = None
    for k, v in root.value:
        if k.value == "jobs":
            jobs = v
        elif k.value == "runs" and isinstance(v, yaml.MappingNode):
            for k2, v2 in v.value:
                if k2.value == "steps":
                    return "job=composite" + step_key(v2, line)
    if not isinstance(jobs, yaml.MappingNode):
        return "workflow"
    l0 = line - 1
    # The last job (step) that starts at or before the line holds it.
    found = None
    for k, v in jobs.value:
        if k.start_mark.line <= l0:
            found = (k, v)
    if found is None:
        return "workflow"
    k, v = found
    if isinstance(v, yaml.MappingNode):
        for k2, v2 in v.value:
            if k2.value == "steps":
                return "job=" + k.value + step_key(v2, line)
    return "job=" + k.value


def gitlab_key(text, line):
    """`job=<id>` (or `top=<key>` for a reserved key) of the top-level
    entry of a GitLab pipeline holding 1-based `line`."""
    root = compose(text)
    if not isinstance(root, yaml.MappingNode):
        return "?"
    found = None
    for k, _ in root.value:
        if k.start_mark.line <= line - 1:
            found = k.value
    if found is None:
        return "?"
    reserved = {"default", "include", "stages", "variables", "workflow", "image", "services",
                "cache", "before_script", "after_script", "types", "spec"}
    return ("top=" if found in reserved or found.startswith(".") else "job=") + found


def circleci_key(text, line):
    """`job=<id>/step=<name|#n>` for a line in `jobs:`, `workflow=<id>` in
    `workflows:`, `top=<key>` elsewhere (commands, executors, orbs)."""
    root = compose(text)
    if not isinstance(root, yaml.MappingNode):
        return "?"
    l0 = line - 1
    found = None
    for k, v in root.value:
        if k.start_mark.line <= l0:
            found = (k, v)
    if found is None:
        return "?"
    k, v = found
    if not isinstance(v, yaml.MappingNode) or k.value not in ("jobs", "workflows"):
        return "top=" + k.value
    inner = None
    for k2, v2 in v.value:
        if k2.start_mark.line <= l0:
            inner = (k2, v2)
    if inner is None:
        return "top=" + k.value
    k2, v2 = inner
    if k.value == "workflows":
        return "workflow=" + k2.value
    key = "job=" + k2.value
    if isinstance(v2, yaml.MappingNode):
        for k3, v3 in v2.value:
            if k3.value == "steps" and isinstance(v3, yaml.SequenceNode):
                step = None
                for i, st in enumerate(v3.value):
                    if st.start_mark.line <= l0:
                        step = (i, st)
                if step:
                    i, st = step
                    label = "#%d" % (i + 1)
                    # `- run: {name: …, command: …}`: the name is one level down.
                    if isinstance(st, yaml.MappingNode) and len(st.value) == 1:
                        sk, sv = st.value[0]
                        if isinstance(sv, yaml.MappingNode):
                            for nk, nv in sv.value:
                                if nk.value == "name" and isinstance(nv, yaml.ScalarNode):
                                    label = nv.value
                    elif isinstance(st, yaml.ScalarNode):
                        label = st.value
                    key += "/step=" + label
    return key


# Per CI system: rule prefix, default labels file, key function.
CI = {
    "github": ("gha-", "labels.tsv", lambda text, line: job_step_key(text, line)),
    "gitlab": ("gitlab-", "gitlab-labels.tsv", gitlab_key),
    "circleci": ("circleci-", "circleci-labels.tsv", circleci_key),
}


def step_key(steps, line):
    if not isinstance(steps, yaml.SequenceNode):
        return ""
    l0 = line - 1
    found = None
    for i, s in enumerate(steps.value):
        if s.start_mark.line <= l0:
            found = (i, s)
    if found is None:
        return ""
    i, s = found
    label = "#%d" % (i + 1)
    if isinstance(s, yaml.MappingNode):
        fields = {k.value: v for k, v in s.value}
        for f in ("id", "name", "uses"):
            if f in fields and isinstance(fields[f], yaml.ScalarNode):
                label = fields[f].value
                break
    return "/step=" + label


def history(bin_, gitdir):
    out = subprocess.run(
        [bin_, "history", "--no-config", "--format", "json", "-q", gitdir],
        capture_output=True,
    )
    if out.returncode not in (0, 1):
        sys.exit("npmsweep failed on %s: %s" % (gitdir, out.stderr.decode(errors="replace")))
    return json.loads(out.stdout)["findings"]


def blob_text(gitdir, blob):
    return subprocess.run(
        ["git", "--git-dir", gitdir, "cat-file", "blob", blob], capture_output=True
    ).stdout.decode("utf-8", errors="replace")


def findings_of(bin_, mirrors, repo, cache=None, ci="github"):
    prefix, _, keyf = CI[ci]
    gitdir = os.path.join(mirrors, repo.replace("/", "+"), "repo")
    if not os.path.isdir(gitdir):
        print("missing mirror for %s (fetch it first)" % repo, file=sys.stderr)
        return None
    cached = cache and os.path.join(cache, "%s%s.json" % ("" if ci == "github" else ci + "-", repo.replace("/", "+")))
    if cached and os.path.exists(cached):
        with open(cached, encoding="utf-8") as fh:
            raw = json.load(fh)
    else:
        raw = [
            (
                f.get("provenance", {}).get("commit", ""),
                f["path"],
                f["rule_id"],
                f["start_line"],
                f.get("origin", {}).get("blob_id"),
                f["message"],
            )
            for f in history(bin_, gitdir)
            if f["rule_id"].startswith(prefix)
        ]
        if cached:
            os.makedirs(cache, exist_ok=True)
            with open(cached, "w", encoding="utf-8") as fh:
                json.dump(raw, fh)
    out = []
    texts = {}
    for commit, path, rule, line, blob, message in raw:
        if blob not in texts:
            texts[blob] = blob_text(gitdir, blob)
        out.append((repo, commit, path, rule, keyf(texts[blob], line), message))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mirrors")
    ap.add_argument("--npmsweep", default=os.path.join(HERE, "../../target/release/npmsweep"))
    ap.add_argument("--ci", choices=sorted(CI), default="github")
    ap.add_argument("--labels", help="default: the --ci system's labels file next to this script")
    ap.add_argument("--dump-unlabelled")
    ap.add_argument("--repos", help="comma-separated owner/name (default: those in the labels)")
    ap.add_argument("--cache", help="keep each repository's findings here and reuse them (only while the binary is unchanged)")
    a = ap.parse_args()
    if not a.labels:
        a.labels = os.path.join(HERE, CI[a.ci][1])

    labels = {}
    repos = []
    with open(a.labels, encoding="utf-8") as fh:
        for ln in fh:
            # `#repo owner/name`: a repository swept, with or without findings.
            if ln.startswith("#repo "):
                name = ln.split()[1]
                if name not in repos:
                    repos.append(name)
                continue
            if not ln.strip() or ln.startswith("#"):
                continue
            cols = ln.rstrip("\n").split("\t")
            if len(cols) < 6:
                sys.exit("bad label line: %r" % ln)
            repo, commit, path, rule, key, verdict = cols[:6]
            if verdict not in ("correct", "fp"):
                sys.exit("verdict must be correct or fp: %r" % ln)
            labels[(repo, commit, path, rule, key)] = (verdict, cols[6] if len(cols) > 6 else "")
            if repo not in repos:
                repos.append(repo)
    if a.repos:
        repos = a.repos.split(",")

    per_rule = defaultdict(lambda: [0, 0])
    unlabelled = []
    seen = set()
    pipeline_versions = 0
    for repo in repos:
        if a.ci != "github":
            gitdir = os.path.join(a.mirrors, repo.replace("/", "+"), "repo")
            pipeline = {"gitlab": ".gitlab-ci.yml", "circleci": ".circleci/config.yml"}[a.ci]
            blobs = subprocess.run(
                ["git", "--git-dir", gitdir, "log", "--all", "--format=", "--raw", "--no-abbrev",
                 "--", pipeline], capture_output=True).stdout.decode().split("\n")
            pipeline_versions += len({b.split()[3] for b in blobs if b.startswith(":")} - {"0" * 40})
        fs = findings_of(a.npmsweep, a.mirrors, repo, a.cache, a.ci)
        print("%s: %s %s findings" % (repo, "?" if fs is None else len(fs), a.ci), file=sys.stderr)
        if fs is None:
            continue
        for repo_, commit, path, rule, key, msg in fs:
            k = (repo_, commit, path, rule, key)
            if k in seen:
                continue
            seen.add(k)
            if k in labels:
                per_rule[rule][0] += 1
                per_rule[rule][1] += labels[k][0] == "correct"
            else:
                unlabelled.append(k + (msg,))
    gone = [(k, v) for k, v in labels.items() if k not in seen and k[0] in repos]

    total = sum(n for n, _ in per_rule.values())
    good = sum(c for _, c in per_rule.values())
    print("%-40s %8s %8s %9s" % ("rule", "labelled", "correct", "precision"))
    for rule in sorted(per_rule):
        n, c = per_rule[rule]
        print("%-40s %8d %8d %8.1f%%" % (rule, n, c, 100.0 * c / n))
    print("%-40s %8d %8d %8.1f%%" % ("all %s rules" % a.ci, total, good, 100.0 * good / max(total, 1)))
    if a.ci != "github":
        print("repositories: %d; distinct pipeline file versions in their histories: %d"
              % (len(repos), pipeline_versions))
    print("unlabelled findings: %d" % len(unlabelled))
    fixed = sum(1 for _, v in gone if v[0] == "fp")
    print("labelled findings no longer reported: %d (%d false positives fixed, %d correct ones lost)"
          % (len(gone), fixed, len(gone) - fixed))
    for k, v in gone:
        if v[0] == "correct":
            print("  lost: " + "\t".join(k))
    install_publishes = [
        k for k in seen
        if k[3] == "gha-npm-token-in-install-job" and k in labels and labels[k][0] == "fp"
        and "publish" in labels[k][1]
    ]
    print("publishing jobs told they only install: %d" % len(install_publishes))
    for k in install_publishes:
        print("  " + "\t".join(k))
    if a.dump_unlabelled:
        with open(a.dump_unlabelled, "w", encoding="utf-8") as fh:
            for u in sorted(unlabelled):
                fh.write("\t".join(u[:5]) + "\t\t" + u[5].replace("\t", " ") + "\n")
    ok = total and good * 10 >= total * 9 and not install_publishes
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Write a git fast-import stream of a deterministic monorepo history.

    gen_history.py SIZE [SEED] | git fast-import

SIZE scales everything: about 4,000 x SIZE files at HEAD in 40 x SIZE
packages, 800 x SIZE commits on main each editing about 25 files (a few
lines changed or added, as real edits do, so every file has a long chain of
versions that `git repack --depth=50` stores as deltas), and 12 branches
forked along the way with a few commits each. The same SIZE and SEED always
give the same commits (fixed names, dates and content).
"""
import random
import sys

size = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
seed = int(sys.argv[2]) if len(sys.argv) > 2 else 42
rng = random.Random(seed)
out = sys.stdout.buffer

WORDS = ("const let function return import export from await async value config "
         "registry token package build test render state props options result error "
         "request response handler module client server cache index schema user").split()

packages = max(1, int(40 * size))
files_per_package = 100
commits = max(1, int(800 * size))
edits_per_commit = 25
branches = 12
epoch = 1_700_000_000

def line(r):
    return "  %s %s = %s(%s, %d);" % (r.choice(WORDS), r.choice(WORDS), r.choice(WORDS),
                                    r.choice(WORDS), r.randrange(100000))

paths = []
files = {}
for p in range(packages):
    name = "packages/pkg-%03d" % p
    files[name + "/package.json"] = ['{', '  "name": "@mono/pkg-%03d",' % p, '  "version": "1.0.0"', '}']
    files[name + "/.npmrc"] = ["//registry.npmjs.org/:_authToken=${NPM_TOKEN}"]
    for f in range(files_per_package - 2):
        files["%s/src/%s/file-%03d.ts" % (name, rng.choice(WORDS), f)] = [line(rng) for _ in range(rng.randrange(30, 120))]
paths = sorted(files)

def blob(lines):
    data = ("\n".join(lines) + "\n").encode()
    out.write(b"data %d\n" % len(data))
    out.write(data)
    out.write(b"\n")

mark = 0
def commit(ref, when, message, changed, parent=None):
    global mark
    mark += 1
    out.write(b"commit %s\nmark :%d\n" % (ref.encode(), mark))
    stamp = b"Dev <dev@example.com> %d +0000\n" % when
    out.write(b"author " + stamp + b"committer " + stamp)
    msg = message.encode()
    out.write(b"data %d\n%s\n" % (len(msg), msg))
    if parent is not None:
        out.write(b"from :%d\n" % parent)
    for path in changed:
        out.write(b"M 100644 inline %s\n" % path.encode())
        blob(files[path])
    out.write(b"\n")
    return mark

def edit(path, r):
    lines = files[path]
    for _ in range(r.randrange(1, 4)):
        i = r.randrange(len(lines))
        if r.random() < 0.3:
            lines.insert(i, line(r))
        else:
            lines[i] = line(r)

head = commit("refs/heads/main", epoch, "initial import", paths)
fork_points = set(rng.sample(range(1, commits), min(branches, commits - 1)))
forks = []
for n in range(1, commits):
    changed = sorted(set(rng.choice(paths) for _ in range(edits_per_commit)))
    for path in changed:
        edit(path, rng)
    head = commit("refs/heads/main", epoch + n * 3600, "change %d" % n, changed, head)
    if n in fork_points:
        forks.append((n, head))

# Branches: a few commits each on top of their fork point. Their edits are
# made on copies so main's content stays its own.
saved = {p: list(l) for p, l in files.items()}
for b, (n, base) in enumerate(forks):
    parent = base
    for k in range(3):
        changed = sorted(set(rng.choice(paths) for _ in range(edits_per_commit)))
        for path in changed:
            edit(path, rng)
        parent = commit("refs/heads/feature-%02d" % b, epoch + n * 3600 + 60 * (k + 1),
                        "feature %d step %d" % (b, k), changed, parent)
    files = {p: list(l) for p, l in saved.items()}
out.write(b"reset refs/heads/main\nfrom :%d\n\n" % head)

#!/usr/bin/env python3
"""Write a git fast-import stream of one repository of a generated organisation.

    gen_org.py INDEX [SCALE] [SEED] | git fast-import

Repository INDEX (0, 1, ...) of an organisation whose repositories differ
in size (factor 1 + INDEX % 4, so a plan has something to balance): about
120 x factor x SCALE files at HEAD and 60 x factor x SCALE commits on main,
each editing 8 files. Secrets are fake, checksum-valid npm tokens made here
from SEED: four tokens shared across the organisation (repository INDEX
commits shared token INDEX % 4 to its `.npmrc`, and every third repository
also token (INDEX + 1) % 4 in a `deploy.env` that a later commit removes, so
it lives in history only), and one token of its own. The same arguments
always give the same commits (fixed names, dates and content).
"""
import random
import sys
import zlib

index = int(sys.argv[1])
scale = float(sys.argv[2]) if len(sys.argv) > 2 else 1.0
seed = int(sys.argv[3]) if len(sys.argv) > 3 else 7
out = sys.stdout.buffer

B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def npm_token(rng):
    """npm_ + 30 random base62 + base62(CRC-32 of those 30) in 6."""
    body = "".join(rng.choice(B62) for _ in range(30))
    n = zlib.crc32(body.encode())
    check = ""
    for _ in range(6):
        check = B62[n % 62] + check
        n //= 62
    return "npm_" + body + check


org_rng = random.Random(seed)
shared = [npm_token(org_rng) for _ in range(4)]
rng = random.Random(seed * 1000 + index)
own = npm_token(rng)

WORDS = ("const let function return import export from await async value config "
         "registry token package build test render state props options result error "
         "request response handler module client server cache index schema user").split()

factor = 1 + index % 4
file_count = max(4, int(120 * factor * scale))
commits = max(4, int(60 * factor * scale))
edits_per_commit = 8
epoch = 1_700_000_000 + index * 86_400


def line():
    return "  %s %s = %s(%s, %d);" % (rng.choice(WORDS), rng.choice(WORDS), rng.choice(WORDS),
                                    rng.choice(WORDS), rng.randrange(100000))


files = {
    "package.json": ['{', '  "name": "@org/repo-%02d",' % index, '  "version": "1.0.0"', '}'],
    ".npmrc": ["//registry.npmjs.org/:_authToken=${NPM_TOKEN}"],
}
for f in range(file_count - 2):
    files["src/%s/file-%03d.ts" % (rng.choice(WORDS), f)] = [line() for _ in range(rng.randrange(20, 80))]
paths = sorted(p for p in files if p.startswith("src/"))

mark = 0


def commit(when, message, changed, deleted=()):
    global mark
    mark += 1
    out.write(b"commit refs/heads/main\nmark :%d\n" % mark)
    stamp = b"Dev <dev@example.com> %d +0000\n" % when
    out.write(b"author " + stamp + b"committer " + stamp)
    msg = message.encode()
    out.write(b"data %d\n%s\n" % (len(msg), msg))
    if mark > 1:
        out.write(b"from :%d\n" % (mark - 1))
    for path in changed:
        data = ("\n".join(files[path]) + "\n").encode()
        out.write(b"M 100644 inline %s\ndata %d\n" % (path.encode(), len(data)))
        out.write(data)
        out.write(b"\n")
    for path in deleted:
        out.write(b"D %s\n" % path.encode())
    out.write(b"\n")


commit(epoch, "initial import", sorted(files))
leak_at = commits // 3
for c in range(1, commits):
    changed = set()
    for _ in range(edits_per_commit):
        path = rng.choice(paths)
        body = files[path]
        body[rng.randrange(len(body))] = line()
        if rng.random() < 0.3:
            body.append(line())
        changed.add(path)
    deleted = []
    if c == leak_at:
        files[".npmrc"] = ["//registry.npmjs.org/:_authToken=" + shared[index % 4]]
        changed.add(".npmrc")
        if index % 3 == 0:
            files["deploy.env"] = ["NPM_TOKEN=" + shared[(index + 1) % 4]]
            changed.add("deploy.env")
    if c == leak_at + 5 and index % 3 == 0:
        del files["deploy.env"]
        deleted.append("deploy.env")
    if c == 2 * commits // 3:
        files["scripts/publish.env"] = ["NPM_TOKEN=" + own]
        changed.add("scripts/publish.env")
    commit(epoch + c * 3600, "change %d" % c, sorted(changed), deleted)

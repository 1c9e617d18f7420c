"""Faults a tester or an unlucky user causes: killed runs, concurrent readers, damaged or crafted files."""

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from vnsearch import Document, Index

WORDS = ("Hà Nội thủ đô nước Cộng hòa Xã hội chủ nghĩa Việt Nam trường đại học lớn Đà Nẵng thành phố "
         "bờ biển đẹp người dân công nghệ thông tin phát triển kinh tế xã hội giáo dục bóng đá").split()


def synthetic_jsonl(path: Path, n: int, words: int = 400, seed: int = 1) -> Path:
    """`n` records of made-up Vietnamese text (no shared data needed), ids doc0..doc{n-1}."""
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8") as f:
        for i in range(n):
            text = " ".join(rng.choice(WORDS) for _ in range(words))
            f.write(json.dumps({"id": f"doc{i}", "title": f"Bài {i}", "text": text}, ensure_ascii=False) + "\n")
    return path


def _children(pid: int) -> list[int]:
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(d.name))
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="lists processes through /proc")
def test_sigkill_of_the_main_process_leaves_no_worker_and_no_lock(tmp_path):
    n = 1500
    src = synthetic_jsonl(tmp_path / "a.jsonl", n)
    path = tmp_path / "ix"
    cmd = [sys.executable, "-m", "vnsearch", "--index", str(path), "index", str(src), "-j", "2",
           "--batch-docs", "100", "--quiet"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    workers: list[int] = []
    while time.time() < deadline and proc.poll() is None:
        workers = _children(proc.pid)
        if len(workers) >= 2 and path.exists() and any(p.suffix == ".toc" and p.name != "_MAIN_0.toc"
                                                       for p in path.iterdir()):
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the run ended before it could be killed"
    workers = _children(proc.pid)
    assert workers
    proc.send_signal(signal.SIGKILL)  # the main process only, as kill -9 PID or the OOM killer does
    proc.wait()
    deadline = time.time() + 10
    while time.time() < deadline and any(_alive(w) for w in workers):
        time.sleep(0.1)
    assert not [w for w in workers if _alive(w)], "worker processes outlived the run"
    kept = len(Index.open(path))
    t0 = time.monotonic()
    r = subprocess.run(cmd[:-1] + ["--json", "--lock-timeout", "0"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    assert rep["unchanged"] == kept and rep["added"] == n - kept
    assert time.monotonic() - t0 < 120
    assert len(Index.open(path)) == n

"""Shared helpers for the benchmark scripts: data paths, readers, timing, the closing JSON line."""

from __future__ import annotations

import gzip
import json
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("VNSEARCH_SHARED", ROOT.parent / "shared")) / "data"
BAOMOI = DATA / "baomoi-35k.jsonl.gz"
VIETNEWS = DATA / "vietnews-test-22k.jsonl.gz"
XQUAD = DATA / "xquad-vi"


def require(path: Path) -> Path:
    if not path.exists():
        sys.exit(f"error: {path} not found (the benchmarks read ../shared/data)")
    return path


def read_jsonl_gz(path: Path, limit: int | None = None) -> list[dict]:
    out = []
    with gzip.open(require(path), "rt", encoding="utf-8") as f:
        for line in f:
            out.append(json.loads(line))
            if limit is not None and len(out) >= limit:
                break
    return out


def mb(texts) -> float:
    return sum(len(t.encode("utf-8")) for t in texts) / 1e6


def peak_rss_mb() -> float:
    """Peak resident memory of this process and its finished children, in MB."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, kids) / 1024


class Timer:
    def __enter__(self):
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.t0


def finish(figures: dict) -> None:
    """Every bench script ends with one JSON line of its figures, so runs can be compared."""
    print(json.dumps(figures, ensure_ascii=False, sort_keys=True))

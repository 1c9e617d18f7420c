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


def scratch(prefix: str) -> Path:
    """A temporary folder removed when the benchmark ends (indexes of the 35k set are GBs)."""
    import atexit
    import shutil
    import tempfile

    path = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


def index_once(index: str, source: str, jobs: int, shards: int | None = None, batch_docs: int | None = None) -> dict:
    """Index `source` (JSONL, id from "name") into `index` in this process and say what it cost;
    run it in a fresh process, so the memory figures are that run's own."""
    from vnsearch import Index
    from vnsearch.ingest.sources import FieldMap

    ix = Index.open(index, create=True, shards=shards)
    t0 = time.perf_counter()
    report = ix.add_sources([source], fields=FieldMap(id="name"), jobs=jobs,
                            **({"batch_docs": batch_docs} if batch_docs else {}))
    seconds = time.perf_counter() - t0
    size = sum(p.stat().st_size for p in Path(index).rglob("*") if p.is_file())
    return {"seconds": seconds, "merge_seconds": report.merge_seconds, "documents": report.indexed,
            "unchanged": report.unchanged, "bytes": report.bytes, "index_mb": size / 1e6,
            "segments": ix.stats()["segments"], "rss_main_mb": own_peak_mb(),
            "rss_worker_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}


def own_peak_mb() -> float:
    """This process's own peak resident memory in MB (VmHWM): ru_maxrss carries a parent's size
    over fork and exec, so a benchmark's child process would report the parent's memory."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Timer:
    def __enter__(self):
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.t0


def finish(figures: dict) -> None:
    """Every bench script ends with one JSON line of its figures, so runs can be compared."""
    print(json.dumps(figures, ensure_ascii=False, sort_keys=True))


def xquad_records() -> list[dict]:
    with open(require(XQUAD / "corpus.jsonl"), encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def read_questions(name: str = "queries-dev.tsv") -> list[tuple[str, str]]:
    out = []
    with open(require(XQUAD / name), encoding="utf-8") as f:
        for line in f:
            if line.strip():
                qid, text = line.rstrip("\n").split("\t", 1)
                out.append((qid, text))
    return out


def baomoi_keyword_queries(records: list[dict], n: int = 500) -> list[str]:
    """The first three words of `n` titles spread over the collection: what people type."""
    step = max(1, len(records) // n)
    out = []
    for r in records[::step][:n]:
        title = r["text"].split("\n", 1)[0]
        words = [w for w in title.split() if any(c.isalnum() for c in w)][:3]
        if words:
            out.append(" ".join(words))
    return out


def build_eval_index(path: Path, baomoi: list[dict], jobs: int = 2):
    """vnsearch index of the 240 XQuAD paragraphs plus the baomoi articles (reused when complete)."""
    import tempfile

    from vnsearch import Index
    from vnsearch.ingest.sources import FieldMap

    want = len(baomoi) + len(xquad_records())
    if (path / "vnsearch.json").exists():
        ix = Index.open(path)
        if len(ix) == want:
            return ix, 0.0
        ix.close()
        import shutil

        shutil.rmtree(path)
    ix = Index.open(path, create=True)
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "baomoi.jsonl"
        with open(src, "w", encoding="utf-8") as f:
            for r in baomoi:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
        t0 = time.perf_counter()
        ix.add_sources([str(XQUAD / "corpus.jsonl")], jobs=jobs)
        ix.add_sources([str(src)], fields=FieldMap(id="name"), jobs=jobs)
        seconds = time.perf_counter() - t0
    return ix, seconds


def percentile(values: list[float], p: float) -> float:
    s = sorted(values)
    if not s:
        return 0.0
    k = (len(s) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)

"""Indexing throughput, memory and re-run time on baomoi-35k; text extraction per document format.

    python bench/index.py [--limit N] [--jobs 1,2] [--keep DIR] [--formats N] [--formats-only]

Indexes the articles as JSONL and as a folder of .txt files written out from
it, with each job count; each run is a fresh index in its own process, so
its peak RSS (with its workers) is its own.  Then re-runs the last JSONL
index with nothing changed.  In the same run, stock pyvi tokenization alone
on one core (over the first 3,000 articles) gives the yardstick.  Ends with
one JSON line.

Formats: the first N articles (default 400) are written as .docx, .odt, .pdf,
.epub, .html (with a menu and a footer around the article), .rtf, .eml and
.md files with the same builders as the tests (`tests/builders.py`); each
format's text extraction is timed alone on one core (MB/s of file and of text
extracted, documents/s) against the analysis a worker does next
(normalization and segmentation, `prepare.term_streams`) of the same text on
one core, then a folder of each format is indexed with 2 jobs end to end.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import unicodedata
from pathlib import Path

from _common import BAOMOI, ROOT, finish, index_once, mb, read_jsonl_gz, scratch

HERE = Path(__file__).resolve().parent


def format_files(records: list[dict]) -> dict[str, list[tuple[str, bytes]]]:
    """(name, bytes) of each article written in each format."""
    sys.path.insert(0, str(ROOT / "tests"))
    from builders import BUILDERS, make_eml

    out: dict[str, list[tuple[str, bytes]]] = {}
    for i, r in enumerate(records):
        title, _, body = unicodedata.normalize("NFC", r["text"]).partition("\n")
        paras = [p for p in body.split("\n") if p.strip()] or [title]
        for kind, build in BUILDERS.items():
            if kind == "txt":
                continue
            try:
                data = make_eml(title, paras) if kind == "eml" else build(title, paras, None)
            except ValueError:  # the PDF builder's one-byte font holds 254 distinct characters
                continue
            out.setdefault(kind, []).append((f"a{i:05d}.{kind}", data))
    return out


def formats_bench(records: list[dict], root: Path, jobs: int = 2) -> dict:
    from vnsearch.ingest.formats import extract
    from vnsearch.ingest.prepare import term_streams
    from vnsearch.limits import Limits
    from vnsearch.text.normalize import normalize

    files = format_files(records)
    limits = Limits()
    out = {}
    print(f"\nformats: {len(records)} articles in each format; extraction alone on one core vs the analysis after it")
    print(f"{'format':7s} {'files':>5s} {'file MB':>7s} {'extract MB/s (file)':>19s} {'(text)':>7s} {'docs/s':>7s} "
          f"{'analysis MB/s':>13s} {'ratio':>6s} {'indexed, 2 jobs: docs/s':>23s}")
    for kind, items in files.items():
        extract(kind, items[0][1], items[0][0], limits)  # imports and warm-up
        t0 = time.perf_counter()
        texts = []
        for name, data in items:
            for d in extract(kind, data, name, limits):
                texts.append((d.title, d.body))
        took = time.perf_counter() - t0
        file_mb = sum(len(d) for _, d in items) / 1e6
        text_mb = mb(t + "\n" + b for t, b in texts)
        t0 = time.perf_counter()
        for t, b in texts:
            term_streams(normalize(t), normalize(b))
        analysis = text_mb / (time.perf_counter() - t0)
        folder = root / f"fmt-{kind}"
        folder.mkdir(exist_ok=True)
        for name, data in items:
            (folder / name).write_bytes(data)
        r = run_child(str(folder), str(root / f"index-fmt-{kind}"), jobs)
        extract_mbs = text_mb / took
        print(f"{kind:7s} {len(items):>5d} {file_mb:>7.1f} {file_mb / took:>19.2f} {extract_mbs:>7.2f} "
              f"{len(items) / took:>7.0f} {analysis:>13.2f} {extract_mbs / analysis:>5.1f}x "
              f"{r['documents'] / r['seconds']:>23.0f}")
        out[kind] = {"files": len(items), "file_mb": round(file_mb, 2), "extract_file_mb_s": round(file_mb / took, 2),
                     "extract_text_mb_s": round(extract_mbs, 2), "extract_docs_s": round(len(items) / took, 1),
                     "analysis_mb_s": round(analysis, 2), "indexed_docs_s_2jobs": round(r["documents"] / r["seconds"], 1),
                     "indexed_documents": r["documents"]}
    return out


def child(args) -> None:
    """Run one indexing job and print its figures (called in a fresh process)."""
    print(json.dumps(index_once(args.index, args.source, args.jobs)))


def run_child(source: str, index: str, jobs: int) -> dict:
    out = subprocess.run(
        [sys.executable, str(HERE / "index.py"), "--child", "--source", source, "--index", index, "--jobs", str(jobs)],
        check=True, capture_output=True, text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def write_inputs(records: list[dict], root: Path) -> tuple[Path, Path]:
    jsonl = root / "baomoi.jsonl"
    with open(jsonl, "w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    folder = root / "txt"
    folder.mkdir()
    for r in records:
        (folder / r["name"]).write_text(r["text"], encoding="utf-8")
    return jsonl, folder


def pyvi_yardstick(texts: list[str]) -> float:
    from pyvi import ViTokenizer

    ViTokenizer.tokenize("khởi động")
    t0 = time.perf_counter()
    for t in texts:
        ViTokenizer.tokenize(t)
    return mb(texts) / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--limit", type=int, default=None, help="only the first N articles")
    ap.add_argument("--jobs", default="1,2", help="job counts to try, comma-separated")
    ap.add_argument("--keep", help="write inputs and indexes here and keep them")
    ap.add_argument("--formats", type=int, default=400, help="articles written in each document format (0: none)")
    ap.add_argument("--formats-only", action="store_true", help="only the document formats part")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--source", help=argparse.SUPPRESS)
    ap.add_argument("--index", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        args.jobs = int(args.jobs)
        child(args)
        return

    records = read_jsonl_gz(BAOMOI, args.limit)
    size = mb(r["text"] for r in records)
    root = Path(args.keep) if args.keep else scratch("vnsearch-bench-")
    root.mkdir(parents=True, exist_ok=True)
    if args.formats_only:
        finish({"bench": "index-formats", "formats": formats_bench(records[: args.formats], root)})
        return
    jsonl, folder = write_inputs(records, root)
    print(f"{len(records):,} articles, {size:.1f} MB of text; inputs in {root}")

    yard = pyvi_yardstick([unicodedata.normalize("NFC", r["text"]) for r in records[:3000]])
    print(f"stock pyvi tokenization alone, one core: {yard:.2f} MB/s")

    figures = {"bench": "index", "documents": len(records), "mb": round(size, 2), "pyvi_mb_s": round(yard, 3)}
    print(f"{'source':8s} {'jobs':>4s} {'docs/s':>8s} {'MB/s':>6s} {'vs pyvi':>7s} {'peak RSS MB':>12s} {'index MB':>9s} {'seconds':>8s}")
    last = None
    for kind, src in (("jsonl", jsonl), ("folder", folder)):
        for jobs in (int(j) for j in args.jobs.split(",")):
            index = root / f"index-{kind}-{jobs}"
            if index.exists():
                import shutil

                shutil.rmtree(index)
            r = run_child(str(src), str(index), jobs)
            mbs = r["bytes"] / 1e6 / r["seconds"]
            rss = r["rss_main_mb"] + r["rss_worker_mb"] * jobs
            print(f"{kind:8s} {jobs:>4d} {r['documents'] / r['seconds']:>8.0f} {mbs:>6.2f} {mbs / yard:>6.2f}x "
                  f"{rss:>12.0f} {r['index_mb']:>9.0f} {r['seconds']:>8.1f}")
            figures[f"{kind}_j{jobs}"] = {
                "docs_s": round(r["documents"] / r["seconds"], 1), "mb_s": round(mbs, 3),
                "peak_rss_mb": round(rss), "rss_main_mb": round(r["rss_main_mb"]),
                "rss_worker_mb": round(r["rss_worker_mb"]), "index_mb": round(r["index_mb"], 1),
                "seconds": round(r["seconds"], 1), "segments": r["segments"],
            }
            if kind == "jsonl":
                last = (index, src, jobs, r["seconds"])
    if last:
        index, src, jobs, first = last
        r = run_child(str(src), str(index), jobs)
        print(f"re-run with nothing changed: {r['seconds']:.2f} s = {100 * r['seconds'] / first:.1f}% of the first run "
              f"({r['unchanged']:,} unchanged)")
        figures["rerun_seconds"] = round(r["seconds"], 2)
        figures["rerun_pct_of_first"] = round(100 * r["seconds"] / first, 2)
    if args.formats:
        figures["formats"] = formats_bench(records[: args.formats], root)
    finish(figures)


if __name__ == "__main__":
    main()

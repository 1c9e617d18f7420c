"""How cost grows with the collection: 58k and 290k news articles, indexed and searched, beside tantivy.

    python bench/scale.py [--sizes 58k,290k] [--work DIR] [--queries 300] [--jobs 2] [--shards 1] [--no-peers]

Collections: baomoi-35k + VietNews-22k with VietNews's word underscores undone
(58,084 articles, ~200 MB of text), and that set five times over with distinct
ids (290,420 articles, ~1 GB).  Each is written once as JSONL under --work and
reused, as is each index (delete it to index again).  Queries: the first N
XQuAD dev questions and N three-word title keywords.  Per size:

* indexing with --jobs in a fresh process: MB/s including the end-of-run merge,
  the merge's own seconds, peak RSS (main process, workers);
* index size as a multiple of the text's;
* open + first search, from a fresh process (import included), and its peak
  RSS, for a question and for keywords (the larger is reported);
* a session in one process: every question and keyword cold (their posting
  lists read for the first time), then all again warm: p50 / p95 of each, and
  the session's peak RSS, split into the process's own memory (anonymous) and
  mapped files (libraries; index files are read with pread, not mapped);
* the same session again, in a fresh process, without fragments (ranked hits
  and their stored fields, no snippets): what the tantivy column measures;
* tantivy (default tokenizer) indexing the same documents and answering the same
  queries (questions ORed, keywords ANDed) in the same run, in --rounds rounds
  interleaved with vnsearch's session without fragments (each round a fresh
  process, cold then warm): each round's ratio of vnsearch's cold p95 to
  tantivy's p95, and their median, the figure to compare across machines (this
  machine's speed drifts over minutes; two measurements minutes apart do not
  give a ratio that holds still).

Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _common import BAOMOI, VIETNEWS, baomoi_keyword_queries, finish, index_once, own_peak_mb, percentile, \
    read_jsonl_gz, read_questions

HERE = Path(__file__).resolve().parent
SIZES = {"58k": 1, "290k": 5}


def memory() -> dict:
    """Peak resident size, and the resident size now split into own memory and mapped files, in MB.

    The peak is the process's own (`own_peak_mb`), not its parent's."""
    out = {"peak_mb": own_peak_mb()}
    try:
        with open("/proc/self/status") as f:
            st = dict(line.split(":", 1) for line in f if ":" in line)
        out["anon_mb"] = int(st["RssAnon"].split()[0]) / 1024
        out["file_mb"] = int(st["RssFile"].split()[0]) / 1024
    except (OSError, KeyError, ValueError):
        pass
    return out


# -- children: each measured in a fresh process ------------------------------------------------
def child_oneshot(args, t0: float) -> dict:
    from vnsearch import Index

    ix = Index.open(args.index)
    ix.search(args.query)
    return {"seconds": time.perf_counter() - t0, **memory()}


def child_session(args) -> dict:
    from vnsearch import Index

    queries = json.loads(Path(args.queries_file).read_text(encoding="utf-8"))
    ix = Index.open(args.index)
    highlight = not args.no_fragments
    out = {}
    for rnd in ("cold", "warm"):
        for kind in ("questions", "keywords"):
            times = []
            for q in queries[kind]:
                t = time.perf_counter()
                ix.search(q, highlight=highlight)
                times.append((time.perf_counter() - t) * 1000)
            out[f"{kind}_{rnd}_p50_ms"] = percentile(times, 50)
            out[f"{kind}_{rnd}_p95_ms"] = percentile(times, 95)
    out["searches"] = 2 * (len(queries["questions"]) + len(queries["keywords"]))
    return {**out, **memory()}


def run_child(*argv: str) -> dict:
    out = subprocess.run([sys.executable, str(HERE / "scale.py"), "--child", *argv],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


# -- the collections -----------------------------------------------------------------------------
def base_records() -> list[dict]:
    """baomoi-35k as it is and VietNews-22k with its word underscores undone (text as people write it)."""
    records = read_jsonl_gz(BAOMOI)
    for r in read_jsonl_gz(VIETNEWS):
        records.append({"name": "vietnews/" + r["name"], "text": r["text"].replace("_", " ")})
    return records


def collection(work: Path, size: str, records: list[dict]) -> tuple[Path, int, float]:
    """(the JSONL file, documents, MB of text) of one size, written unless it is there whole."""
    path = work / f"collection-{size}.jsonl"
    copies = SIZES[size]
    docs = len(records) * copies
    text_mb = copies * sum(len(r["text"].encode("utf-8")) for r in records) / 1e6
    done = path.with_suffix(".done")
    if not done.exists():
        with open(path, "w", encoding="utf-8") as f:
            for c in range(copies):
                for r in records:
                    name = r["name"] if c == 0 else f"copy{c}/{r['name']}"
                    f.write(json.dumps({"name": name, "text": r["text"]}, ensure_ascii=False) + "\n")
        done.write_text(str(docs))
    return path, docs, text_mb


def tantivy_peer(jsonl: Path):
    """(tantivy over the collection's documents, seconds it took to index them)."""
    from peers import Tantivy

    docs = []
    with open(jsonl, encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            title, _, body = r["text"].partition("\n")
            docs.append((r["name"], title, body))
    t0 = time.perf_counter()
    peer = Tantivy(docs, name="tantivy")
    return peer, time.perf_counter() - t0


def tantivy_pass(peer, queries: dict) -> dict:
    """p50 / p95 of one pass of every question (ORed) and keyword query (ANDed)."""
    out = {}
    for kind, mode in (("questions", "or"), ("keywords", "and")):
        times = []
        for q in queries[kind]:
            t = time.perf_counter()
            peer.search(q, 10, mode)
            times.append((time.perf_counter() - t) * 1000)
        out[f"{kind}_p50_ms"] = percentile(times, 50)
        out[f"{kind}_p95_ms"] = percentile(times, 95)
    return out


def interleaved(index: Path, qfile: Path, peer, queries: dict, rounds: int) -> list[dict]:
    """`rounds` of: vnsearch's session without fragments in a fresh process (cold, then warm), then
    one tantivy pass; each round's ratios of vnsearch's cold p95 to tantivy's.  This machine's
    speed drifts by up to 2x over minutes: measured side by side, round by round, the ratio
    holds still where two measurements minutes apart do not."""
    out = []
    for _ in range(rounds):
        ours = run_child("--mode", "session", "--index", str(index), "--queries-file", str(qfile), "--no-fragments")
        theirs = tantivy_pass(peer, queries)
        out.append({"vnsearch": ours, "tantivy": theirs,
                    **{f"{kind}_ratio": ours[f"{kind}_cold_p95_ms"] / max(theirs[f"{kind}_p95_ms"], 1e-9)
                       for kind in ("questions", "keywords")}})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="58k,290k", help="comma-separated, of: " + ", ".join(SIZES))
    ap.add_argument("--work", type=Path, default=Path("/tmp/vnsearch-scale"), help="collections and indexes")
    ap.add_argument("--queries", type=int, default=300, help="questions, and as many keyword queries")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--shards", type=int, default=1, help="shards of the indexes built (index-SIZE-sN when N > 1)")
    ap.add_argument("--batch-docs", type=int, help="documents a batch when indexing (default: the library's)")
    ap.add_argument("--no-peers", action="store_true", help="skip tantivy")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds of vnsearch and tantivy searches")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--mode", help=argparse.SUPPRESS)
    ap.add_argument("--index", help=argparse.SUPPRESS)
    ap.add_argument("--source", help=argparse.SUPPRESS)
    ap.add_argument("--query", help=argparse.SUPPRESS)
    ap.add_argument("--queries-file", help=argparse.SUPPRESS)
    ap.add_argument("--no-fragments", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        t0 = time.perf_counter()
        fn = {"index": lambda: index_once(args.index, args.source, args.jobs, args.shards, args.batch_docs), "oneshot": lambda: child_oneshot(args, t0),
              "session": lambda: child_session(args)}[args.mode]
        print(json.dumps(fn()))
        return

    sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    unknown = [s for s in sizes if s not in SIZES]
    if unknown:
        sys.exit(f"error: unknown size {', '.join(unknown)} (use {', '.join(SIZES)})")
    args.work.mkdir(parents=True, exist_ok=True)
    records = base_records()
    queries = {"questions": [q for _, q in read_questions()][: args.queries],
               "keywords": baomoi_keyword_queries(records, args.queries)}
    qfile = args.work / "queries.json"
    qfile.write_text(json.dumps(queries, ensure_ascii=False), encoding="utf-8")

    results = {}
    for size in sizes:
        jsonl, docs, text_mb = collection(args.work, size, records)
        index = args.work / (f"index-{size}" + (f"-s{args.shards}" if args.shards > 1 else ""))
        print(f"== {size}: {docs:,} documents, {text_mb:,.0f} MB of text ({jsonl})", flush=True)
        built = None
        if not (index / "vnsearch.json").exists():
            built = run_child("--mode", "index", "--index", str(index), "--source", str(jsonl), "--jobs", str(args.jobs),
                              "--shards", str(args.shards),
                              *(["--batch-docs", str(args.batch_docs)] if args.batch_docs else []))
            print(f"   indexed in {built['seconds']:,.0f} s ({built['merge_seconds']:,.0f} s merging), "
                  f"{built['segments']} segments", flush=True)
        index_mb = sum(p.stat().st_size for p in index.rglob("*") if p.is_file()) / 1e6  # reused ones too
        oneshots = [run_child("--mode", "oneshot", "--index", str(index), "--query", q)
                    for q in (queries["questions"][0], queries["keywords"][0])]
        session = run_child("--mode", "session", "--index", str(index), "--queries-file", str(qfile))
        r = {"documents": docs, "text_mb": text_mb, "index_mb": index_mb, "index_x_text": index_mb / text_mb,
             "open_first_search_s": max(o["seconds"] for o in oneshots),
             "oneshot_peak_rss_mb": max(o["peak_mb"] for o in oneshots),
             "oneshot_anon_mb": max(o.get("anon_mb", 0) for o in oneshots),
             "session": session}
        if built:
            r["indexing"] = {**built, "mb_per_s": text_mb / built["seconds"]}
        # the same searches in fresh processes without fragments: ranked hits and their stored fields,
        # which is what tantivy's figures measure (it makes no snippets), interleaved with tantivy's
        if args.no_peers:
            r["session_no_fragments"] = run_child("--mode", "session", "--index", str(index), "--queries-file",
                                                  str(qfile), "--no-fragments")
        else:
            peer, seconds = tantivy_peer(jsonl)
            rounds = interleaved(index, qfile, peer, queries, args.rounds)
            del peer
            r["rounds"] = rounds
            r["session_no_fragments"] = rounds[0]["vnsearch"]
            r["tantivy"] = {"index_seconds": seconds, **rounds[0]["tantivy"]}
            r["ratios"] = {kind: statistics.median(x[f"{kind}_ratio"] for x in rounds)
                           for kind in ("questions", "keywords")}
        results[size] = r
        print_size(size, r)

    finish({"bench": "scale", "queries": args.queries, "jobs": args.jobs, "shards": args.shards, "sizes": results})


def print_size(size: str, r: dict) -> None:
    s = r["session"]
    ix = r.get("indexing")
    if ix:
        print(f"   indexing: {ix['mb_per_s']:.2f} MB/s with the merge ({ix['merge_seconds']:.0f} s of "
              f"{ix['seconds']:.0f} s), peak RSS {ix['rss_main_mb']:.0f} MB main / {ix['rss_worker_mb']:.0f} MB a worker")
    else:
        print("   indexing: reused (delete the index to measure it)")
    print(f"   index {r['index_mb']:,.0f} MB = {r['index_x_text']:.1f}x the text; open + first search "
          f"{r['open_first_search_s']:.2f} s, one-shot peak RSS {r['oneshot_peak_rss_mb']:.0f} MB "
          f"({r['oneshot_anon_mb']:.0f} MB own)")
    print(f"   session of {s['searches']:,} searches: peak RSS {s['peak_mb']:.0f} MB "
          f"(now {s.get('anon_mb', 0):.0f} MB own + {s.get('file_mb', 0):.0f} MB mapped files)")
    t = r.get("tantivy")
    print(f"   {'ms':32s} {'p50 cold':>9s} {'p95 cold':>9s} {'p50 warm':>9s} {'p95 warm':>9s}")
    for label, sess in (("", s), (" (no fragments)", r.get("session_no_fragments"))):
        if not sess:
            continue
        for kind in ("questions", "keywords"):
            print(f"   {kind + label:32s}" + "".join(f" {sess[f'{kind}_{rnd}_{p}_ms']:9.1f}" for rnd in ("cold", "warm")
                                                    for p in ("p50", "p95")), flush=True)
    if t:
        print(f"   tantivy indexed in {t['index_seconds']:.1f} s; {len(r['rounds'])} rounds of vnsearch (no "
              f"fragments, a fresh process) then tantivy, p95 ms:")
        for kind in ("questions", "keywords"):
            rounds = "  ".join(f"{x['vnsearch'][f'{kind}_cold_p95_ms']:.1f}/{x['tantivy'][f'{kind}_p95_ms']:.2f}"
                               f" = {x[f'{kind}_ratio']:.1f}x" for x in r["rounds"])
            print(f"   {kind:12s} {rounds}   median {r['ratios'][kind]:.1f}x", flush=True)


if __name__ == "__main__":
    main()

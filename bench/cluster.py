"""A Dask cluster on this machine against one process: indexing, query latency, coordination cost.

    python bench/cluster.py [--size 58k|290k] [--limit N] [--work DIR] [--queries 150] [--workers 2] [--shards 2]

The collection is bench/scale.py's (written under --work and reused; --limit keeps its first N
articles).  One process indexes it with 2 local worker processes (`index --jobs 2`, one
shard); a LocalCluster of --workers worker processes (one thread each, real TCP on
localhost) indexes it into --shards shards (extraction and analysis on the workers, segments
written by the client to the shared folder).  Then the same questions and keywords are
searched on the single index, on the sharded index locally (threads), and on the sharded
index through the cluster (each shard's rounds on its worker): p50 / p95 of each, and the
coordination overhead per query (cluster minus local on the same sharded index, paired per
query) and per round (a no-op sent to every worker and back).  Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from _common import baomoi_keyword_queries, finish, percentile, read_questions

HERE = Path(__file__).resolve().parent


def _noop(dask_worker=None):
    return None


def latencies(ix, queries: list[str]) -> list[float]:
    out = []
    for q in queries:
        t0 = time.perf_counter()
        ix.search(q, limit=10)
        out.append((time.perf_counter() - t0) * 1000)
    return out


def summary(ms: list[float]) -> dict:
    return {"p50": round(percentile(ms, 50), 2), "p95": round(percentile(ms, 95), 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", default="58k", help="a bench/scale.py collection: 58k or 290k")
    ap.add_argument("--limit", type=int, default=None, help="only its first N articles")
    ap.add_argument("--work", type=Path, default=Path("/tmp/vnsearch-cluster"))
    ap.add_argument("--queries", type=int, default=150, help="questions, and as many keyword queries")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--shards", type=int, default=2)
    args = ap.parse_args()

    sys.path.insert(0, str(HERE))
    from scale import base_records, collection
    from distributed import Client, LocalCluster

    from vnsearch import Index
    from vnsearch.ingest.sources import FieldMap

    args.work.mkdir(parents=True, exist_ok=True)
    records = base_records()
    jsonl, docs, text_mb = collection(args.work, args.size, records)
    tag = args.size
    if args.limit:
        part = args.work / f"collection-{args.size}-{args.limit}.jsonl"
        if not part.exists():
            with open(jsonl, encoding="utf-8") as f, open(part, "w", encoding="utf-8") as out:
                for i, line in enumerate(f):
                    if i >= args.limit:
                        break
                    out.write(line)
        jsonl, tag = part, f"{args.size}-{args.limit}"
        with open(jsonl, encoding="utf-8") as f:
            texts = [json.loads(line)["text"] for line in f]
        docs, text_mb = len(texts), sum(len(t.encode()) for t in texts) / 1e6
    print(f"{docs:,} articles, {text_mb:,.0f} MB of text ({jsonl})", flush=True)
    queries = [q for _, q in read_questions()][: args.queries] + baomoi_keyword_queries(records, args.queries)

    figures = {"bench": "cluster", "documents": docs, "text_mb": round(text_mb, 1), "workers": args.workers,
               "shards": args.shards}
    single = args.work / f"single-{tag}"
    if not (single / "vnsearch.json").exists():
        out = subprocess.run([sys.executable, str(HERE / "scale.py"), "--child", "--mode", "index", "--index",
                              str(single), "--source", str(jsonl), "--jobs", "2", "--shards", "1"],
                             check=True, capture_output=True, text=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        figures["single_indexing_mb_s"] = round(text_mb / r["seconds"], 3)
        print(f"one process, 2 jobs: {text_mb / r['seconds']:.2f} MB/s ({r['seconds']:.0f} s)", flush=True)

    cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=None,
                           silence_logs=40)
    try:
        sharded = args.work / f"cluster-{tag}-s{args.shards}"
        cix = Index.open(sharded, create=True, shards=args.shards, cluster=cluster.scheduler_address)
        if len(cix) < docs:
            t0 = time.perf_counter()
            rep = cix.add_sources([str(jsonl)], fields=FieldMap(id="name"))
            took = time.perf_counter() - t0
            figures["cluster_indexing_mb_s"] = round(text_mb / took, 3)
            print(f"cluster, {args.workers} workers, {args.shards} shards: {text_mb / took:.2f} MB/s ({took:.0f} s, "
                  f"{rep.added:,} added)", flush=True)
        client = Client(cluster.scheduler_address, set_as_default=False)
        rounds = []
        for _ in range(200):
            t0 = time.perf_counter()
            client.run(_noop)
            rounds.append((time.perf_counter() - t0) * 1000)
        client.close()
        one, local = Index.open(single), Index.open(sharded)
        for ix in (one, local, cix):  # open, page in, warm the worker's pyvi model
            latencies(ix, queries[:20])
        got = {}
        for name, ix in (("single", one), ("sharded_local", local), ("cluster", cix)):
            cold = latencies(ix, queries)
            got[name] = cold
            nq = args.queries
            figures[name] = {"questions": summary(cold[:nq]), "keywords": summary(cold[nq:])}
            print(f"{name:14s} questions p50/p95 {figures[name]['questions']['p50']:.1f}/"
                  f"{figures[name]['questions']['p95']:.1f} ms, keywords {figures[name]['keywords']['p50']:.1f}/"
                  f"{figures[name]['keywords']['p95']:.1f} ms", flush=True)
        overhead = [c - s for c, s in zip(got["cluster"], got["sharded_local"])]
        figures["overhead_per_query_ms"] = summary(overhead)
        figures["round_trip_ms"] = summary(rounds)
        print(f"coordination: {figures['overhead_per_query_ms']['p50']:.1f} ms a query (p50; cluster minus the "
              f"same shards searched locally), {figures['round_trip_ms']['p50']:.2f} ms a round to every worker",
              flush=True)
        cix.close()
    finally:
        cluster.close()
    finish(figures)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    main()

"""Query latency: the 711 XQuAD-vi dev questions and 500 keyword queries over baomoi-35k + XQuAD.

    python bench/query.py [--limit N] [--index DIR] [--no-peers]

vnsearch is timed through `Index.search` exactly as the CLI calls it (top 10,
highlights and suggestions included), from a fresh process: the first pass
pays for decoding each posting list once; a second pass over the same
queries, with the posting cache warm, is reported on its own row.  SQLite
FTS5 and tantivy answer the same queries on the same documents in the same
run (questions OR-ed, keywords AND-ed), so the figures compare as ratios.  Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from _common import BAOMOI, baomoi_keyword_queries, build_eval_index, finish, percentile, read_jsonl_gz, scratch, \
    read_questions, xquad_records


def timed(fn, queries) -> list[float]:
    out = []
    for q in queries:
        t0 = time.perf_counter()
        fn(q)
        out.append((time.perf_counter() - t0) * 1000)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--limit", type=int, default=None, help="only the first N baomoi articles as documents")
    ap.add_argument("--index", type=Path, help="build (or reuse) the vnsearch index here")
    ap.add_argument("--no-peers", action="store_true", help="skip SQLite FTS5 and tantivy")
    args = ap.parse_args()

    baomoi = read_jsonl_gz(BAOMOI, args.limit)
    questions = [q for _, q in read_questions()]
    keywords = baomoi_keyword_queries(baomoi)
    index_dir = args.index or scratch("vnsearch-query-") / "index"
    ix, built = build_eval_index(index_dir, baomoi)
    print(f"{len(ix):,} documents ({'built in %.0f s' % built if built else 'reused'}: {index_dir})")

    ix.search("khởi động")  # open the searcher, load the model
    rows = {}
    runs = {"vnsearch": (ix.search, ix.search), "vnsearch (second pass, warm)": (ix.search, ix.search)}
    if not args.no_peers:
        from peers import FTS5, Tantivy

        docs = [(r["id"], r["title"], r["text"]) for r in xquad_records()]
        for r in baomoi:
            title, _, body = r["text"].partition("\n")
            docs.append((r["name"], title, body))
        for peer in (FTS5(docs), Tantivy(docs, name="tantivy (default tokenizer)")):
            runs[peer.name] = (lambda q, p=peer: p.search(q, 10, "or"), lambda q, p=peer: p.search(q, 10, "and"))

    print(f"{'engine':30s} {'questions p50':>13s} {'p95':>7s} {'keywords p50':>13s} {'p95':>7s}   (ms)")
    for name, (ask, kw) in runs.items():
        tq, tk = timed(ask, questions), timed(kw, keywords)
        rows[name] = {"questions_p50_ms": round(percentile(tq, 50), 2), "questions_p95_ms": round(percentile(tq, 95), 2),
                      "keywords_p50_ms": round(percentile(tk, 50), 2), "keywords_p95_ms": round(percentile(tk, 95), 2)}
        r = rows[name]
        print(f"{name:30s} {r['questions_p50_ms']:>13.1f} {r['questions_p95_ms']:>7.1f} "
              f"{r['keywords_p50_ms']:>13.1f} {r['keywords_p95_ms']:>7.1f}")
    ours = rows["vnsearch"]
    for name, r in rows.items():
        if not name.startswith("vnsearch"):
            print(f"vnsearch p95 / {name} p95: questions {ours['questions_p95_ms'] / max(r['questions_p95_ms'], 1e-9):.1f}x, "
                  f"keywords {ours['keywords_p95_ms'] / max(r['keywords_p95_ms'], 1e-9):.1f}x")
    finish({"bench": "query", "documents": len(ix), "questions": len(questions), "keywords": len(keywords),
            "engines": rows})


if __name__ == "__main__":
    main()

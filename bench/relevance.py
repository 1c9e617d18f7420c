"""Relevance on XQuAD-vi (711 dev questions, 240 paragraphs + baomoi-35k distractors) and on a
keyword known-item set from VietNews, for vnsearch and the baselines, plus an ablation.

    python bench/relevance.py [--limit N] [--index DIR] [--vietnews N] [--no-whoosh] [--no-ablation]

Baselines, on the same documents and questions: SQLite FTS5 (unicode61,
remove_diacritics 2, terms OR-ed, bm25), tantivy with its default tokenizer
(OR), Whoosh with its StandardAnalyzer (OR), and pyvi segmentation of
title + text as one field with plain BM25 (bm25s; questions segmented the
same way).  Every figure is also given with the questions stripped of their
diacritics.  Metrics come from ir-measures.  Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import re
import unicodedata
from pathlib import Path

from _common import BAOMOI, VIETNEWS, XQUAD, build_eval_index, finish, read_jsonl_gz, read_questions, scratch, \
    xquad_records

from vnsearch.evaluate import evaluate, measure, read_qrels
from vnsearch.text.normalize import fold

COLS = ("RR@10", "nDCG@10", "R@1", "R@10", "R@100")


def peer_metrics(peer, queries, qrels, mode="or", prepare=lambda q: q) -> dict:
    run = {}
    for qid, text in queries:
        ids = peer.search(prepare(text), 100, mode)
        run[qid] = {d: float(100 - i) for i, d in enumerate(ids)} or {"__nothing__": 0.0}
    return measure({q: qrels[q] for q, _ in queries}, run)


def vietnews_known_items(n_docs: int, n_queries: int = 500, words: int = 5):
    """(documents, queries, qrels): the first words of an article's lead should find that article."""
    docs, queries, qrels = [], [], {}
    for i, r in enumerate(read_jsonl_gz(VIETNEWS, n_docs)):
        text = unicodedata.normalize("NFC", r["text"])
        text = re.sub(r"(?<=\w)_(?=\w)", " ", text)  # the corpus comes word-segmented: undo it
        blocks = [b.strip() for b in text.split("\n\n") if b.strip()]
        if len(blocks) < 2:
            continue
        title, lead, body = blocks[0], blocks[1], "\n".join(blocks[2:])
        doc_id = f"vn{i}"
        docs.append({"id": doc_id, "title": title, "text": lead + "\n" + body})
        if len(docs) % max(1, n_docs // n_queries) == 0 and len(queries) < n_queries:
            q = " ".join(w for w in lead.split() if any(c.isalnum() for c in w))
            q = " ".join(q.split()[:words])
            queries.append((f"k{len(queries)}", q))
            qrels[f"k{len(queries) - 1}"] = {doc_id: 1}
    return docs, queries, qrels


def row(name, m, ms):
    return f"{name:44s} " + " ".join(f"{m[c]:>7.3f}" for c in COLS) + f"   {ms['RR@10']:>7.3f} {ms['R@10']:>7.3f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--limit", type=int, default=None, help="only the first N baomoi distractors")
    ap.add_argument("--index", type=Path, help="build (or reuse) the vnsearch XQuAD+baomoi index here")
    ap.add_argument("--vietnews", type=int, default=5000, help="VietNews articles for the known-item set")
    ap.add_argument("--no-whoosh", action="store_true", help="skip the Whoosh StandardAnalyzer baseline (slow to build)")
    ap.add_argument("--no-ablation", action="store_true")
    ap.add_argument("--ablation-questions", type=int, default=None, help="dev questions per ablation row (all)")
    args = ap.parse_args()

    from vnsearch import Index
    from vnsearch.text.segment import tokenize

    baomoi = read_jsonl_gz(BAOMOI, args.limit)
    questions = read_questions()
    qrels = read_qrels(XQUAD / "qrels-dev.txt")
    questions = [(q, t) for q, t in questions if q in qrels]
    stripped = [(q, fold(t)) for q, t in questions]
    index_dir = args.index or scratch("vnsearch-rel-") / "index"
    ix, _ = build_eval_index(index_dir, baomoi)
    print(f"XQuAD-vi dev: {len(questions)} questions over {len(ix):,} documents")

    docs = [(r["id"], r["title"], r["text"]) for r in xquad_records()]
    for r in baomoi:
        title, _, body = r["text"].partition("\n")
        docs.append((r["name"], title, body))

    results = {}
    header = f"{'system':44s} " + " ".join(f"{c:>7s}" for c in COLS) + f"   {'noacc RR':>7s} {'R@10':>7s}"
    print(header)

    ev, evs = evaluate(ix, questions, qrels), evaluate(ix, stripped, qrels)
    results["vnsearch"] = {"accented": ev.metrics, "stripped": evs.metrics}
    print(row("vnsearch", ev.metrics, evs.metrics))

    from peers import FTS5, PyviBM25, Tantivy, WhooshStandard

    seg = lambda q: tokenize(unicodedata.normalize("NFC", q))  # noqa: E731 - identical to pyvi's output
    peers = [(FTS5(docs), lambda q: q), (Tantivy(docs, name="tantivy (default tokenizer)"), lambda q: q)]
    if not args.no_whoosh:
        peers.append((WhooshStandard(docs), lambda q: q))
    peers.append((PyviBM25(docs, [seg(f"{t}\n{x}") for _, t, x in docs]), seg))
    for peer, prep in peers:
        m = peer_metrics(peer, questions, qrels, prepare=prep)
        ms = peer_metrics(peer, stripped, qrels, prepare=prep)
        results[peer.name] = {"accented": m, "stripped": ms}
        print(row(peer.name, m, ms))

    # Keyword known-item search: the first five words of a VietNews lead should find its article.
    kdocs, kqueries, kqrels = vietnews_known_items(args.vietnews)
    kix = Index.open(scratch("vnsearch-kw-") / "index", create=True)
    from vnsearch.ingest.sources import Document

    kix.add([Document(d["id"], d["title"], d["text"]) for d in kdocs], jobs=2)
    kstripped = [(q, fold(t)) for q, t in kqueries]
    print(f"\nVietNews known items: {len(kqueries)} keyword queries over {len(kdocs):,} articles")
    print(header)
    km, kms = evaluate(kix, kqueries, kqrels).metrics, evaluate(kix, kstripped, kqrels).metrics
    results["keywords"] = {"vnsearch": {"accented": km, "stripped": kms}}
    print(row("vnsearch", km, kms))
    kd = [(d["id"], d["title"], d["text"]) for d in kdocs]
    for peer, prep in ((FTS5(kd), lambda q: q), (Tantivy(kd, name="tantivy (default tokenizer)"), lambda q: q),
                       (PyviBM25(kd, [seg(f"{t}\n{x}") for _, t, x in kd]), seg)):
        m = peer_metrics(peer, kqueries, kqrels, prepare=prep)
        ms = peer_metrics(peer, kstripped, kqrels, prepare=prep)
        results["keywords"][peer.name] = {"accented": m, "stripped": ms}
        print(row(peer.name, m, ms))

    if not args.no_ablation:
        aq = questions[: args.ablation_questions]
        astripped = stripped[: args.ablation_questions]
        print(f"\nAblation ({len(aq)} XQuAD dev questions, then the VietNews keyword queries; "
              "each row changes one thing from the shipped defaults)")
        print(header + f"   {'kw RR':>7s} {'noacc':>7s}")
        base = ix.ranking
        variants = {
            "shipped defaults": {},
            "words field only": {"syllables": 0.0, "folded": 0.0},
            "no words field": {"words": 0.0},
            "no syllables field": {"syllables": 0.0},
            "no folded field": {"folded": 0.0},
            "title field at 0.1": {"title": 0.1},
            "title field weighted like body (1.0)": {"title": 1.0},
            "operator AND for every query": {"operator": "and"},
            "operator OR for every query": {"operator": "or"},
            "BM25 b=0.75 (the usual default)": {"b": 0.75},
            "BM25 k1=1.2 (the usual default)": {"k1": 1.2},
            "BM25 k1=1.2, b=0.75": {"k1": 1.2, "b": 0.75},
            "Lucene's idf, no floor": {"idf_floor": 0.0},
            "idf floor 0.5": {"idf_floor": 0.5},
            "idf floor 1 (about Whoosh's ln(N/(df+1))+1)": {"idf_floor": 1.0},
            "no proximity re-ranking": {"proximity": 0.0},
            "proximity 1.0": {"proximity": 1.0},
            "words not side by side, short queries not first side by side": {"words_side_by_side": False,
                                                                             "short_queries_side_by_side": False},
            "abbreviations weighed like the form typed": {"synonym_weight": 1.0},
            "no coverage": {"coverage": 0.0},
            "coverage for every query length": {"coverage_max_words": 1000},
            "no accent restoration": {"restore_accents": False},
            "restored accents weighted 1.0": {"restored_exact": 1.0},
        }
        ablation = {}
        for name, change in variants.items():
            ix.ranking = base.with_(**change)
            kix.ranking = base.with_(**change)
            m, ms = evaluate(ix, aq, qrels).metrics, evaluate(ix, astripped, qrels).metrics
            km, kms = evaluate(kix, kqueries, kqrels).metrics, evaluate(kix, kstripped, kqrels).metrics
            ablation[name] = {"accented": m, "stripped": ms, "keywords": km, "keywords_stripped": kms,
                              "change": change}
            print(row(name, m, ms) + f"   {km['RR@10']:>7.3f} {kms['RR@10']:>7.3f}")
        ix.ranking = kix.ranking = base
        results["ablation"] = ablation
    finish({"bench": "relevance", "questions": len(questions), "documents": len(ix), "results": results})


if __name__ == "__main__":
    main()

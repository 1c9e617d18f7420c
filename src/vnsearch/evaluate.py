"""Relevance evaluation: run queries through the normal search path and score them with ir-measures.

Queries are ``qid<TAB>text`` lines; judgements are TREC qrels
(``qid 0 docid relevance``).  The metrics are ir-measures' own: RR@10
(MRR@10 once averaged), nDCG@10, R@1, R@10, R@100.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from vnsearch.errors import QueryError, VnsearchError

METRIC_NAMES = ("RR@10", "nDCG@10", "R@1", "R@10", "R@100")
DEPTH = 100


@dataclass
class Evaluation:
    metrics: dict[str, float]
    queries: int
    failed: list[tuple[str, str]]  # (qid, why) for queries that could not run
    run: dict[str, dict[str, float]]
    mean_ms: float

    def to_dict(self) -> dict:
        return {"metrics": {k: round(v, 4) for k, v in self.metrics.items()}, "queries": self.queries,
                "failed": [{"qid": q, "error": e} for q, e in self.failed], "mean_ms": round(self.mean_ms, 2)}


def read_queries(path: str | Path) -> list[tuple[str, str]]:
    out = []
    with open(path, encoding="utf-8-sig") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip():
                continue
            qid, sep, text = line.partition("\t")
            if not sep:
                raise VnsearchError(f"{path}:{n}: expected 'qid<TAB>query'")
            out.append((qid.strip(), text.strip()))
    return out


def read_qrels(path: str | Path) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = {}
    with open(path, encoding="utf-8-sig") as f:
        for n, line in enumerate(f, 1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) != 4 or not parts[3].lstrip("-").isdigit():
                raise VnsearchError(f"{path}:{n}: expected TREC qrels 'qid 0 docid relevance'")
            qrels.setdefault(parts[0], {})[parts[2]] = int(parts[3])
    return qrels


def measure(qrels: dict, run: dict) -> dict[str, float]:
    import ir_measures

    measures = [ir_measures.parse_measure(m) for m in METRIC_NAMES]
    agg = ir_measures.calc_aggregate(measures, qrels, run)
    return {name: float(agg[m]) for name, m in zip(METRIC_NAMES, measures)}


def judged_id(doc_id: str, known: set[str]) -> str:
    """A document's id as the judgements name it: a file's id is its absolute path, and qrels
    written for a folder name its files relative to it (``thoi-su/a.txt``)."""
    if doc_id in known or "/" not in doc_id:
        return doc_id
    at = doc_id.find("/", 1)
    while at >= 0:
        if doc_id[at + 1 :] in known:
            return doc_id[at + 1 :]
        at = doc_id.find("/", at + 1)
    return doc_id


def evaluate(index, queries: list[tuple[str, str]], qrels: dict, depth: int = DEPTH,
             transform=None) -> Evaluation:
    """Search every query (only those with judgements count) and score the run."""
    run: dict[str, dict[str, float]] = {}
    failed = []
    total_ms = 0.0
    judged = [(q, t) for q, t in queries if q in qrels]
    known = {d for docs in qrels.values() for d in docs}
    for qid, text in judged:
        if transform:
            text = transform(text)
        try:
            res = index.search(text, limit=depth, highlight=False, suggest_below=0)
        except QueryError as e:
            failed.append((qid, str(e)))
            run[qid] = {}
            continue
        total_ms += res.took_ms
        # ranks, not raw scores, so ties keep the engine's order
        run[qid] = {judged_id(h.id, known): float(depth - i) for i, h in enumerate(res.hits)}
    # A query that found nothing must still count (as zero): give it a placeholder document.
    scored = {q: (run[q] or {"__nothing__": 0.0}) for q, _ in judged}
    metrics = measure({q: qrels[q] for q, _ in judged}, scored)
    return Evaluation(metrics, len(judged), failed, run, total_ms / max(1, len(judged)))


def write_run(run: dict[str, dict[str, float]], path: str | Path, tag: str = "vnsearch") -> None:
    with open(path, "w", encoding="utf-8") as f:
        for qid, docs in run.items():
            for rank, (doc, score) in enumerate(sorted(docs.items(), key=lambda x: -x[1]), 1):
                f.write(f"{qid} Q0 {doc} {rank} {score:g} {tag}\n")

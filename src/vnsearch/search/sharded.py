"""Scoring a sharded index: every shard in its own thread, with the whole collection's statistics.

As Elasticsearch's DFS query-then-fetch: first each shard counts the
documents holding each term the plan needs (its patterns expanded there),
the counts are summed with the shards' document counts and field lengths,
then each shard scores the plan with those sums, so a document scores what
it would in one index holding every shard's documents (tested; an OR that
weighs its items by their best scores gets the best over all shards), and the
matches are joined in document-number order (shard after shard).  Each
thread reads only its own shard's files and caches.  Only numpy's array
work releases the GIL: on two cores the Python per term and per segment kept
two shards from running side by side and made them slower than one index
(bench/README.md); a process (or cluster worker) a shard, running these same
rounds, is what would.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from vnsearch.query import plan as P
from vnsearch.search.scorer import Scorer


class CollectionStats:
    """Document count, document frequencies and field lengths of every shard together, for one plan."""

    def __init__(self, n: int, frequencies: dict[tuple[str, str], int], lengths: dict[str, int]):
        self.n = n
        self._dfs = frequencies
        self._lengths = lengths

    def doc_frequency(self, field: str, term: str) -> int:
        return self._dfs[(field, term)]  # a term missing here is a term `Scorer.frequencies` missed: a bug

    def total_length(self, field: str) -> int:
        return self._lengths[field]


class ShardedScorer:
    """The `Scorer` interface `Index` uses (evaluate, top, remember, forget, expansions) over a
    `ShardedSnapshot`: one `Scorer` a shard, run in a thread pool."""

    def __init__(self, snapshot, **scorer_args):
        self.snap = snapshot
        self.n = snapshot.n
        self.parts = [Scorer(s, stats=snapshot, **scorer_args) for s in snapshot.shards]
        for sc in self.parts:
            # threads of one process: pruning's Python steps hold the GIL where whole-list numpy
            # work lets two shards run side by side (question p95 +15% with 2 shards at 58k,
            # bench/README.md); a cluster worker, a process of its own, prunes
            sc.prune_min_postings = None
        self.params = self.parts[0].params
        self.expansions: dict = {}
        self._deleted: int | None = None  # for `Scorer.top`
        self._pool = ThreadPoolExecutor(max_workers=len(self.parts), thread_name_prefix="vnsearch-shard")

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    def remember(self) -> None:
        self.expansions.clear()
        for sc in self.parts:
            sc.remember()

    def forget(self) -> None:
        for sc in self.parts:
            sc.forget()

    def statistics(self, plan) -> CollectionStats:
        """The collection's statistics for the terms of `plan` (each shard counts its own)."""
        return summed(self.n, self._pool.map(lambda sc: sc.frequencies(plan), self.parts), self.snap.total_length)

    def evaluate(self, plan) -> tuple[np.ndarray, np.ndarray]:
        """(document numbers, scores) of every match over all shards, as `Scorer.evaluate`."""
        stats = self.statistics(plan)
        weights: dict = {}
        for sc in self.parts:
            sc.stats, sc.coverage_weights = stats, weights
        for node in _coverage_ors(plan):  # innermost first: an item's scores depend on the ORs inside it
            maxima = list(self._pool.map(lambda sc: sc.item_maxima(node), self.parts))
            weights[node] = [max(ws) for ws in zip(*maxima)]
        results = list(self._pool.map(lambda sc: sc.evaluate(plan), self.parts))
        merge_expansions(self.expansions, [sc.expansions for sc in self.parts])
        ids = np.concatenate([r[0].astype(np.int64) + off for r, off in zip(results, self.snap.offsets)])
        scores = np.concatenate([np.asarray(r[1], dtype=np.float64) for r in results])
        return ids, scores

    deleted = Scorer.deleted

    def top(self, ids: np.ndarray, score: np.ndarray, k: int, by_date: bool = False):
        return Scorer.top(self, ids, score, k, by_date)

    def best(self, plan, k: int, by_date: bool = False, count_to: int | None = None):
        """(live matches, the best `k`, whether the count is exact) as `top(*evaluate(plan), k)`: each
        shard's own best `k` (its `Scorer.best`: sorted by date, its newest) with the collection's
        statistics, then the best of those (the order is dates, scores, then document numbers, in
        every shard as over all).  ORs weighed by their items' best scores anywhere take every
        match."""
        if _coverage_ors(plan):
            return *self.top(*self.evaluate(plan), k, by_date), True
        stats = self.statistics(plan)
        for sc in self.parts:
            sc.stats, sc.coverage_weights = stats, {}

        def one(sc):
            total, top, exact = sc.best(plan, k, by_date=by_date, count_to=count_to)
            return total, (dated(top, sc.snap) if by_date else top), exact

        results = list(self._pool.map(one, self.parts))
        merge_expansions(self.expansions, [sc.expansions for sc in self.parts])
        return joined_best(results, self.snap.offsets, k)


def merge_expansions(known: dict, found: list[dict]) -> None:
    """Add to `known` the index terms each pattern stood for in any shard (to highlight them)."""
    for expansions in found:
        for node, terms in expansions.items():
            have = known.setdefault(node, [])
            have.extend(t for t in terms if t not in have)


def dated(top: list[tuple[int, float]], snap) -> list[tuple[int, float, int]]:
    """A shard's best (docnum, score) with each document's date (`date_value`; 0: none), for
    `joined_best` to order shards' newest by date."""
    if not top:
        return []
    dates = snap.column("date")[np.array([d for d, _ in top], dtype=np.intp)]
    return [(d, s, int(v)) for (d, s), v in zip(top, dates.tolist())]


def joined_best(results: list, offsets, k: int) -> tuple[int, list[tuple[int, float]], bool]:
    """One answer from each shard's (live matches, best k by local document number, whether the
    count is exact): the total (a lower bound when any shard's is), the best k over all, by score
    then global document number, as `Scorer.top` orders them, and whether every count was exact.
    Hits given as (docnum, score, date) (`dated`) are ordered newest first, then as above."""
    hits = [(h[0] + int(off), h[1], h[2] if len(h) > 2 else 0) for (_, top, _), off in zip(results, offsets)
            for h in top]
    hits.sort(key=lambda h: (-h[2], -h[1], h[0]))
    return sum(r[0] for r in results), [(d, s) for d, s, _ in hits[:k]], all(r[2] for r in results)


def summed(n: int, counts, total_length) -> CollectionStats:
    """The collection's statistics from each shard's document frequencies (and the snapshot's
    summed field lengths, `total_length`)."""
    dfs: dict[tuple[str, str], int] = {}
    for local in counts:
        for key, df in local.items():
            dfs[key] = dfs.get(key, 0) + df
    return CollectionStats(n, dfs, {f: total_length(f) for f in {field for field, _ in dfs}})


def _coverage_ors(p, out: list | None = None) -> list:
    """The ORs of `p` whose scores weigh items by their best score anywhere, innermost first."""
    out = [] if out is None else out
    for child in P.children(p):
        _coverage_ors(child, out)
    if isinstance(p, P.Or) and p.coverage and p not in out:
        out.append(p)
    return out

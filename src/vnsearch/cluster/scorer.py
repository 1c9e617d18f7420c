"""The client's side of a search on the cluster: the `Scorer` interface `Index` uses, with each
shard's rounds run on its worker (`shard.shard_round`) and timed per phase."""

from __future__ import annotations

import time

import numpy as np

from vnsearch.cluster.shard import shard_fetch, shard_round
from vnsearch.search.scorer import Scorer
from vnsearch.search.sharded import CollectionStats, _coverage_ors, joined_best, merge_expansions, summed


class ClusterScorer:
    def __init__(self, snapshot, cluster, paths: list[str], **scorer_args):
        self.snap = snapshot
        self.n = snapshot.n
        self.cluster = cluster
        self.paths = [str(p) for p in paths]
        shards = getattr(snapshot, "shards", [snapshot])
        self.generations = [s.generation for s in shards]
        self.offsets = getattr(snapshot, "offsets", np.array([0, snapshot.n], dtype=np.int64))
        self.args = {k: scorer_args[k] for k in ("k1", "b", "idf_floor", "max_expansions", "cache_bytes", "memo_bytes")
                     if k in scorer_args}
        self.params = (self.args.get("k1", 1.2), self.args.get("b", 0.75), self.args.get("idf_floor", 0.0))
        self.key = (tuple(self.generations), self.params)  # a worker's scorer is valid for this collection
        self.expansions: dict = {}
        self.phases: dict[str, float] = {}
        self._deleted: int | None = None  # for `Scorer.top`

    def close(self) -> None:
        pass

    def remember(self) -> None:
        self.expansions.clear()
        self.phases = {"statistics_ms": 0.0, "maxima_ms": 0.0, "scores_ms": 0.0, "fetch_ms": 0.0, "rounds": 0}

    def forget(self) -> None:
        pass

    def _round(self, name: str, round_: str, plan, stats=None, weights=None, k: int = 0,
               count_to: int | None = None) -> list:
        t0 = time.perf_counter()
        calls = [(i, (path, gen, self.key, self.args, round_, plan, stats, weights, k, count_to))
                 for i, (path, gen) in enumerate(zip(self.paths, self.generations))]
        try:
            out = self.cluster.on_shards(shard_round, calls, name.replace("_ms", ""))
        finally:
            self.phases[name] = self.phases.get(name, 0.0) + (time.perf_counter() - t0) * 1000
            self.phases["rounds"] = self.phases.get("rounds", 0) + 1
        return out

    def statistics(self, plan) -> CollectionStats:
        return summed(self.n, self._round("statistics_ms", "frequencies", plan), self.snap.total_length)

    def evaluate(self, plan) -> tuple[np.ndarray, np.ndarray]:
        stats = self.statistics(plan)
        weights: dict = {}
        for node in _coverage_ors(plan):  # innermost first, as `ShardedScorer`
            maxima = self._round("maxima_ms", "maxima", node, stats, dict(weights))
            weights[node] = [max(ws) for ws in zip(*maxima)]
        results = self._round("scores_ms", "evaluate", plan, stats, weights)
        merge_expansions(self.expansions, [r[-1] for r in results])
        ids = np.concatenate([r[0].astype(np.int64) + off for r, off in zip(results, self.offsets)])
        scores = np.concatenate([np.asarray(r[1], dtype=np.float64) for r in results])
        return ids, scores

    def fetch(self, docnums: list[int], terms, per_hit: int, highlight: bool) -> list[dict]:
        """The hits as shown, each read and highlighted on its shard's worker (one round)."""
        if not docnums:
            return []
        where = [int(np.searchsorted(self.offsets, d, side="right")) - 1 for d in docnums]
        wanted: dict[int, list[int]] = {}
        for d, i in zip(docnums, where):
            wanted.setdefault(i, []).append(d - int(self.offsets[i]))
        shards = sorted(wanted)
        calls = [(i, (self.paths[i], self.generations[i], wanted[i], terms, per_hit, highlight)) for i in shards]
        t0 = time.perf_counter()
        try:
            answers = self.cluster.on_shards(shard_fetch, calls, "fetch")
        finally:
            self.phases["fetch_ms"] = self.phases.get("fetch_ms", 0.0) + (time.perf_counter() - t0) * 1000
            self.phases["rounds"] = self.phases.get("rounds", 0) + 1
        rows = {i: iter(rows) for i, rows in zip(shards, answers)}
        return [next(rows[i]) for i in where]

    deleted = Scorer.deleted

    def top(self, ids: np.ndarray, score: np.ndarray, k: int, by_date: bool = False):
        return Scorer.top(self, ids, score, k, by_date)

    def best(self, plan, k: int, by_date: bool = False, count_to: int | None = None):
        """(live matches, the best `k`, whether the count is exact) as `top(*evaluate(plan), k)`:
        each worker sends its shards' best `k` (pruned where `Scorer.best` can; sorted by date, the
        newest, with their dates) and its count, not every match."""
        if _coverage_ors(plan):
            return *self.top(*self.evaluate(plan), k, by_date), True
        results = self._round("scores_ms", "best_by_date" if by_date else "best", plan, self.statistics(plan),
                              {}, k, count_to)
        merge_expansions(self.expansions, [r[-1] for r in results])
        return joined_best([r[:3] for r in results], self.offsets, k)


__all__ = ["ClusterScorer"]

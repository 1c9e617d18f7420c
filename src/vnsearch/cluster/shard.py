"""What a worker does for one shard of a search: the rounds of `search/sharded.py`, on its own copy.

A worker keeps each shard it served open (the store, the snapshot of the commit the
client searches, and a scorer for the collection's statistics of that moment), so a
session's searches reuse decoded lists and scores as a local index does.
"""

from __future__ import annotations

from pathlib import Path

from vnsearch.errors import StaleShard

#: shard folder -> (store, snapshot, scorer key, scorer)
_OPEN: dict[str, list] = {}


def _scorer(path: str, generation: int, key: tuple, params: dict):
    from vnsearch.search.scorer import Scorer

    entry = _opened(path, generation)
    if entry[2] != key:
        entry[2], entry[3] = key, Scorer(entry[1], **params)
    return entry[3]


def _opened(path: str, generation: int) -> list:
    """The shard's cache entry, its snapshot at `generation` (`StaleShard` when the disk is past it)."""
    from vnsearch import engine

    entry = _OPEN.get(path)
    if entry is None:
        entry = _OPEN[path] = [engine.Store.open(Path(path)), None, None, None]
    store, snap = entry[0], entry[1]
    if snap is None or snap.generation != generation:
        if snap is not None:
            snap.close()
        snap = entry[1] = store.snapshot()
        entry[2] = entry[3] = None
        if snap.generation != generation:
            raise StaleShard(f"{path}: at commit {snap.generation}, the client searches {generation}")
    return entry


def shard_round(path: str, generation: int, key: tuple, params: dict, round_: str, plan, stats=None,
                weights=None, k: int = 0, count_to: int | None = None):
    """One round for one shard: "frequencies" (its document frequencies of the plan's terms),
    "maxima" (an OR's items' best scores, `plan` being the OR), "evaluate" (its matches and
    scores) or "best" (its live matches, best `k` and whether that count is exact, pruned where
    `Scorer.best` can, counting exactly up to `count_to`; "best_by_date": its newest `k`, each
    with its date), with the terms its patterns stood for."""
    sc = _scorer(path, generation, key, params)
    if stats is not None:
        sc.stats, sc.collection = stats, stats.n
    sc.coverage_weights = weights
    sc.remember()
    try:
        if round_ == "frequencies":
            return sc.frequencies(plan)
        if round_ == "maxima":
            return sc.item_maxima(plan)
        if round_ in ("best", "best_by_date"):
            from vnsearch.search.sharded import dated

            by_date = round_ == "best_by_date"
            total, top, exact = sc.best(plan, k, by_date=by_date, count_to=count_to)
            return (total, dated(top, sc.snap) if by_date else top, exact,
                    {node: list(terms) for node, terms in sc.expansions.items()})
        ids, scores = sc.evaluate(plan)
        return ids, scores, {node: list(terms) for node, terms in sc.expansions.items()}
    finally:
        sc.forget()


def shard_fetch(path: str, generation: int, docnums: list[int], terms, per_hit: int, highlight: bool) -> list[dict]:
    """The fetch round: the shard's hits as they are shown (stored fields, fragments of the body
    and the title's matches), read and highlighted here, where the documents are."""
    from vnsearch.index import shown

    snap = _opened(path, generation)[1]
    return [shown(snap.stored(d, body=highlight), terms, per_hit, highlight) for d in docnums]

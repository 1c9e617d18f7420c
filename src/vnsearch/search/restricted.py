"""A plan's scores at given documents only, equal to the whole evaluation's at those documents.

An AND is decided by its rarest item: `Scorer._and` evaluates that item
whole and asks the others only about the documents it found.
`scores_at(p, ids)` answers "which of `ids` does `p` match, with what
score", looking each term's postings up at `ids` (BM25 for those postings
alone) instead of scoring and merging whole lists.  Its arithmetic is the
whole evaluation's, item by item in plan order from zero, so the scores are
equal to the last bit (tested); nodes whose scores need every match
(coverage weights, patterns, phrases) are evaluated whole and looked up.
"""

from __future__ import annotations

import numpy as np

from vnsearch.query import plan as P
from vnsearch.search import matches as M
from vnsearch.text.terms import pair_key

#: (which of the ids match, their scores: 0 where they do not)
At = tuple[np.ndarray, np.ndarray]


def _no(ids: np.ndarray) -> At:
    return np.zeros(len(ids), dtype=bool), np.zeros(len(ids))


def lookup(pids: np.ndarray, ids: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(which of `ids` are in the sorted `pids`, each one's place in `pids`: valid where found), by
    binary search, or through a scratch array of `n` places when both are large (as `M.gather`)."""
    if not len(pids) or not len(ids):
        return np.zeros(len(ids), dtype=bool), np.zeros(len(ids), dtype=np.intp)
    if M._dense(len(ids), n) and M._dense(len(pids), n):
        place = np.full(n, -1, dtype=np.intp)
        place[pids] = np.arange(len(pids))
        pos = place[ids]
        found = pos >= 0
        return found, np.where(found, pos, 0)
    pos = np.minimum(np.searchsorted(pids, ids), len(pids) - 1)
    return pids[pos] == ids, pos


class ScoresAt:
    """Mixed into `Scorer`: restricted evaluation (needs its `evaluate`, `snap`, `_memo`, BM25)."""

    def scores_at(self, p, ids: np.ndarray) -> At:
        """(mask, scores) of plan `p` at ascending document numbers `ids`: the same as evaluating `p`
        whole and reading its matches at `ids`, without scoring postings elsewhere."""
        if p is P.NOTHING or not len(ids):
            return _no(ids)
        memo = self._memo
        if memo is not None and p in memo:
            return self._looked_up(memo[p], ids)
        method = getattr(self, "_at_" + type(p).__name__.lower(), None)
        if method is None:  # scored from every match (coverage, patterns, phrases): whole, then looked up
            return self._looked_up(self.evaluate(p), ids)
        return method(p, ids)

    def _looked_up(self, matches: M.Matches, ids: np.ndarray) -> At:
        pids, s = matches
        found, pos = lookup(pids, ids, self.n)
        return found, np.where(found, s[pos], 0.0) if len(pids) else np.zeros(len(ids))

    def _at_term(self, p: P.Term, ids: np.ndarray) -> At:
        kind = self.snap.kind(p.field)
        if kind == "text":
            cached = self._terms.get((p.field, p.text))
            if cached is not None:
                found, s = self._looked_up(cached, ids)
                return found, (s * p.boost).astype(np.float64)
            pids, tf = self.snap.postings(p.field, p.text)
            found, pos = lookup(pids, ids, self.n)
            out = np.zeros(len(ids))
            if found.any():
                s = self._bm25(p.field, ids[found], tf[pos[found]], self._idf(self._df(p.field, p.text, pids)))
                out[found] = (s * p.boost).astype(np.float64)
            return found, out
        if kind == "keyword":
            pids, _tf = self.snap.postings(p.field, p.text)
            found, _ = lookup(pids, ids, self.n)
            return found, np.where(found, float(p.boost), 0.0)
        return _no(ids)

    def _at_adjacent(self, p: P.Adjacent, ids: np.ndarray) -> At:
        found = np.zeros(len(ids), dtype=bool)
        score = np.zeros(len(ids))
        for a, b in p.pairs:
            pids, _tf = self.snap.postings("pairs", pair_key(a, b))
            if len(pids):
                w = p.weight * (min(self._folded_idf(a), self._folded_idf(b)) + self.idf_floor)
                here, _ = lookup(pids, ids, self.n)
                score[here] += w
                found |= here
        return found, score

    def _at_dates(self, p: P.Dates, ids: np.ndarray) -> At:
        found = self._date_mask(p, self.snap.column("date")[ids])
        return found, np.where(found, float(p.boost), 0.0)

    def _at_every(self, p: P.Every, ids: np.ndarray) -> At:
        found = self.snap.live[ids].copy()
        return found, np.where(found, float(p.boost), 0.0)

    def _at_filter(self, p: P.Filter, ids: np.ndarray) -> At:
        return self.scores_at(p.child, ids)[0], np.zeros(len(ids))

    def _at_not(self, p: P.Not, ids: np.ndarray) -> At:
        return ~self.scores_at(p.child, ids)[0], np.zeros(len(ids))

    def _at_andnot(self, p: P.AndNot, ids: np.ndarray) -> At:
        found, score = self.scores_at(p.positive, ids)
        if found.any():
            where = np.flatnonzero(found)
            found = found.copy()
            found[where[self.scores_at(p.negative, ids[where])[0]]] = False
        return found, np.where(found, score, 0.0)

    def _at_maybe(self, p: P.Maybe, ids: np.ndarray) -> At:
        found, score = self.scores_at(p.required, ids)
        if found.any():
            where = np.flatnonzero(found)
            score = score.copy()
            score[where] = score[where] + self.scores_at(p.optional, ids[where])[1]
        return found, score

    def _at_or(self, p: P.Or, ids: np.ndarray) -> At:
        if p.coverage:  # weighed by each item's best score anywhere: needs every match
            return self._looked_up(self.evaluate(p), ids)
        found = np.zeros(len(ids), dtype=bool)
        score = np.zeros(len(ids))
        for item in p.items:  # item by item in plan order, as `M.union` adds them
            here, s = self.scores_at(item, ids)
            if p.best:
                score[here] = np.maximum(score[here], s[here])
            else:
                score[here] += s[here]
            found |= here
        if p.boost != 1.0:
            score *= p.boost
        return found, np.where(found, score, 0.0)

    def _at_and(self, p: P.And, ids: np.ndarray) -> At:
        items = [i for i in p.items if i is not P.NOTHING]
        if not items:
            return _no(ids)
        keep = self.all_of(items, np.arange(len(ids)), ids)
        found = np.zeros(len(ids), dtype=bool)
        score = np.zeros(len(ids))
        if keep is not None:
            where, total = keep
            found[where] = True
            score[where] = total * p.boost if p.boost != 1.0 else total
        return found, score

    def all_of(self, items: list, where: np.ndarray, ids: np.ndarray, first: M.Matches | None = None,
               driver: int | None = None, sizes: list | None = None):
        """(places in `where` of the `ids` every item matches, their scores summed in item order from
        zero, as `M.intersection` sums them), or None; items are read smallest first (`sizes`, else
        `size`), each only at the documents the ones before left.  `first`: the whole matches of
        items[driver], whose documents are `ids` (it is read first, from them)."""
        sizes = sizes if sizes is not None else [self.size(i) for i in items]
        read: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # item -> (the places it was read at, scores)
        for i in sorted(range(len(items)), key=lambda i: (i != driver, sizes[i])):
            if i == driver and first is not None:
                s = first[1][where]
            else:
                found, s = self.scores_at(items[i], ids[where])
                where, s = where[found], s[found]
                if not len(where):
                    return None
            read[i] = (where, s)
        total = np.zeros(len(where))
        for i in range(len(items)):  # places only shrink: each item's scores at the places left
            at, s = read[i]
            total += s if len(at) == len(where) else s[np.searchsorted(at, where)]
        return where, total

    def size(self, p) -> float:
        """About how many documents `p` matches, from document frequencies (to read the rarest first)."""
        memo = self._memo
        if memo is not None and p in memo:
            return len(memo[p][0])
        if isinstance(p, P.Term):
            return self.snap.doc_frequency(p.field, p.text)
        if isinstance(p, P.Phrase):
            return min(self.snap.doc_frequency(p.field, w) for w in p.words)
        if isinstance(p, P.And):
            return min((self.size(i) for i in p.items), default=0)
        if isinstance(p, P.Or):
            return sum(self.size(i) for i in p.items)
        if isinstance(p, P.Maybe):
            return self.size(p.required)
        if isinstance(p, P.AndNot):
            return self.size(p.positive)
        if isinstance(p, P.Filter):
            return self.size(p.child)
        if isinstance(p, P.Adjacent):
            return sum(self.snap.doc_frequency("pairs", pair_key(a, b)) for a, b in p.pairs)
        return self.n  # dates, every document, negations, patterns: assume the most

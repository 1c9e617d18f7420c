"""The top k of an OR without scoring every match (MaxScore), the same hits and scores as scoring all.

A question is an OR of ten or more words, and a few of them ("là", "của",
"gì") are in most documents: scoring their lists was most of a question's
time.  Each item has an upper bound (a BM25 term never scores more than
idf x (k1 + 1)); a threshold theta is the k-th best exact score of a few
likely documents, so the true k-th best is at least theta.  The items whose
bounds sum to less than theta ("non-essential") cannot put a document in
the top k on their own: only the documents of the other items are
candidates, and each non-essential item is looked up at the candidates left
(most bounds in first), dropping those that can no longer reach theta.  The
few left are scored exactly with the whole plan (`scores_at`: the
evaluation's own arithmetic in plan order), so scores and order are equal
to the exhaustive ones to the last bit.  Every document scored exactly
(for a threshold or at the end) is kept with its score: thresholds come
from all of them, and none is scored again.  The hit count is exact up to
`count_to` matches: past it, a lower bound is enough (the strong items'
documents, or the most common weak word's), as "at least N", so the weak
items' lists need not be read whole just to be counted; without
`count_to` they are marked, not scored, and counted exactly.

Sorted by date (`dated_top`), a score only orders documents of one date:
the matches are found without scores (`matched`) and only the newest are
scored.
"""

from __future__ import annotations

import numpy as np

from vnsearch.query import plan as P
from vnsearch.search import matches as M

#: bounds are raised and thresholds lowered by this share: float32 BM25 can round a little above its bound
MARGIN = 1e-5
#: an OR with fewer postings than this is scored whole (pruning's own steps would cost more)
MIN_POSTINGS = 100_000
#: searches count their matches exactly up to this many; past it they may say "at least N" (as Lucene
#: and Elasticsearch do by default), unless asked for the exact count
COUNT_TO = 10_000
#: thresholds are the k-th best exact score of this many times k likely documents
SEED_DEPTH = 4


def pruned_top(scorer, plan, k: int, min_postings: int = MIN_POSTINGS, count_to: int | None = None):
    """(live matches, the best `k` as (docnum, score), whether the count is exact) of `plan`, as
    `scorer.top(*scorer.evaluate(plan), k)` gives them, or None when the plan is not an OR this can
    prune (then score it whole).  With `count_to`, a count of at least that many may be a lower
    bound of the true one (then the third value is False)."""
    p, optional = plan, None
    if isinstance(p, P.Maybe) and isinstance(p.required, P.Or):  # a short question: OR + proximity
        p, optional = p.required, p.optional
    if not isinstance(p, P.Or) or p.coverage or p.best or p.boost != 1.0 or k <= 0:
        return None
    items = [i for i in p.items if i is not P.NOTHING]
    sizes = [scorer.size(i) for i in items]
    if len(items) < 2 or sum(sizes) < min_postings:
        return None
    known = _Exact()  # documents scored exactly already: never looked up or scored again
    theta = _seed_threshold(scorer, plan, items, sizes, k, known)
    if theta is None:
        return None
    bounds = [bound(scorer, i) for i in items]
    # the largest set of weakest items whose bounds (and the proximity's) sum below theta
    rest = bound(scorer, optional) if optional is not None else 0.0
    weak: list[int] = []
    for i in sorted(range(len(items)), key=lambda i: bounds[i]):
        if rest + bounds[i] >= theta:
            break
        rest += bounds[i]
        weak.append(i)
    if not weak:
        return None
    strong = [i for i in range(len(items)) if i not in weak]
    ids, part, _ = M.union([scorer.evaluate(items[i]) for i in strong], scorer.n)
    theta = max(theta, _kth_exact(scorer, plan, ids, part, k, known) or 0.0)  # the strong items' best documents
    floor = theta * (1.0 - MARGIN)
    keep = part + rest >= floor
    keep[M.member(known.ids, ids, scorer.n)] = False
    cand, part = ids[keep], part[keep]
    for i in sorted(weak, key=lambda i: -bounds[i]):  # most potential first: the candidates shrink fastest
        if not len(cand):
            break
        part = part + scorer.scores_at(items[i], cand)[1]
        rest -= bounds[i]
        keep = part + rest >= floor
        cand, part = cand[keep], part[keep]
    known.score(scorer, plan, cand)
    top = scorer.top(known.ids, known.scores, k)[1]
    mark = _marked(scorer, ids)
    if count_to is not None:
        least = max([int(np.count_nonzero(mark))] + [lower_count(scorer, items[i]) for i in weak])
        if least >= count_to:
            return least, top, False
    for i in weak:
        mark[matched(scorer, items[i])] = True
    mark &= scorer.snap.live
    return int(np.count_nonzero(mark)), top, True


class _Exact:
    """The live documents a search has scored exactly so far, with their scores: thresholds are
    taken from all of them, and none is scored twice (`scores_at` of the whole plan gives a
    document the same score whichever documents it is asked with)."""

    def __init__(self):
        self.ids = np.zeros(0, dtype=np.intp)  # ascending
        self.scores = np.zeros(0)

    def score(self, scorer, plan, ids: np.ndarray) -> None:
        """Score the live matches among the ascending `ids` that are not known yet."""
        ids = ids[scorer.snap.live[ids] & ~M.member(self.ids, ids, scorer.n)]
        found, exact = scorer.scores_at(plan, ids)
        ids, exact = ids[found], exact[found]
        if len(ids):
            both = np.concatenate([self.ids, ids])
            order = np.argsort(both, kind="stable")
            self.ids, self.scores = both[order], np.concatenate([self.scores, exact])[order]


def _seed_threshold(scorer, plan, items: list, sizes: list, k: int, known: _Exact) -> float | None:
    """The k-th best exact score among the best documents of the rare items: at most the true k-th best."""
    rare = [i for i, s in enumerate(sizes) if not M._dense(s, scorer.n)] or [int(np.argmin(sizes))]
    ids, part, _ = M.union([scorer.evaluate(items[i]) for i in rare], scorer.n)
    return _kth_exact(scorer, plan, ids, part, k, known)


def _kth_exact(scorer, plan, ids: np.ndarray, part: np.ndarray, k: int, known: _Exact) -> float | None:
    """The k-th best exact score known once the `SEED_DEPTH` x k live documents of `ids` with the
    best partial scores `part` are scored (the best k by a partial score, which misses the
    common words, are seldom the best k; a few more cost little once their lists are read)."""
    live = scorer.snap.live[ids]
    ids, part = ids[live], part[live]
    depth = SEED_DEPTH * k
    known.score(scorer, plan, ids if len(ids) <= depth else np.sort(ids[np.argpartition(-part, depth - 1)[:depth]]))
    exact = known.scores
    if len(exact) < k:
        return None
    return float(np.partition(exact, len(exact) - k)[len(exact) - k])


def bound(scorer, p) -> float:
    """At least the score of `p` at any document, without scoring its postings where a rule exists."""
    if p is P.NOTHING or isinstance(p, P.Filter):
        return 0.0
    if isinstance(p, P.Term):
        kind = scorer.snap.kind(p.field)
        if kind == "text":
            df = scorer.stats.doc_frequency(p.field, p.text)
            # tf / (tf + k1 * norm) < 1, whatever the document's length
            return scorer._idf(df) * (scorer.k1 + 1.0) * p.boost * (1.0 + MARGIN) if df else 0.0
        return float(p.boost) if kind == "keyword" else 0.0
    if isinstance(p, P.And):
        return sum(bound(scorer, i) for i in p.items) * p.boost
    if isinstance(p, P.Maybe):
        return bound(scorer, p.required) + bound(scorer, p.optional)
    if isinstance(p, P.Or) and not p.coverage:
        bounds = [bound(scorer, i) for i in p.items]
        return (max(bounds, default=0.0) if p.best else sum(bounds)) * p.boost
    if isinstance(p, P.AndNot):
        return bound(scorer, p.positive)
    # proximity, phrases, patterns, coverage ORs: their best score, from their evaluation
    return float(scorer.evaluate(p)[1].max(initial=0.0)) * (1.0 + MARGIN)


#: a date-sorted search scores only its newest matches when they are at most this share of all
#: (undated documents all tie: in a collection without dates every match would be scored twice)
DATED_SHARE = 0.25


def dated_top(scorer, plan, k: int) -> tuple[int, list[tuple[int, float]], bool] | None:
    """(live matches, the newest `k` as (docnum, score), True: the count is exact) of `plan`, as
    `scorer.top(*scorer.evaluate(plan), k, by_date=True)` gives them: the matches are found without
    scores, and only those dated at least the k-th newest date (ties included) are scored, since a
    score only orders documents of the same date.  None when that date is shared by so many
    matches that scoring them all costs less (then score it whole)."""
    ids = matched(scorer, plan)
    if scorer.deleted:
        ids = ids[scorer.snap.live[ids]]
    total = len(ids)
    if not total or k <= 0:
        return total, [], True
    dates = scorer.snap.column("date")[ids]
    if total > k:
        near = dates >= np.partition(dates, total - k)[total - k]
        if np.count_nonzero(near) > max(k, DATED_SHARE * total):
            return None
        ids, dates = ids[near], dates[near]
    found, score = scorer.scores_at(plan, ids)
    if not found.all():  # `matched` and `scores_at` disagree (a bug): answer from every match instead
        return *scorer.top(*scorer.evaluate(plan), k, by_date=True), True
    order = np.lexsort((ids, -score, -dates))[:k]
    return total, [(int(ids[i]), float(score[i])) for i in order], True


def matched(scorer, p) -> np.ndarray:
    """The documents `p` matches (ascending), without scoring them where a rule exists."""
    if isinstance(p, P.Term) and scorer.snap.kind(p.field) in ("text", "keyword"):
        return scorer.snap.postings(p.field, p.text)[0]
    if isinstance(p, P.Filter):
        return matched(scorer, p.child)
    if isinstance(p, P.Maybe):
        return matched(scorer, p.required)
    if isinstance(p, P.Or):  # whatever weighs its items' scores, an OR matches any item's documents
        return M.union_ids([matched(scorer, i) for i in p.items if i is not P.NOTHING], scorer.n)
    if isinstance(p, P.And) and not any(isinstance(i, P.Filter) and isinstance(i.child, P.Dates) for i in p.items):
        parts = sorted((matched(scorer, i) for i in p.items if i is not P.NOTHING), key=len)
        if not parts:
            return M.none()[0]
        ids = parts[0]
        for other in parts[1:]:
            if not len(ids):
                break
            ids = ids[M.member(other, ids, scorer.n)]
        return ids
    return scorer.evaluate(p)[0]


def lower_count(scorer, p) -> int:
    """A number no larger than the live documents `p` matches, from document frequencies alone (0
    where no rule gives one): a term's postings less every deleted document."""
    if isinstance(p, P.Term) and scorer.snap.kind(p.field) in ("text", "keyword"):
        return max(0, scorer.snap.doc_frequency(p.field, p.text) - scorer.deleted)
    if isinstance(p, P.Filter):
        return lower_count(scorer, p.child)
    if isinstance(p, P.Maybe):
        return lower_count(scorer, p.required)
    if isinstance(p, P.Or):  # weights aside, any item's documents
        return max((lower_count(scorer, i) for i in p.items), default=0)
    return 0


def _marked(scorer, ids: np.ndarray) -> np.ndarray:
    """True at the live documents among `ids`, in an array of the snapshot's size."""
    mark = np.zeros(scorer.n, dtype=bool)
    mark[ids] = True
    mark &= scorer.snap.live
    return mark

"""Whole-query BM25 scoring over numpy arrays, one scale for every kind of match.

A plan (`query/plan.py`) is evaluated into the documents it matches and
their scores, as sparse arrays (`search/matches.py`).  Everything is
vnsearch's own arithmetic on what the engine seam gives (postings,
positions, lengths, columns): words are BM25 arrays; AND, OR, MAYBE, NOT
merge sorted document numbers, so every term is scored exactly and the hit
count is exact;
wildcards, fuzzy terms and text ranges are expanded to their index terms and
scored like words; phrases are found from positions and scored as Lucene
does (the phrase's frequency as tf, the sum of its words' idfs); dates are
compared on the date column.

BM25 uses Lucene's idf, ln(1 + (N - df + 0.5) / (df + 0.5)), which gives a
word found in nearly every document almost no weight; Whoosh's
ln(N / (df + 1)) + 1 gives it at least 1, so question words and particles
outweighed rare content words (bench/README.md has the figures).
"""

from __future__ import annotations

import re
from collections import Counter, OrderedDict

import numpy as np

from vnsearch.engine import date_value
from vnsearch.errors import TooManyTerms
from vnsearch.query import plan as P
from vnsearch.search import matches as M
from vnsearch.search.pruning import MIN_POSTINGS, dated_top, pruned_top
from vnsearch.search.restricted import ScoresAt
from vnsearch.text.terms import pair_key



class Scorer(ScoresAt):
    """Evaluates plans on one engine `Snapshot` with BM25 (k1, b from the ranking)."""

    def __init__(self, snapshot, k1: float = 1.2, b: float = 0.75, idf_floor: float = 0.0,
                 max_expansions: int = 1_000, cache_bytes: int = 128 << 20, memo_bytes: int = 64 << 20,
                 stats=None):
        self.cache_bytes = cache_bytes  # scored terms kept between searches
        self.memo_bytes = memo_bytes  # matches kept within one search
        self.max_expansions = max_expansions
        self.snap = snapshot
        self.k1 = k1
        self.b = b
        self.idf_floor = idf_floor
        self.params = (k1, b, idf_floor)
        self.n = snapshot.n  # document numbers this snapshot's arrays span
        # where document counts, frequencies and field lengths come from: the snapshot itself, or the
        # whole collection when it is one shard of several (`search/sharded.py`), so that every shard
        # scores as one index holding every document would
        self.stats = snapshot if stats is None else stats
        self.collection = self.stats.n
        self._terms: OrderedDict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._terms_size = 0  # bytes held in _terms, at most cache_bytes
        self._memo_size = 0
        self._avg: dict[str, float] = {}
        self._norm: dict[str, np.ndarray] = {}  # field -> `_norms`
        self._idfs: dict[str, float] = {}  # folded syllable -> idf, for proximity weights
        self._idf_of: dict[tuple[int, int], float] = {}  # (collection, df) -> idf: np.log of a scalar is slow
        self._memo: dict | None = None  # plan node -> (mask, score) within one search
        #: coverage ORs' item weights given from outside (a shard: the collection's, `search/sharded.py`)
        self.coverage_weights: dict | None = None
        #: ORs with fewer postings are scored whole; None: never pruned (`search/pruning.py`)
        self.prune_min_postings: int | None = MIN_POSTINGS
        self._deleted: int | None = None  # how many documents of the snapshot are deleted (`deleted`)
        self._has_dates: bool | None = None
        #: the index terms each pattern of the last evaluations stood for (to highlight them)
        self.expansions: dict[P.Expand, list[str]] = {}

    # -- terms --------------------------------------------------------------
    def term_scores(self, field: str, term: str) -> tuple[np.ndarray, np.ndarray]:
        """(document numbers, BM25 scores) of one term in a text field."""
        key = (field, term)
        hit = self._terms.get(key)
        if hit is not None:
            return hit
        ids, tf = self.snap.postings(field, term)
        scores = self._bm25(field, ids, tf, self._idf(self._df(field, term, ids))) if len(ids) else np.zeros(0)
        hit = (ids, scores)
        self._terms[key] = hit
        self._terms_size += _nbytes(hit)
        while self._terms_size > self.cache_bytes and len(self._terms) > 1:
            _, old = self._terms.popitem(last=False)
            self._terms_size -= _nbytes(old)
        return hit

    def _df(self, field: str, term: str, ids: np.ndarray) -> int:
        """The term's document frequency (`ids`: its postings here, which count it in one index)."""
        return len(ids) if self.stats is self.snap else self.stats.doc_frequency(field, term)

    def _idf(self, df: int) -> float:
        """Lucene's idf plus the floor: words found in nearly every document weigh little."""
        key = (self.collection, df)  # a shard's collection can change between searches
        idf = self._idf_of.get(key)
        if idf is None:
            if len(self._idf_of) >= 100_000:
                self._idf_of.clear()
            idf = self._idf_of[key] = float(np.log(1.0 + (self.collection - df + 0.5) / (df + 0.5))) + self.idf_floor
        return idf

    def _bm25(self, field: str, ids: np.ndarray, tf: np.ndarray, idf: float) -> np.ndarray:
        return idf * tf * (self.k1 + 1.0) / (tf + self._norms(field)[ids])

    def _norms(self, field: str) -> np.ndarray:
        """Each document's k1 * (1 - b + b * length / average length) in `field`: computed once for
        the whole collection, so scoring a term is one gather and not four passes over its postings
        (element by element the same arithmetic, so the same scores)."""
        norms = self._norm.get(field)
        if norms is None:
            k1, b = self.k1, self.b
            norms = self._norm[field] = k1 * (1.0 - b + b * self.snap.lengths(field) / self._avg_length(field))
        return norms

    def _avg_length(self, field: str) -> float:
        avg = self._avg.get(field)
        if avg is None:
            avg = self.stats.total_length(field) / max(1, self.collection) or 1.0
            self._avg[field] = avg
        return avg

    # -- plans ------------------------------------------------------------------
    def evaluate(self, p) -> tuple[np.ndarray, np.ndarray]:
        """(ascending document numbers, their scores) of the documents plan `p` matches, deleted
        ones included (`top` skips them).

        Within one search (`remember()` ... `forget()`), a node evaluated before is answered
        from memory: the attempts of a search (side by side, AND, any diacritics, OR) share
        most of their nodes.  The arrays returned are shared: callers never change them."""
        if p is P.NOTHING:
            return M.none()
        memo = self._memo
        if memo is not None:
            hit = memo.get(p)
            if hit is not None:
                return hit
        method = getattr(self, "_" + type(p).__name__.lower(), None)
        if method is None:
            raise TypeError(f"not a plan node: {p!r}")
        result = method(p)
        # a term's scores are cached unboosted (`term_scores`): remembering the boosted copy too would
        # hold every term twice in a search for the price of one multiplication
        if memo is not None and self._memo_size < self.memo_bytes and not isinstance(p, P.Term):
            memo[p] = result
            self._memo_size += _nbytes(result)
        return result

    def remember(self) -> None:
        """Start remembering evaluated nodes (one search), up to `memo_bytes` of them."""
        self._memo = {}
        self._memo_size = 0
        self.expansions.clear()

    def forget(self) -> None:
        self._memo = None

    def _term(self, p: P.Term) -> tuple[np.ndarray, np.ndarray]:
        kind = self.snap.kind(p.field)
        if kind == "text":
            ids, s = self.term_scores(p.field, p.text)
            return ids, (s * p.boost).astype(np.float64)  # the product in the postings' precision
        if kind == "keyword":
            ids, _tf = self.snap.postings(p.field, p.text)
            return ids, np.full(len(ids), float(p.boost))
        return M.none()

    def _phrase(self, p: P.Phrase) -> tuple[np.ndarray, np.ndarray]:
        """A phrase on the BM25 scale of words, as Lucene scores one: its frequency in each
        document as tf, the sum of its words' idfs as idf, the field's length normalization."""
        if not self.snap.has_positions(p.field):
            return M.none()
        # Candidates first: live documents holding every word at least as often as the phrase
        # does; positions are decoded only for those.
        having = []
        for word, times in Counter(p.words).items():
            ids, tf = self.snap.postings(p.field, word)
            having.append(ids[tf >= times] if times > 1 else ids)
        targets, _ = M.intersection([(i, np.zeros(len(i))) for i in having], self.n)
        targets = targets[self.snap.live[targets]]
        if not len(targets):
            return M.none()
        dfs = [self._df(p.field, w, self.snap.postings(p.field, w)[0]) for w in p.words]
        positions = {w: self.snap.positions(p.field, w, targets) for w in dict.fromkeys(p.words)}
        freqs = np.array([phrase_frequency([positions[w][i] for w in p.words], p.slop)
                          for i in range(len(targets))], dtype=np.float64)
        found = freqs > 0
        ids = targets[found]
        if not len(ids):
            return M.none()
        idf = sum(self._idf(df) for df in dfs)
        return ids, self._bm25(p.field, ids, freqs[found], idf) * p.boost

    def _expand(self, p: P.Expand) -> tuple[np.ndarray, np.ndarray]:
        """A wildcard, range or fuzzy term: the index terms it stands for, scored like one word
        (a document scores its best-matching term), at most `max_expansions` of them (else a
        one-line error, not a slow search)."""
        terms = self._expanded(p)
        self.expansions[p] = terms
        if not terms:
            return M.none()
        if self.snap.kind(p.field) == "text":
            parts = [self.term_scores(p.field, t) for t in terms]
        else:
            parts = [(ids, np.ones(len(ids))) for ids, _tf in (self.snap.postings(p.field, t) for t in terms)]
        ids, score, _ = M.union(parts, self.n, best=True)
        return ids, score * p.boost

    def _expanded(self, p: P.Expand) -> list[str]:
        terms = []
        for t in self._terms_of(p):
            terms.append(t)
            if len(terms) > self.max_expansions:
                shown = p.text or f"[{p.low or ''} TO {p.high or ''}]"
                raise TooManyTerms(
                    f"'{shown}' stands for more than {self.max_expansions:,} words of the index; make it more "
                    f"specific (the limit is VNSEARCH_MAX_EXPANSIONS)")
        return terms

    def frequencies(self, p, out: dict | None = None) -> dict[tuple[str, str], int]:
        """(field, term) -> document frequency here, for every term whose idf scoring `p` needs: what
        shards sum into collection statistics before they score (`search/sharded.py`)."""
        out = {} if out is None else out
        snap = self.snap
        if isinstance(p, P.Term) and snap.kind(p.field) == "text":
            out[(p.field, p.text)] = snap.doc_frequency(p.field, p.text)
        elif isinstance(p, P.Phrase):
            for w in p.words:
                out[(p.field, w)] = snap.doc_frequency(p.field, w)
        elif isinstance(p, P.Expand) and snap.kind(p.field) == "text":
            for t in self._expanded(p):
                out[(p.field, t)] = snap.doc_frequency(p.field, t)
        elif isinstance(p, P.Adjacent):
            for pair in p.pairs:
                for syllable in pair:
                    out[("folded", syllable)] = snap.doc_frequency("folded", syllable)
        for child in P.children(p):
            self.frequencies(child, out)
        return out

    def _terms_of(self, p: P.Expand):
        snap = self.snap
        if p.kind == "fuzzy":
            yield from snap.terms_within(p.field, p.text, p.maxdist, prefix=1 if len(p.text) > 1 else 0)
        elif p.kind == "wildcard":
            literal = re.split(r"[*?]", p.text, maxsplit=1)[0]
            pattern = re.compile(re.escape(p.text).replace(r"\*", ".*").replace(r"\?", "."), re.S)
            for t in snap.terms(p.field, prefix=literal):
                if pattern.fullmatch(t):
                    yield t
        elif p.kind == "range":
            for t in snap.terms(p.field, start=p.low or ""):
                if p.low is not None and p.low_excl and t == p.low:
                    continue
                if p.high is not None and (t > p.high or (p.high_excl and t == p.high)):
                    return
                yield t

    def _adjacent(self, p: P.Adjacent) -> tuple[np.ndarray, np.ndarray]:
        """Proximity: each pair's documents (the pairs field) get the pair's weight."""
        parts = []
        for a, b in p.pairs:
            ids, _tf = self.snap.postings("pairs", pair_key(a, b))
            if len(ids):
                idf = min(self._folded_idf(a), self._folded_idf(b))
                parts.append((ids, np.full(len(ids), p.weight * (idf + self.idf_floor))))
        return M.union(parts, self.n)[:2] if parts else M.none()

    def _folded_idf(self, syllable: str) -> float:
        idf = self._idfs.get(syllable)
        if idf is None:
            df = self.stats.doc_frequency("folded", syllable)
            idf = self._idfs[syllable] = self._idf(df) - self.idf_floor if df else 0.0
        return idf

    def _date_mask(self, p: P.Dates, col: np.ndarray) -> np.ndarray:
        mask = col != 0  # undated
        if p.low is not None:
            mask &= col >= date_value(p.low)
        if p.high is not None:
            mask &= col <= date_value(p.high)
        return mask

    def _dates(self, p: P.Dates) -> tuple[np.ndarray, np.ndarray]:
        ids = np.flatnonzero(self._date_mask(p, self.snap.column("date")))
        return ids, np.full(len(ids), float(p.boost))

    def _every(self, p: P.Every) -> tuple[np.ndarray, np.ndarray]:
        ids = np.flatnonzero(self.snap.live)
        return ids, np.full(len(ids), float(p.boost))

    def _filter(self, p: P.Filter) -> tuple[np.ndarray, np.ndarray]:
        ids, _ = self.evaluate(p.child)
        return ids, np.zeros(len(ids))

    def _not(self, p: P.Not) -> tuple[np.ndarray, np.ndarray]:
        ids = M.complement(self.evaluate(p.child)[0], self.n)
        return ids, np.zeros(len(ids))

    def _andnot(self, p: P.AndNot) -> tuple[np.ndarray, np.ndarray]:
        ids, score = self.evaluate(p.positive)
        if not len(ids):
            return ids, score
        keep = ~M.member(self.evaluate(p.negative)[0], ids, self.n)
        return ids[keep], score[keep]

    def _maybe(self, p: P.Maybe) -> tuple[np.ndarray, np.ndarray]:
        ids, score = self.evaluate(p.required)
        if not len(ids):
            return ids, score
        return ids, score + M.gather(self.evaluate(p.optional), ids, self.n)

    def _and(self, p: P.And) -> tuple[np.ndarray, np.ndarray]:
        """Documents every item matches, scored by the sum of the items' scores (in plan order); the
        rarest item is evaluated whole, the others only where it matches (`search/restricted.py`); a
        date filter is read off the date column for the documents the other items left."""
        items = [i for i in p.items if i is not P.NOTHING]
        dates = [i.child for i in items if isinstance(i, P.Filter) and isinstance(i.child, P.Dates)]
        items = [i for i in items if not (isinstance(i, P.Filter) and isinstance(i.child, P.Dates))]
        if not items:
            items, dates = [P.Filter(d) for d in dates], []
        # the rarest item (by document frequencies) whole; the others only at the documents it has
        sizes = [self.size(i) for i in items]
        driver = sizes.index(min(sizes))
        first = self.evaluate(items[driver])
        if not len(first[0]):
            return M.none()
        kept = self.all_of(items, np.arange(len(first[0])), first[0], first=first, driver=driver, sizes=sizes)
        if kept is None:
            return M.none()
        ids, score = self._dated(first[0][kept[0]], kept[1], dates)
        if p.boost != 1.0:
            score *= p.boost
        return ids, score

    def _dated(self, ids: np.ndarray, score: np.ndarray, dates: list) -> tuple[np.ndarray, np.ndarray]:
        """The matches dated within every one of `dates` (read off the date column)."""
        if dates and len(ids):
            col = self.snap.column("date")[ids]
            keep = np.ones(len(ids), dtype=bool)
            for d in dates:
                keep &= self._date_mask(d, col)
            ids, score = ids[keep], score[keep]
        return ids, score

    def _or(self, p: P.Or) -> tuple[np.ndarray, np.ndarray]:
        """Documents any item matches, scored by the sum of the items' scores (their best with
        `best`), times the share of the items held, each weighed by its best score anywhere, to
        the power `coverage` (missing a rare word costs more than missing "là")."""
        every = [self.evaluate(i) for i in p.items if i is not P.NOTHING]
        parts = [part for part in every if len(part[0])]
        if not parts:
            return M.none()
        weights = whole = None
        if p.coverage:
            best = self.coverage_weights.get(p) if self.coverage_weights is not None else None
            if best is None:
                best = self.item_maxima(p)
            whole = sum(best)
            weights = [w for w, part in zip(best, every) if len(part[0])]
        ids, score, held = M.union(parts, self.n, best=p.best, weights=weights)
        if weights is not None:
            if whole > 0:
                score *= (held / whole) ** p.coverage
        if p.boost != 1.0:
            score *= p.boost
        return ids, score

    def item_maxima(self, p: P.Or) -> list[float]:
        """Each item's best score anywhere here: an OR's coverage weights (the items are evaluated,
        so within a search they are remembered).  Shards share the largest (`search/sharded.py`)."""
        return [float(self.evaluate(i)[1].max(initial=0.0)) for i in p.items if i is not P.NOTHING]

    # -- results --------------------------------------------------------------
    @property
    def deleted(self) -> int:
        """How many document numbers of the snapshot are deleted documents (most indexes: none)."""
        if self._deleted is None:
            self._deleted = self.n - int(np.count_nonzero(self.snap.live))
        return self._deleted

    @property
    def has_dates(self) -> bool:
        """Whether any document of the snapshot has a date (sorted by date, undated ones tie)."""
        if self._has_dates is None:
            self._has_dates = bool(self.snap.column("date").any())
        return self._has_dates

    def best(self, plan, k: int, by_date: bool = False,
             count_to: int | None = None) -> tuple[int, list[tuple[int, float]], bool]:
        """(number of live matches, the best `k`, whether that number is exact) of a plan: an OR of
        many words without scoring every match (`search/pruning.py`: the same hits and scores),
        anything else scored whole.  With `count_to`, a count of at least that many may be a
        lower bound (pruning then need not read every list whole to count it)."""
        if by_date and not self.has_dates:
            by_date = False  # every document undated: the same order as by score
        if by_date:  # scores only order documents of one date: only the newest k are scored
            found = dated_top(self, plan, k)
            if found is not None:
                return found
        elif self.prune_min_postings is not None:
            found = pruned_top(self, plan, k, self.prune_min_postings, count_to)
            if found is not None:
                return found
        return *self.top(*self.evaluate(plan), k, by_date=by_date), True

    def top(self, ids: np.ndarray, score: np.ndarray, k: int, by_date: bool = False) -> tuple[int, list[tuple[int, float]]]:
        """(number of live matches, the best `k` as (docnum, score)), ties by document number."""
        cand, s = ids, score
        if self.deleted:
            live = self.snap.live[ids]
            cand, s = ids[live], score[live]
        total = len(cand)
        if not total or k <= 0:
            return total, []
        if by_date:
            dates = self.snap.column("date")[cand]
            order = np.lexsort((cand, -s, -dates))[:k]
        else:
            if total > k:  # the k-th best score, then every document scoring at least that (ties too)
                cand, s = _at_least_kth(cand, s, k)
            order = np.lexsort((cand, -s))[:k]
        return total, [(int(cand[i]), float(s[i])) for i in order]


#: below this many matches per wanted hit, the k-th best score is found by one partition of them all
_CHUNKED_TOP = 256


def _at_least_kth(ids: np.ndarray, score: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The matches scoring at least the k-th best score (0 < k < len(score)).

    A question at 290k articles matches most of them, and partitioning every
    score cost as much as some of its terms.  The k-th largest of the maxima of
    equal chunks is the score of k distinct matches, so at least k matches reach
    it and every match of the top k does: only the few that reach it are
    partitioned, and the answer is the same."""
    total = len(score)
    chunk = total // (4 * k)
    if chunk >= 8 and total >= _CHUNKED_TOP * k:
        whole = chunk * (total // chunk)
        maxima = score[:whole].reshape(-1, chunk).max(axis=1)
        if whole < total:
            maxima = np.append(maxima, score[whole:].max())
        floor = np.partition(maxima, len(maxima) - k)[len(maxima) - k]
        near = np.flatnonzero(score >= floor)
        ids, score = ids[near], score[near]
        total = len(score)
        if total <= k:
            return ids, score
    keep = score >= np.partition(score, total - k)[total - k]
    return ids[keep], score[keep]


def _nbytes(matches: tuple[np.ndarray, np.ndarray]) -> int:
    return matches[0].nbytes + matches[1].nbytes + 200  # 200: the key, tuple and array headers


def phrase_frequency(positions: list[np.ndarray], slop: int = 1) -> int:
    """How many times the words occur in order, each at most `slop` positions after the previous
    one (1: side by side), in one document: the number of distinct spans (first, last position)."""
    if not positions or any(len(x) == 0 for x in positions):
        return 0
    if slop <= 1:
        starts = positions[0]
        for i, pos in enumerate(positions[1:], 1):
            starts = starts[np.isin(starts + i, pos)]
            if not len(starts):
                return 0
        return len(starts)
    spans = {(int(p), int(p)) for p in positions[0]}
    for pos in positions[1:]:
        nxt = pos.tolist()
        spans = {(a, b) for a, e in spans for b in nxt if 1 <= b - e <= slop}
        if not spans:
            return 0
    return len(spans)

"""Whole-query BM25 scoring over numpy arrays.

A query (the Whoosh query tree that `query/plan.py` builds) is evaluated into
two dense arrays over the index's documents: which match and their scores.
Terms, AND, OR, AND-MAYBE, NOT and constant scores are done here as vector
operations on decoded posting lists (`engine/whoosh/postings.py`): every term of every
query is scored exactly, so common words need not be dropped for speed,
and the hit count is exact.  Wildcards, prefixes, fuzzy terms and text
ranges are expanded to their index terms and scored like words; phrases are
found from positions by Whoosh's matchers and scored here on the same BM25
scale (Lucene's way: phrase frequency as tf, the sum of the words' idfs);
only date ranges keep Whoosh's constant score.

BM25 uses Lucene's idf, ln(1 + (N - df + 0.5) / (df + 0.5)), which gives a
word found in nearly every document almost no weight; Whoosh's
ln(N / (df + 1)) + 1 gives it at least 1, so question words and particles
outweighed rare content words (bench/README.md has the figures).
"""

from __future__ import annotations

from collections import Counter, OrderedDict

import numpy as np
from whoosh import fields
from whoosh import query as Q

from vnsearch.errors import TooManyTerms
from vnsearch.engine.whoosh.postings import IndexView

TERM_CACHE_POSTINGS = 8_000_000  # scored terms kept per index state (16 bytes a posting: ~128 MB)
_NATIVE_COMPOUND = (Q.And, Q.Or, Q.AndMaybe, Q.AndNot, Q.Not, Q.ConstantScoreQuery, Q.Every, Q.Require)


class Scorer:
    """Evaluates queries on one `IndexView` with BM25 (k1, b from the ranking)."""

    def __init__(self, view: IndexView, k1: float = 1.2, b: float = 0.75, idf_floor: float = 0.0,
                 max_expansions: int = 1_000):
        self.max_expansions = max_expansions
        self.view = view
        self.k1 = k1
        self.b = b
        self.idf_floor = idf_floor
        self.params = (k1, b, idf_floor)
        self.n = view.n
        self.schema = view.searcher.schema
        self._terms: OrderedDict[tuple[str, bytes], tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._terms_size = 0  # postings held in _terms, bounded by TERM_CACHE_POSTINGS
        self._avg: dict[str, float] = {}

    # -- terms --------------------------------------------------------------
    def term_scores(self, field: str, btext: bytes) -> tuple[np.ndarray, np.ndarray]:
        """(document numbers, BM25 scores) of one term in a scorable field."""
        key = (field, btext)
        hit = self._terms.get(key)
        if hit is not None:
            return hit
        ids, tf = self.view.postings(field, btext)
        scores = self._bm25(field, ids, tf, self._idf(len(ids))) if len(ids) else np.zeros(0)
        hit = (ids, scores)
        self._terms[key] = hit
        self._terms_size += len(ids)
        while self._terms_size > TERM_CACHE_POSTINGS and len(self._terms) > 1:
            _, (old, _s) = self._terms.popitem(last=False)
            self._terms_size -= len(old)
        return hit

    def _idf(self, df: int) -> float:
        """Lucene's idf plus the floor: words found in nearly every document weigh little."""
        return float(np.log(1.0 + (self.n - df + 0.5) / (df + 0.5))) + self.idf_floor

    def _bm25(self, field: str, ids: np.ndarray, tf: np.ndarray, idf: float) -> np.ndarray:
        dl = self.view.lengths(field)[ids]
        k1, b = self.k1, self.b
        return idf * tf * (k1 + 1.0) / (tf + k1 * (1.0 - b + b * dl / self._avg_length(field)))

    def _avg_length(self, field: str) -> float:
        avg = self._avg.get(field)
        if avg is None:
            avg = self.view.reader.field_length(field) / max(1, self.n) or 1.0
            self._avg[field] = avg
        return avg

    # -- query trees ----------------------------------------------------------
    def evaluate(self, q: Q.Query) -> tuple[np.ndarray, np.ndarray]:
        """(match mask, scores) of `q` over every document number, deleted ones included."""
        n = self.n
        if q is Q.NullQuery:
            return np.zeros(n, dtype=bool), np.zeros(n)
        if isinstance(q, Q.Term) and type(q) is Q.Term:
            return self._term(q)
        if isinstance(q, _NATIVE_COMPOUND):
            return self._compound(q)
        if isinstance(q, Q.MultiTerm) and q.fieldname in self.schema and self.schema[q.fieldname].scorable:
            return self._expanded(q)
        if isinstance(q, Q.Phrase) and q.fieldname in self.schema and self.schema[q.fieldname].scorable:
            return self._phrase(q)
        return self._whoosh(q)

    def _phrase(self, q: Q.Phrase) -> tuple[np.ndarray, np.ndarray]:
        """A phrase on the BM25 scale of words, as Lucene scores one: its frequency in each document
        (occurrences found from positions by the engine's matcher) as tf, the sum of its words'
        idfs as idf, the field's length normalization."""
        n = self.n
        mask = np.zeros(n, dtype=bool)
        score = np.zeros(n)
        field = self.schema[q.fieldname]
        # Candidates first, as arrays: documents holding every word at least as often as the
        # phrase does; the engine's matcher (Python per document) only visits those.
        cand = self.view.live.copy()
        for word, times in Counter(q.words).items():
            ids, tf = self.view.postings(q.fieldname, field.to_bytes(word))
            has = np.zeros(n, dtype=bool)
            has[ids[tf >= times]] = True
            cand &= has
        targets = np.flatnonzero(cand)
        found, freqs = [], []
        for sub, offset in self.view.searcher.leaf_searchers() if len(targets) else ():
            mine = targets[(targets >= offset) & (targets < offset + sub.doc_count_all())] - offset
            if not len(mine):
                continue
            m = q.matcher(sub, sub.context())
            for d in mine.tolist():
                if m.is_active() and m.id() < d:
                    m.skip_to(d)
                if not m.is_active():
                    break
                if m.id() == d:
                    found.append(d + offset)
                    freqs.append(len(m.spans()) or 1)
        if found:
            idf = sum(self._idf(len(self.view.postings(q.fieldname, field.to_bytes(w))[0])) for w in q.words)
            ids = np.array(found, dtype=np.intp)
            mask[ids] = True
            score[ids] = self._bm25(q.fieldname, ids, np.array(freqs, dtype=np.float64), idf) * q.boost
        return mask, score

    def _expanded(self, q) -> tuple[np.ndarray, np.ndarray]:
        """A wildcard, prefix, range or fuzzy term: the index terms it stands for, scored like one word
        (a document scores its best-matching term: BM25 arrays, the scale of words), at most
        `max_expansions` of them (else a one-line error, not a slow search)."""
        terms = []
        for btext in q._btexts(self.view.reader):
            terms.append(btext)
            if len(terms) > self.max_expansions:
                raise TooManyTerms(
                    f"'{str(q).split(':', 1)[-1]}' stands for more than {self.max_expansions:,} words of the index; make it more specific "
                    f"(the limit is VNSEARCH_MAX_EXPANSIONS)")
        n = self.n
        mask = np.zeros(n, dtype=bool)
        score = np.zeros(n)
        for btext in terms:
            ids, s = self.term_scores(q.fieldname, btext)
            mask[ids] = True
            score[ids] = np.maximum(score[ids], s)
        return mask, score * q.boost

    def _term(self, q: Q.Term) -> tuple[np.ndarray, np.ndarray]:
        n = self.n
        field = self.schema[q.fieldname] if q.fieldname in self.schema else None
        if field is None:
            return np.zeros(n, dtype=bool), np.zeros(n)
        if isinstance(field, (fields.NUMERIC, fields.BOOLEAN)):  # DATETIME is a NUMERIC
            return self._whoosh(q)
        text = q.text
        btext = text if isinstance(text, bytes) else field.to_bytes(text)
        mask = np.zeros(n, dtype=bool)
        score = np.zeros(n)
        if field.scorable:
            ids, s = self.term_scores(q.fieldname, btext)
            score[ids] = s * q.boost
        else:
            ids, _w = self.view.postings(q.fieldname, btext)
            score[ids] = q.boost
        mask[ids] = True
        return mask, score

    def _compound(self, q) -> tuple[np.ndarray, np.ndarray]:
        n = self.n
        if isinstance(q, Q.Every):
            return self.view.live.copy(), np.full(n, float(q.boost))
        if isinstance(q, Q.ConstantScoreQuery):
            mask, _ = self.evaluate(q.child)
            return mask, np.where(mask, q.score, 0.0)
        if isinstance(q, Q.Not):
            mask, _ = self.evaluate(q.query)
            return ~mask, np.zeros(n)
        if isinstance(q, Q.AndNot):
            mask, score = self.evaluate(q.a)
            bmask, _ = self.evaluate(q.b)
            mask &= ~bmask
            return mask, np.where(mask, score, 0.0)
        if isinstance(q, (Q.AndMaybe, Q.Require)):
            mask, score = self.evaluate(q.a)
            bmask, bscore = self.evaluate(q.b)
            if isinstance(q, Q.Require):
                mask &= bmask
            else:
                score += np.where(mask, bscore, 0.0)
            return mask, np.where(mask, score, 0.0)
        subs = [s for s in q.subqueries if s is not Q.NullQuery]
        if not subs:
            return np.zeros(n, dtype=bool), np.zeros(n)
        mask, score = self.evaluate(subs[0])
        for sub in subs[1:]:
            m, s = self.evaluate(sub)
            if isinstance(q, Q.And):
                mask &= m
            else:
                mask |= m
            score += s
        if isinstance(q, Q.And):
            score = np.where(mask, score, 0.0)
        if q.boost != 1.0:
            score *= q.boost
        return mask, score

    def _whoosh(self, q: Q.Query) -> tuple[np.ndarray, np.ndarray]:
        """Matches and scores from Whoosh's own matchers (phrases, wildcards, ranges...)."""
        n = self.n
        mask = np.zeros(n, dtype=bool)
        score = np.zeros(n)
        searcher = self.view.searcher
        for sub, offset in searcher.leaf_searchers():
            m = q.matcher(sub, sub.context())
            ids: list[int] = []
            scores: list[float] = []
            while m.is_active():
                ids.append(m.id())
                try:
                    scores.append(m.score())
                except Exception:  # a matcher that cannot score (e.g. a bare range): a constant
                    scores.append(float(q.boost))
                m.next()
            if ids:
                idx = np.array(ids, dtype=np.int64) + offset
                mask[idx] = True
                score[idx] = scores
        return mask, score

    # -- results --------------------------------------------------------------
    def top(self, mask: np.ndarray, score: np.ndarray, k: int, by_date: bool = False) -> tuple[int, list[tuple[int, float]]]:
        """(number of live matches, the best `k` as (docnum, score)), ties by document number."""
        live = mask & self.view.live
        cand = np.flatnonzero(live)
        total = len(cand)
        if not total or k <= 0:
            return total, []
        s = score[cand]
        if by_date:
            dates = self.view.column("date")[cand]
            order = np.lexsort((cand, -s, -dates))[:k]
        else:
            if total > k:
                kth = np.partition(-s, k - 1)[k - 1]
                keep = -s <= kth
                cand, s = cand[keep], s[keep]
            order = np.lexsort((cand, -s))[:k]
        return total, [(int(cand[i]), float(s[i])) for i in order]

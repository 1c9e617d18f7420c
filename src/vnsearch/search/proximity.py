"""Proximity: syllables side by side in the query score more where they stand side by side in a
document.

A bag of words cannot tell "Công Phượng" from "Công ty ... Phượng", nor the
article whose lead a user typed from one repeating two of its words.  After
BM25 ranks every match, the best few are re-ranked: each pair of syllables
adjacent in the query (inside a word and across words) adds its weight when
it occurs adjacent (one space apart), in order, in the document's text
(accent-insensitive; the match set already enforces accents as typed).  The weight of a pair is the
smaller idf of its two syllables, so rare pairs count and "của và" does not.

The text checked is the stored title and body, folded with offsets kept
(`highlight.fold_aligned`), which the search reads for the best hits anyway:
a posting list's positions would cost a block read per hit for every
syllable.
"""

from __future__ import annotations

import math

from vnsearch.search.highlight import fold_aligned
from vnsearch.text.normalize import fold_word


class Proximity:
    """The adjacent syllable pairs of a query, with their weights."""

    def __init__(self, words: list[str], doc_frequency, n_docs: int, weight: float, idf_floor: float = 0.0):
        syllables = [fold_word(s) for w in words for s in w.split("_") if s]
        self.pairs: list[tuple[str, float]] = []
        seen = set()
        for a, b in zip(syllables, syllables[1:]):
            if (a, b) in seen or a == b:
                continue
            seen.add((a, b))
            idf = min(_idf(doc_frequency(a), n_docs), _idf(doc_frequency(b), n_docs)) + idf_floor
            self.pairs.append((f"{a} {b}", weight * idf))

    def __bool__(self) -> bool:
        return bool(self.pairs)

    def bonus(self, text: str) -> float:
        """The weights of the query's pairs that occur side by side in `text`."""
        folded = fold_aligned(text)
        return sum(w for p, w in self.pairs if _occurs(folded, p))

    def rerank(self, top: list[tuple[int, float]], text_of) -> list[tuple[int, float]]:
        """`top` (docnum, score) re-ordered by score plus bonus; ties keep their order."""
        scored = [(d, s + self.bonus(text_of(d))) for d, s in top]
        return sorted(scored, key=lambda x: -x[1])


def _occurs(text: str, pair: str) -> bool:
    """`pair` ("a b") in `text` as whole syllables (a literal search: a regular expression per
    pair and document was most of a short query's time)."""
    i = text.find(pair)
    while i >= 0:
        j = i + len(pair)
        if (i == 0 or not text[i - 1].isalnum()) and (j == len(text) or not text[j].isalnum()):
            return True
        i = text.find(pair, i + 1)
    return False


def _idf(df: int, n: int) -> float:
    return math.log(1.0 + (n - df + 0.5) / (df + 0.5)) if df else 0.0

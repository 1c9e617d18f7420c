"""Index and query terms of Vietnamese text: one pipeline for documents and queries.

normalize -> pyvi segmentation -> (words | syllables) -> lower case.  `index_terms` gives the
terms as plain lists, which indexing inverts in worker processes; `analyze` gives them with
offsets, for queries and highlighting.  The engine's analyzers wrap these same functions.
"""

from __future__ import annotations

import re
import zlib
from functools import lru_cache
from typing import NamedTuple

import numpy as np

from vnsearch.arrays import distinct
from vnsearch.text.normalize import fold_list, normalize
from vnsearch.text.segment import syllable_spans, syllables, words_from_syllables, words_of

__all__ = ["Analysis", "analyze", "index_terms", "index_streams", "pair_key", "pair_terms", "syllable_terms",
           "syllables_of", "pieces"]

# A token is indexed only if it holds a letter or digit; abbreviations lose their final dot.
_WORDISH = re.compile(r"[^\W_]")
_ABBREV = re.compile(r"^[^\W\d_]+\.$")
# raw token -> index term, "" for punctuation (no term)
_term_cache: dict[str, str] = {}


def _term(tok: str) -> str | None:
    """Index term for a raw token (lower case), or None for punctuation."""
    r = _term_cache.get(tok)
    if r is None:
        if not _WORDISH.search(tok):
            r = ""
        else:
            r = tok.lower()
            if _ABBREV.match(r):
                r = r[:-1]
        if len(_term_cache) < 500_000:
            _term_cache[tok] = r
    return r or None


def _term_list(toks: list[str]) -> list[str]:
    """`_term` over a token list, dropping punctuation: the indexing fast path."""
    ts = list(map(_term_cache.get, toks))
    if None in ts:
        ts = [t if t is not None else (_term(tok) or "") for t, tok in zip(ts, toks)]
    return [t for t in ts if t]


#: texts longer than this are segmented piece by piece (cut after a line break, else a space),
#: so the segmenter's per-token structures never hold more than one piece
PIECE_CHARS = 1_000_000


def pieces(text: str, size: int = PIECE_CHARS) -> list[str]:
    """`text` cut into consecutive pieces of at most `size` characters, at line breaks if it can."""
    out = []
    start = 0
    while len(text) - start > size:
        end = start + size
        cut = text.rfind("\n", start, end) + 1 or text.rfind(" ", start, end) + 1 or end
        out.append(text[start:cut])
        start = cut
    out.append(text[start:])
    return out


def index_terms(text: str) -> tuple[list[str], list[str]]:
    """(word terms, syllable terms) of a normalized text: `analyze` without offsets, for indexing.

    A long text is segmented in pieces (`pieces`): the same terms wherever a piece
    ends at a line break, as one CRF sequence per piece, with memory bounded by a piece.
    """
    if len(text) <= PIECE_CHARS:
        return _piece_terms(text)
    words: list[str] = []
    sylls: list[str] = []
    for piece in pieces(text, PIECE_CHARS):
        w, s = _piece_terms(piece)
        words += w
        sylls += s
    return words, sylls


def _piece_terms(text: str) -> tuple[list[str], list[str]]:
    toks = syllables(text)
    return _term_list(words_of(toks)), _syllable_list(toks)


def index_streams(text: str) -> tuple[list[str], list[str], list[str]]:
    """(word terms, syllable terms, pair terms) of a normalized text: what indexing files."""
    words: list[str] = []
    sylls: list[str] = []
    pairs: list[str] = []
    for piece in pieces(text, PIECE_CHARS) if len(text) > PIECE_CHARS else (text,):
        toks = syllables(piece)
        words += _term_list(words_of(toks))
        syl, breaks = _syllables_and_breaks(toks)
        sylls += syl
        pairs += _pairs(syl, breaks)
    return words, sylls, pairs


def pair_terms(text: str) -> list[str]:
    """The pairs of folded syllables standing side by side in a normalized text (``ha noi``, no
    punctuation between them), each once, as their buckets' terms (`pair_key`)."""
    return index_streams(text)[2]


def _syllables_and_breaks(toks: list[str]) -> tuple[list[str], list[bool]]:
    """Syllable terms, and for each whether punctuation stood right before it."""
    if "_" in "".join(toks):
        toks = [p for t in toks for p in t.split("_") if p]
    terms = list(map(_term_cache.get, toks))
    if None in terms:
        terms = [t if t is not None else (_term(tok) or "") for t, tok in zip(terms, toks)]
    syl = [t for t in terms if t]
    if len(syl) == len(terms):
        return syl, [False] * len(syl)
    # a syllable follows punctuation when the token before it was one (no term)
    after_gap = [False]
    after_gap += [not t for t in terms[:-1]]
    return syl, [gap for gap, t in zip(after_gap, terms) if t]


#: pairs are filed under one of this many buckets (a hash): every term costs a block per chunk of
#: 1,000 documents, so one term per distinct pair doubled the index and halved indexing speed
#: (bench/README.md has the figures for 2**14, 2**15 and 2**16 buckets).  A document holding
#: both syllables apart also holds another pair of the same bucket in about 2% of cases (it has
#: some hundreds of pairs): a filter on top of "both syllables present", not alone
PAIR_BUCKETS = 1 << 15


_KEYS = [format(i, "04x") for i in range(PAIR_BUCKETS)]


@lru_cache(maxsize=500_000)
def _hash(syllable: str) -> int:
    return zlib.crc32(syllable.encode("utf-8"))


def pair_key(a: str, b: str) -> str:
    """The term a pair of folded syllables is filed under."""
    return _KEYS[(_hash(a) * 40503 + _hash(b)) & (PAIR_BUCKETS - 1)]


def _pairs(syl: list[str], breaks: list[bool]) -> list[str]:
    """Each distinct pair of folded syllables side by side, as its bucket's term, once; with
    array operations (a document has hundreds of pairs)."""
    if len(syl) < 2:
        return []
    h = np.fromiter(map(_hash, fold_list(syl)), dtype=np.int64, count=len(syl))
    keys = (h[:-1] * 40503 + h[1:]) & (PAIR_BUCKETS - 1)
    keep = ~np.asarray(breaks[1:], dtype=bool)
    return [_KEYS[k] for k in distinct(keys[keep]).tolist()]


def syllable_terms(text: str) -> list[str]:
    """Syllable terms of a normalized text, without offsets."""
    return _syllable_list(syllables(text))


def _syllable_list(toks: list[str]) -> list[str]:
    if "_" in "".join(toks):
        toks = [p for t in toks for p in t.split("_") if p]
    return _term_list(toks)


class Analysis(NamedTuple):
    """Terms of one normalized text with offsets into it (positions are list indexes)."""

    text: str
    words: list[tuple[str, int, int]]
    syllables: list[tuple[str, int, int]]


def analyze(text: str, *, normalized: bool = False) -> Analysis:
    """Normalize `text` once and read both its word and its syllable terms."""
    if not normalized:
        text = normalize(text)
    spans = syllable_spans(text)
    return Analysis(text, _terms(*words_from_syllables(*spans)), _syllable_terms(*spans))


def _terms(toks, starts, ends) -> list[tuple[str, int, int]]:
    out = []
    for tok, s, e in zip(toks, starts, ends):
        t = _term(tok)
        if t is not None:
            if tok[-1] == "." and t[-1] != ".":
                e -= 1
            out.append((t, s, e))
    return out


def _syllable_terms(toks, starts, ends) -> list[tuple[str, int, int]]:
    """Syllable terms; ``_`` (pre-segmented text) separates syllables too."""
    if not any("_" in t for t in toks):
        return _terms(toks, starts, ends)
    out = []
    for tok, s, e in zip(toks, starts, ends):
        if "_" in tok:
            off = s
            for part in tok.split("_"):
                t = _term(part) if part else None
                if t is not None:
                    out.append((t, off, off + len(part)))
                off += len(part) + 1
        else:
            out.extend(_terms([tok], [s], [e]))
    return out


def syllables_of(text: str) -> list[tuple[str, int, int]]:
    """Syllable terms of a normalized text."""
    return _syllable_terms(*syllable_spans(text))

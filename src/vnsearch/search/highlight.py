"""Highlighted fragments as structured spans (no terminal markup).

Matches are found on syllables of the stored, normalized text, so word,
syllable and accent-folded matches all light up, NFD input included (it
was normalized before it was stored).  The whole document is searched: no
32K limit.  Rather than segmenting each hit's body (0.6 ms an article, most
of a search's time), one regular expression of the query's folded
syllables runs over a folded copy of the text whose characters line up
with the original's, and each candidate is then checked exactly.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field

import numpy as np

from vnsearch.query import plan as P
from vnsearch.text.normalize import fold, fold_word


@dataclass
class Fragment:
    """A piece of a document: `text` is ``body[start:end]``; `highlights` are (start, end) within `text`."""

    text: str
    start: int
    end: int
    highlights: list[tuple[int, int]] = field(default_factory=list)


@dataclass
class MatchTerms:
    """What to light up: exact syllables, folded syllables, and multi-syllable sequences."""

    syllables: set[str] = field(default_factory=set)
    folded: set[str] = field(default_factory=set)
    sequences: set[tuple[str, ...]] = field(default_factory=set)
    _patterns: tuple | None = field(default=None, init=False, repr=False, compare=False)

    @classmethod
    def from_plan(cls, plan, expansions: dict | None = None, max_expanded: int = 200) -> "MatchTerms":
        """What a plan matches on (not what it excludes); `expansions`: the index terms each
        pattern stood for (`Scorer.expansions`), so wildcard and fuzzy matches light up too."""
        m = cls()
        for leaf in P.positive_leaves(plan):
            if isinstance(leaf, P.Term):
                m.add(leaf.field, leaf.text)
            elif isinstance(leaf, P.Phrase):
                for w in leaf.words:
                    m.add(leaf.field, w)
            elif isinstance(leaf, P.Expand):
                for t in (expansions or {}).get(leaf, [])[:max_expanded]:
                    m.add(leaf.field, t)
        return m

    def add(self, fieldname: str, t: str) -> None:
        if fieldname == "words":
            parts = tuple(p for p in t.split("_") if p)
            if len(parts) > 1:
                self.sequences.add(parts)
            elif parts:
                self.syllables.add(parts[0])
        elif fieldname in ("syllables", "title"):
            self.syllables.add(t)
        elif fieldname in ("folded", "title_folded"):
            self.folded.add(t)

    def __bool__(self) -> bool:
        return bool(self.syllables or self.folded or self.sequences)

    def patterns(self) -> tuple[re.Pattern | None, re.Pattern | None]:
        """(any syllable whose fold is a target, on folded text; any sequence, on lower-cased text)."""
        if self._patterns is None:
            targets = {fold_word(s) for s in self.syllables} | set(self.folded)
            # a sequence whose every syllable lights up on its own adds nothing (side by side,
            # the syllables' spans merge into the sequence's): most do, the plan scores syllables too
            seqs = [q for q in self.sequences if q and not all(s in self.syllables or fold_word(s) in self.folded
                                                                 for s in q)]
            words = sorted(t for t in targets if t)
            self._patterns = (_alternation(targets, escape=True),
                              _alternation(r"\s+".join(map(re.escape, q)) for q in seqs),
                              words if all(_WORD.fullmatch(t) for t in words) else None)
        return self._patterns[:2]

    def words(self) -> list[str] | None:
        """The folded targets, when each is one run of word characters (else None: the pattern is used)."""
        self.patterns()
        return self._patterns[2]


_WORD = re.compile(r"\w+")


def _alternation(items, escape: bool = False) -> re.Pattern | None:
    items = sorted({i for i in items if i}, key=len, reverse=True)
    if not items:
        return None
    alts = "|".join(items if not escape else map(re.escape, items))
    return re.compile(rf"(?<!\w)(?:{alts})(?!\w)")


_FOLD_LIMIT = 0x2000  # every letter fold() changes lies below this
_fold_lut: np.ndarray | None = None
_words_lut: np.ndarray | None = None


def _fold_table() -> np.ndarray:
    global _fold_lut
    if _fold_lut is None:
        lut = np.arange(_FOLD_LIMIT, dtype=np.uint32)
        for cp in range(0x41, _FOLD_LIMIT):
            f = fold(chr(cp))
            if len(f) == 1:
                lut[cp] = ord(f)
        _fold_lut = lut
    return _fold_lut


def _words_table() -> np.ndarray:
    """Every code point of the BMP -> its fold (as `fold_aligned`), or a space where the fold is not
    a word character (what `\\w` does not match)."""
    global _words_lut
    if _words_lut is None:
        lut = np.arange(0x10000, dtype=np.uint32)
        lut[:_FOLD_LIMIT] = _fold_table()
        word = np.fromiter(((c := chr(cp)).isalnum() or c == "_" for cp in lut.tolist()), dtype=bool, count=len(lut))
        lut[~word] = 0x20
        _words_lut = lut
    return _words_lut


def _code_points(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


def fold_aligned(text: str) -> str:
    """`fold` character by character, so the result has the same length and offsets as `text`.

    A lookup table over the code points (str.translate with a dict took
    ~190 µs on a 2,500-character article, most of highlighting a hit).
    """
    lut = _fold_table()
    cps = _code_points(text)
    out = np.where(cps < _FOLD_LIMIT, lut[np.minimum(cps, _FOLD_LIMIT - 1)], cps)
    return out.tobytes().decode("utf-32-le", "surrogatepass")


def _folded_words(text: str) -> str | None:
    """`fold_aligned` with every character that is not a word character made a space, so a word
    is found whole by searching for it between spaces; None past the BMP (the pattern is used)."""
    cps = _code_points(text)
    if len(cps) and int(cps.max()) >= 0x10000:
        return None
    return _words_table()[cps].tobytes().decode("utf-32-le")


def _word_spans(text: str, lower: str, words: list[str], syllables: set[str], folded: set[str]):
    """Spans of the whole words of `text` whose fold is one of `words` (each a run of word
    characters) and which match as `MatchTerms` says: the same spans as the pattern's, found with
    `str.find` (the pattern's alternation costs a regex step at every character)."""
    found = []
    plain = _folded_words(text)
    if plain is None:
        return None
    padded = f" {plain} "
    for t in words:
        key, size = f" {t} ", len(t)
        exact = t in folded
        i = padded.find(key)
        while i >= 0:  # padded[i] is the space before the word, which starts at text[i]
            if exact or lower[i : i + size] in syllables:
                found.append((i, i + size))
            i = padded.find(key, i + size + 1)
    return found


def match_spans(text: str, terms: MatchTerms) -> list[tuple[int, int]]:
    """Character spans of matches in `text`; adjacent matched syllables merge into one span."""
    if not terms or not text:
        return []
    single, seqs = terms.patterns()
    lower = text.lower()
    if len(lower) != len(text):  # a character whose lower case is longer (İ): compare per character
        lower = "".join(c.lower()[:1] or c for c in text)
    found: list[tuple[int, int]] | None = None
    syl, fol = terms.syllables, terms.folded
    words = terms.words()
    if single is not None and words is not None:
        found = _word_spans(text, lower, words, syl, fol)
    if found is None:
        found = []
        if single is not None:
            for m in single.finditer(fold_aligned(text)):
                s, e = m.span()
                if m.group() in fol or lower[s:e] in syl:
                    found.append((s, e))
    if seqs is not None:
        found.extend(m.span() for m in seqs.finditer(lower))
    found.sort()
    spans: list[tuple[int, int]] = []
    for s, e in found:
        if spans and (s <= spans[-1][1] or not text[spans[-1][1] : s].strip()):
            spans[-1] = (spans[-1][0], max(e, spans[-1][1]))
        else:
            spans.append((s, e))
    return spans


#: a long text is searched for matches piece by piece, and the fragments are chosen among the
#: first matches found: a hit's snippet costs the same in a 20 MB document as in an article
SCAN_PIECE = 200_000
MAX_CANDIDATES = 1_000


def _first_spans(text: str, terms: MatchTerms) -> list[tuple[int, int]]:
    """Match spans from the first piece of `text` that has any (at most `MAX_CANDIDATES`)."""
    if len(text) <= SCAN_PIECE:
        return match_spans(text, terms)[:MAX_CANDIDATES]
    start = 0
    while start < len(text):
        end = min(len(text), start + SCAN_PIECE)
        if end < len(text):  # cut at white space, so no word is split between pieces
            cut = max(text.rfind(" ", start, end), text.rfind("\n", start, end))
            end = cut + 1 if cut > start else end
        spans = match_spans(text[start:end], terms)
        if spans:
            return [(a + start, b + start) for a, b in spans[:MAX_CANDIDATES]]
        start = end
    return []


def fragments(text: str, terms: MatchTerms, max_fragments: int = 3, width: int = 200) -> list[Fragment]:
    """The best `max_fragments` windows of about `width` characters around matches, in text order."""
    spans = _first_spans(text, terms)
    if not spans:
        if not text:
            return []
        end = _snap_end(text, min(len(text), width))
        return [Fragment(text[:end], 0, end, [])]
    # Score a window starting at each span by how many distinct words it lights up.
    candidates = []
    ends = [b for _, b in spans]  # spans are sorted and disjoint: so are their ends
    keys = [text[a:b].lower() for a, b in spans]
    size = len(text)
    for i, (s, _) in enumerate(spans):
        start = _snap_start(text, max(0, s - width // 4))
        end = _snap_end(text, min(size, start + width))
        j = bisect_right(ends, end, i)
        # i breaks ties as the spans inside would: the window starting at the later span first
        candidates.append((len(set(keys[i:j])), j - i, -start, start, end, i, j))
    candidates.sort(reverse=True)
    chosen: list[tuple[int, int, list]] = []
    for _, _, _, start, end, i, j in candidates:
        if all(end <= cs or start >= ce for cs, ce, _ in chosen):
            chosen.append((start, end, spans[i:j]))
        if len(chosen) >= max_fragments:
            break
    chosen.sort()
    return [Fragment(text[s:e], s, e, [(a - s, b - s) for a, b in inside]) for s, e, inside in chosen]


def _snap_start(text: str, i: int) -> int:
    if i <= 0:
        return 0
    p = text.rfind(" ", max(0, i - 20), i)
    return p + 1 if p >= 0 else i


def _snap_end(text: str, i: int) -> int:
    if i >= len(text):
        return len(text)
    p = text.find(" ", i, i + 20)
    return p if p >= 0 else i


def whole(text: str, terms: MatchTerms) -> Fragment:
    """All of a short text (a title) with its matches."""
    return Fragment(text, 0, len(text), match_spans(text, terms))

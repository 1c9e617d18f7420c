"""Highlighted fragments as structured spans (no terminal markup).

Matches are found on syllables of the stored, normalized text, so word,
syllable and accent-folded matches all light up, NFD input included (it
was normalized before it was stored).  The whole document is scanned, in
windows, stopping early once there is enough to show: no 32K limit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .normalize import fold_word
from .segment import syllable_spans

_WINDOW = 65536


@dataclass
class Fragment:
    """A piece of a document: `text` is ``body[start:end]``; `highlights` are (start, end) within `text`."""

    text: str
    start: int
    end: int
    highlights: list[tuple[int, int]] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"text": self.text, "start": self.start, "end": self.end,
                "highlights": [list(h) for h in self.highlights]}


@dataclass
class MatchTerms:
    """What to light up: exact syllables, folded syllables, and multi-syllable sequences."""

    syllables: set[str] = field(default_factory=set)
    folded: set[str] = field(default_factory=set)
    sequences: set[tuple[str, ...]] = field(default_factory=set)

    @classmethod
    def from_query(cls, q) -> "MatchTerms":
        m = cls()
        for fieldname, text in q.iter_all_terms(phrases=True):
            t = text.decode("utf-8") if isinstance(text, bytes) else str(text)
            if fieldname in ("words",):
                parts = tuple(p for p in t.split("_") if p)
                if len(parts) > 1:
                    m.sequences.add(parts)
                elif parts:
                    m.syllables.add(parts[0])
            elif fieldname in ("syllables", "title"):
                m.syllables.add(t)
            elif fieldname in ("folded", "title_folded"):
                m.folded.add(t)
        return m

    def __bool__(self) -> bool:
        return bool(self.syllables or self.folded or self.sequences)


def match_spans(text: str, terms: MatchTerms, enough: int | None = None) -> list[tuple[int, int]]:
    """Character spans of matches in `text`; adjacent matched syllables merge into one span."""
    spans: list[tuple[int, int]] = []
    if not terms:
        return spans
    firsts: dict[str, list[tuple[str, ...]]] = {}
    for seq in terms.sequences:
        firsts.setdefault(seq[0], []).append(seq)
    syl, fol = terms.syllables, terms.folded
    base = 0
    n = len(text)
    while base < n:
        end = n if n - base <= _WINDOW else _cut(text, base + _WINDOW)
        toks, starts, ends = syllable_spans(text[base:end])
        low = text[base:end].lower()
        low = [low[a:b] for a, b in zip(starts, ends)] if len(low) == end - base else [t.lower() for t in toks]
        # decide each distinct token once; the token stream is only looked up in the result
        lit = {t for t in set(low) if t in syl or (fol and fold_word(t) in fol)}
        hit = [t in lit for t in low]
        if firsts:
            for i in [i for i, t in enumerate(low) if t in firsts]:
                for seq in firsts[low[i]]:
                    k = len(seq)
                    if tuple(low[i : i + k]) == seq:
                        hit[i : i + k] = [True] * k
        for i in [i for i, h in enumerate(hit) if h]:
            s, e = base + starts[i], base + ends[i]
            if spans and not text[spans[-1][1] : s].strip():
                spans[-1] = (spans[-1][0], e)
            else:
                spans.append((s, e))
        base = end
        if enough is not None and len(spans) >= enough:
            break
    return spans


def _cut(text: str, at: int) -> int:
    """A window boundary at white space near `at`, so no syllable is split."""
    sp = text.rfind(" ", at - 2000, at)
    nl = text.rfind("\n", at - 2000, at)
    p = max(sp, nl)
    return p + 1 if p > 0 else at


def fragments(text: str, terms: MatchTerms, max_fragments: int = 3, width: int = 200) -> list[Fragment]:
    """The best `max_fragments` windows of about `width` characters around matches, in text order."""
    spans = match_spans(text, terms, enough=max_fragments * 8)
    if not spans:
        if not text:
            return []
        end = _snap_end(text, min(len(text), width))
        return [Fragment(text[:end], 0, end, [])]
    # Score a window starting at each span by how many distinct words it lights up.
    candidates = []
    for i, (s, _) in enumerate(spans):
        start = _snap_start(text, max(0, s - width // 4))
        end = _snap_end(text, min(len(text), start + width))
        inside = [(a, b) for a, b in spans[i:] if a >= start and b <= end]
        distinct = len({text[a:b].lower() for a, b in inside})
        candidates.append((distinct, len(inside), -start, start, end, inside))
    candidates.sort(reverse=True)
    chosen: list[tuple[int, int, list]] = []
    for _, _, _, start, end, inside in candidates:
        if all(end <= cs or start >= ce for cs, ce, _ in chosen):
            chosen.append((start, end, inside))
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

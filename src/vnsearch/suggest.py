""""Did you mean": accent restoration and typo correction from the index's own vocabulary.

Accent restoration maps folded words back to the accented word most
documents use (``ha noi`` -> ``hà nội``): multi-syllable words of the
``words`` field first (longest match), so context picks ``nội`` over
``nói``; single syllables from the ``syllables`` field otherwise.
Typos are corrected against the folded vocabulary within edit distance 2,
preferring the most frequent candidate.
"""

from __future__ import annotations

from .analysis import analyze
from .normalize import fold_word, has_diacritics

_MAX_WORD = 4


class Vocabulary:
    """Folded form -> (most frequent accented form, its document frequency), built once per reader."""

    def __init__(self, reader):
        self.reader = reader
        self.words: dict[tuple[str, ...], tuple[str, int]] = {}
        self.syllables: dict[str, tuple[str, int]] = {}
        for field, target in (("words", None), ("syllables", self.syllables)):
            if field not in reader.schema.names():
                continue
            for btext, info in reader.iter_field(field):
                t = btext.decode("utf-8")
                df = info.doc_frequency()
                if target is None:
                    parts = t.split("_")
                    if len(parts) < 2 or len(parts) > _MAX_WORD:
                        continue
                    key = tuple(fold_word(p) for p in parts)
                    store = self.words
                else:
                    key = fold_word(t)
                    store = target
                best = store.get(key)
                if best is None or df > best[1]:
                    store[key] = (t.replace("_", " "), df)

    def restore(self, syllables: list[str]) -> list[str]:
        """Accented forms of folded syllables, longest known words first."""
        out = []
        i = 0
        n = len(syllables)
        while i < n:
            for k in range(min(_MAX_WORD, n - i), 1, -1):
                hit = self.words.get(tuple(syllables[i : i + k]))
                if hit:
                    out.append(hit[0])
                    i += k
                    break
            else:
                hit = self.syllables.get(syllables[i])
                out.append(hit[0] if hit else syllables[i])
                i += 1
        return out


def correct(reader, syllable: str) -> str | None:
    """The most frequent folded term within edit distance 1, then 2, of an unknown syllable."""
    if len(syllable) < 3 or reader.doc_frequency("folded", syllable):
        return None
    for dist in (1, 2):
        best = None
        for cand in reader.terms_within("folded", syllable, dist, prefix=1):
            df = reader.doc_frequency("folded", cand)
            if best is None or df > best[1]:
                best = (cand, df)
        if best:
            return best[0]
    return None


def suggest(query: str, reader, vocabulary: Vocabulary) -> str | None:
    """A better query for `query`, or None; only plain free-text queries are rewritten."""
    if any(c in query for c in ':"()[]{}*?^~') or any(op in query.split() for op in ("AND", "OR", "NOT", "ANDNOT")):
        return None
    syllables = [t for t, _, _ in analyze(query).syllables]
    if not syllables:
        return None
    folded = [fold_word(s) for s in syllables]
    changed = False
    fixed = []
    for s, f in zip(syllables, folded):
        c = correct(reader, f)
        if c:
            changed = True
            fixed.append(c)
        else:
            fixed.append(f)
    if has_diacritics(query) and not changed:
        return None
    restored = " ".join(vocabulary.restore(fixed))
    return restored if restored != query.strip().lower() else None

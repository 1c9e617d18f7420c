"""""Did you mean": accent restoration and typo correction from the index's own vocabulary.

Accent restoration maps folded syllables back to the accented words the
index's documents use (``ha noi`` -> ``hà nội``).  The ``words`` field is a
word unigram model: each word's document frequency, one- to four-syllable
words alike.  Restoration picks the segmentation of the folded syllables
into known words with the highest product of word probabilities (dynamic
programming, so ``len mat trang`` is ``lên mặt trăng``, not the greedy
``lên mặt`` + ``trang``), each word in its most frequent accented form.
Typos are corrected against the folded vocabulary within edit distance 2,
preferring the most frequent candidate.
"""

from __future__ import annotations

import math

from vnsearch.limits import Limits
from vnsearch.text.normalize import fold_word, has_diacritics

_MAX_WORD = 4


class Vocabulary:
    """The index's words as a unigram model, built once per index state: folded word -> (most
    frequent accented form, log probability), and accented word -> log probability."""

    def __init__(self, snapshot):
        self.forms: dict[tuple[str, ...], tuple[str, float]] = {}
        self.words: dict[tuple[str, ...], float] = {}
        counts: dict[tuple[str, ...], tuple[str, int]] = {}
        exact: dict[tuple[str, ...], int] = {}
        total = 0
        for t, df in snapshot.term_frequencies("words").items():
            parts = t.split("_")
            if len(parts) > _MAX_WORD or not all(parts):
                continue
            total += df
            exact[tuple(parts)] = df
            key = tuple(fold_word(p) for p in parts)
            best = counts.get(key)
            if best is None or df > best[1]:
                counts[key] = (t.replace("_", " "), df)
        self.unknown = math.log(0.1 / max(1, total))  # a syllable the index never saw, kept as typed
        for key, (form, df) in counts.items():
            self.forms[key] = (form, math.log(df / total))
        for key, df in exact.items():
            self.words[key] = math.log(df / total)

    def restore(self, syllables: list[str]) -> list[str]:
        """Accented words for folded syllables: the most probable segmentation into known words."""
        return self._best_split(syllables, self.forms.get)

    def segment(self, syllables: list[str]) -> list[str]:
        """Lower-case accented syllables split into the index's own words (``_``-joined), the most
        probable way: the same words whatever the case the query was typed in (pyvi's CRF reads
        case, so ``nguyễn xuân phúc`` and ``Nguyễn Xuân Phúc`` came out as different words)."""
        words = self.words

        def lookup(key: tuple[str, ...]):
            p = words.get(key)
            return None if p is None else ("_".join(key), p)

        return self._best_split(syllables, lookup)

    def _best_split(self, syllables: list[str], lookup) -> list[str]:
        """Dynamic programming over the splits into known words of up to four syllables; an
        unknown syllable stands alone."""
        n = len(syllables)
        best: list[tuple[float, int, str]] = [(0.0, 0, "")] + [(-math.inf, 0, "")] * n
        for i in range(1, n + 1):
            for k in range(1, min(_MAX_WORD, i) + 1):
                prev = best[i - k][0]
                if prev == -math.inf:
                    continue
                hit = lookup(tuple(syllables[i - k : i]))
                if hit is None:
                    if k > 1:
                        continue
                    hit = (syllables[i - 1], self.unknown)
                score = prev + hit[1]
                if score > best[i][0]:
                    best[i] = (score, k, hit[0])
        out = []
        i = n
        while i > 0:
            _, k, form = best[i]
            out.append(form)
            i -= k
        return out[::-1]


def nearest(snapshot, syllable: str) -> str | None:
    """The most frequent folded term that `syllable` is with two letters swapped (``nya`` ->
    ``nay``), else within edit distance 1, then 2."""
    swaps = {syllable[:i] + syllable[i + 1] + syllable[i] + syllable[i + 2 :] for i in range(len(syllable) - 1)}
    swaps.discard(syllable)
    # a swap is the likeliest slip of all: tried first, then edit distance 1, then 2
    for near in (swaps, lambda: snapshot.terms_within("folded", syllable, 1, prefix=1),
                 lambda: snapshot.terms_within("folded", syllable, 2, prefix=1)):
        best = None
        for cand in sorted(set(near() if callable(near) else near)):
            df = snapshot.doc_frequency("folded", cand)
            if df and (best is None or df > best[1]):
                best = (cand, df)
        if best:
            return best[0]
    return None


def suggest(parsed, snapshot, vocabulary: Vocabulary, limits: Limits = Limits()) -> str | None:
    """A better query for a parsed query, or None; only plain free-text queries are rewritten.

    At most `limits.suggest_words` unknown syllables are corrected, none longer than
    `limits.suggest_word_chars` (edit-distance search over the vocabulary is the cost).
    """
    if not parsed.plain:
        return None
    query = parsed.text
    syllables = [t for t, _, _ in parsed.syllables]
    if not syllables:
        return None
    folded = [fold_word(s) for s in syllables]
    changed = False
    fixed = []
    budget = limits.suggest_words
    for s, f in zip(syllables, folded):
        c = None
        if budget > 0 and 3 <= len(f) <= limits.suggest_word_chars and not snapshot.doc_frequency("folded", f):
            budget -= 1
            c = nearest(snapshot, f)
        if c:
            changed = True
            fixed.append(c)
        else:
            fixed.append(f)
    if has_diacritics(query) and not changed:
        return None
    restored = " ".join(vocabulary.restore(fixed))
    return restored if restored != query.strip().lower() else None

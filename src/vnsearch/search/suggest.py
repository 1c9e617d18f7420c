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

from vnsearch.limits import Limits
from vnsearch.search.vocabulary import Vocabulary
from vnsearch.text.normalize import fold_word, has_diacritics


def nearest(snapshot, syllable: str, vocabulary: Vocabulary) -> str | None:
    """The most frequent folded term that `syllable` is with two letters swapped (``nya`` ->
    ``nay``), else within edit distance 1, then 2 (the same first letter)."""
    swaps = {syllable[:i] + syllable[i + 1] + syllable[i] + syllable[i + 2 :] for i in range(len(syllable) - 1)}
    swaps.discard(syllable)
    # a swap is the likeliest slip of all: tried first, then edit distance 1, then 2
    for near in (lambda: [(c, snapshot.doc_frequency("folded", c)) for c in swaps],
                 lambda: vocabulary.near(syllable, 1, prefix=1), lambda: vocabulary.near(syllable, 2, prefix=1)):
        best = None
        for cand, df in sorted(near()):
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
            c = nearest(snapshot, f, vocabulary)
        if c:
            changed = True
            fixed.append(c)
        else:
            fixed.append(f)
    if has_diacritics(query) and not changed:
        return None
    restored = " ".join(vocabulary.restore(fixed))
    return restored if restored != query.strip().lower() else None

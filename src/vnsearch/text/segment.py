"""Vietnamese word segmentation, identical to pyvi's, with character offsets.

pyvi (``ViTokenizer.tokenize``) splits text into syllables with a regular
expression, labels each syllable B_W (begins a word) or I_W (inside a word)
with a CRF, and joins I_W syllables to the previous one with ``_``.  It is
slow mostly because it builds a feature dictionary per syllable and hands it
to CRFsuite.  This module reads the same CRF weights (`crfmodel`), scores each
distinct syllable once, and runs the two-label Viterbi in plain Python, which
gives the same labels several times faster, plus the character offsets that
pyvi does not report.

**Unit of segmentation.**  pyvi treats a whole string as one CRF sequence,
with newlines as tokens.  `segment(text)` does the same on exactly the
string it is given, so ``render(segment(t), t) == ViTokenizer.tokenize(t)``
for any NFC string ``t``.  vnsearch segments each field value (title, body)
as one unit, after `normalize`.
"""

from __future__ import annotations

import re
import string
from typing import NamedTuple

from vnsearch.text.crfmodel import load_pyvi_model

__all__ = ["Token", "syllable_spans", "word_spans", "words_from_syllables", "segment", "tokenize", "render"]


class Token(NamedTuple):
    """A word: `text` is pyvi's form (syllables joined by ``_``); text[start:end] of the source is its surface."""

    text: str
    start: int
    end: int
    pos: int


# pyvi's syllable pattern (ViTokenizer.sylabelize), with its groups made non-capturing.
_SYLLABLE = re.compile(
    "("
    + "|".join(
        [
            r"[A-ZĐ]+\.", r"Tp\.", r"Mr\.", r"Mrs\.", r"Ms\.", r"Dr\.", r"ThS\.",  # abbreviations
            r"==>", r"->", r"\.\.\.", r">>", "\n",  # specials
            # web and email, bounded (scheme, local part, labels): pyvi's unbounded forms rescan
            # the rest of a long run like "a-a-a-..." from every position, quadratic in its length
            r"\w{1,32}://[^\s]+",  # web
            r"(?:[a-zA-Z0-9_.+-]{1,64}@(?:[a-zA-Z0-9-]{1,63}\.){1,8}[a-zA-Z0-9-]{1,63})",  # email
            r"\d+(?:[\.,_]\d+)+",  # numbers with separators
            r"[^\w\s]",  # one punctuation character
            r"\w+",  # word
        ]
    )
    + ")"
)




class _Model:
    """Per-process scoring tables, built on first use (Whoosh pickles analyzers: keep them light)."""

    def __init__(self):
        weights, self.bigrams, self.trigrams = load_pyvi_model()
        self.tri_first = frozenset(t.split(" ")[0] for t in self.trigrams)
        st = weights.state
        zero = (0.0, 0.0)
        self.w = lambda name: st.get(name.split("\x00", 1)[0], zero)
        (self.tBB, self.tBI), (self.tIB, self.tII) = weights.transition
        if weights.labels != ("B_W", "I_W"):
            raise RuntimeError(f"unexpected pyvi labels {weights.labels}")
        w = self.w
        self.bg_prev = w("-1:word.bi_gram()")
        self.bg_next = w("+1:word.bi_gram()")
        self.tg_prev = w("-2:word.tri_gram()")
        self.tg_next = w("+2:word.tri_gram()")
        self.cache: dict[str, tuple] = {}

    def record(self, tok: str) -> tuple:
        """Everything the CRF needs about one syllable, whatever its neighbours."""
        w = self.w
        low = tok.lower()
        up, title, digit = tok.isupper(), tok.istitle(), tok.isdigit()
        cur = [0.0, 0.0]
        for name, on in (("bias", True), ("word.lower():" + low, True), ("word.isupper()", up),
                         ("word.istitle()", title), ("word.isdigit()", digit)):
            if on:
                v = w(name)
                cur[0] += v[0]
                cur[1] += v[1]
        prev = [0.0, 0.0]  # contribution when this syllable is the previous one
        nxt = [0.0, 0.0]  # contribution when this syllable is the next one
        for acc, side in ((prev, "-1:"), (nxt, "+1:")):
            for name, on in ((side + "word.lower():" + low, True), (side + "word.istitle()", title),
                             (side + "word.isupper()", up)):
                if on:
                    v = w(name)
                    acc[0] += v[0]
                    acc[1] += v[1]
        c0 = tok[0]
        joinable = tok not in string.punctuation and not c0.isdigit()
        return (low, cur[0], cur[1], prev[0], prev[1], nxt[0], nxt[1], joinable, c0.istitle())

    def records(self, toks: list[str]) -> list[tuple]:
        cache = self.cache
        get = cache.get
        recs = [get(t) for t in toks]
        if None in recs:
            for i, r in enumerate(recs):
                if r is None:
                    r = recs[i] = self.record(toks[i])
                    if len(cache) < 300_000:
                        cache[toks[i]] = r
        return recs

    def labels(self, recs: list[tuple]) -> list[bool]:
        """True where the CRF labels a syllable I_W, by Viterbi as CRFsuite does."""
        n = len(recs)
        lows = [r[0] for r in recs]
        bi, tri, tri_first = self.bigrams, self.trigrams, self.tri_first
        bg = [False] + [a + " " + b in bi for a, b in zip(lows, lows[1:])]
        tg = [False, False] + [
            a in tri_first and a + " " + b + " " + c in tri for a, b, c in zip(lows, lows[1:], lows[2:])
        ]
        bpB, bpI = self.bg_prev
        bnB, bnI = self.bg_next
        tpB, tpI = self.tg_prev
        tnB, tnI = self.tg_next
        z = (None, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
        prevs = [z] + recs[:-1]
        nexts = recs[1:] + [z]
        bgn = bg[1:] + [False]
        tgn = tg[2:] + [False, False]
        # Per-syllable state scores, summed in CRFsuite's attribute order (left context, then right).
        sB = [
            r[1] + p[3] + (bpB if g else 0.0) + (tpB if h else 0.0) + q[5] + (bnB if gn else 0.0) + (tnB if hn else 0.0)
            for r, p, q, g, h, gn, hn in zip(recs, prevs, nexts, bg, tg, bgn, tgn)
        ]
        sI = [
            r[2] + p[4] + (bpI if g else 0.0) + (tpI if h else 0.0) + q[6] + (bnI if gn else 0.0) + (tnI if hn else 0.0)
            for r, p, q, g, h, gn, hn in zip(recs, prevs, nexts, bg, tg, bgn, tgn)
        ]
        # Viterbi over two labels; ties go to the lower label index, as in CRFsuite.
        tBB, tBI, tIB, tII = self.tBB, self.tBI, self.tIB, self.tII
        dB, dI = sB[0], sI[0]
        backB = [False] * n  # at t, the best path to B came from I
        backI = [False] * n
        for t in range(1, n):
            x, y = dB + tBB, dI + tIB
            if x < y:
                x = y
                backB[t] = True
            u, v = dB + tBI, dI + tII
            if u < v:
                u = v
                backI[t] = True
            dB = x + sB[t]
            dI = u + sI[t]
        out = [False] * n
        cur = dB < dI
        for t in range(n - 1, -1, -1):
            out[t] = cur
            cur = backI[t] if cur else backB[t]
        return out


_model: _Model | None = None


def _get_model() -> _Model:
    global _model
    if _model is None:
        _model = _Model()
    return _model


def _join_flags(toks: list[str]) -> list[bool]:
    """True where syllable i joins syllable i-1 into one word (pyvi's labels plus its own rules)."""
    if not toks:
        return []
    m = _get_model()
    recs = m.records(toks)
    inside = m.labels(recs)
    # pyvi joins I_W only between non-punctuation, non-digit-initial syllables,
    # and never when a capitalised syllable follows a lower-case one.
    out = [
        ins and r[7] and p[7] and not (r[8] and not p[8])
        for ins, r, p in zip(inside[1:], recs[1:], recs)
    ]
    out.insert(0, False)
    return out


#: the longest token kept whole (Lucene's default maximum too); longer runs are cut into pieces
MAX_TOKEN = 255


def syllable_spans(text: str) -> tuple[list[str], list[int], list[int]]:
    """pyvi's syllables of `text` as parallel lists (token, start, end).

    A token longer than `MAX_TOKEN` characters (no word is: a run of letters, a long
    URL) is cut into pieces of that length, which pyvi would keep whole.
    """
    sylls = _SYLLABLE.findall(text)
    starts = []
    ends = []
    find = text.find
    pos = 0
    # Only whitespace separates pyvi's tokens, so each one is the next match of its text.
    for tok in sylls:
        pos = find(tok, pos)
        starts.append(pos)
        pos += len(tok)
        ends.append(pos)
    if sylls and max(map(len, sylls)) > MAX_TOKEN:
        return _cut_long(sylls, starts, ends)
    return sylls, starts, ends


def _cut_long(sylls: list[str], starts: list[int], ends: list[int]) -> tuple[list[str], list[int], list[int]]:
    out_t, out_s, out_e = [], [], []
    for tok, s, e in zip(sylls, starts, ends):
        if len(tok) <= MAX_TOKEN:
            out_t.append(tok), out_s.append(s), out_e.append(e)
            continue
        for k in range(0, len(tok), MAX_TOKEN):
            piece = tok[k : k + MAX_TOKEN]
            out_t.append(piece), out_s.append(s + k), out_e.append(s + k + len(piece))
    return out_t, out_s, out_e


def words_from_syllables(sylls: list[str], starts: list[int], ends: list[int]) -> tuple[list[str], list[int], list[int]]:
    """Join syllables into pyvi's words: parallel lists (``_``-joined word, start, end)."""
    if not sylls:
        return [], [], []
    joins = _join_flags(sylls)
    parts = []
    for tok, join in zip(sylls, joins):
        parts.append("_" if join else " ")
        parts.append(tok)
    words = "".join(parts)[1:].split(" ")
    wstarts = [s for s, j in zip(starts, joins) if not j]
    nxt = joins[1:]
    nxt.append(False)
    wends = [e for e, j in zip(ends, nxt) if not j]
    return words, wstarts, wends


def word_spans(text: str) -> tuple[list[str], list[int], list[int]]:
    """Words of `text` as parallel lists (pyvi form, start, end): the allocation-light core of `segment`."""
    return words_from_syllables(*syllable_spans(text))


def segment(text: str) -> list[Token]:
    """Words of `text` (one pyvi sequence) with offsets into `text`.

    Punctuation and newline tokens are included, as pyvi emits them.
    """
    words, starts, ends = word_spans(text)
    return list(map(Token._make, zip(words, starts, ends, range(len(words)))))


def render(words: list[Token], text: str) -> str:
    """pyvi's string output for `segment(text)`."""
    if not words:
        return text
    return " ".join(w.text for w in words)


def tokenize(text: str) -> str:
    """Drop-in equivalent of ``pyvi.ViTokenizer.tokenize`` for NFC text."""
    return render(segment(text), text)

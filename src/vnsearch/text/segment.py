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

import numpy as np

from vnsearch.text.crfmodel import load_pyvi_model

__all__ = ["Token", "syllable_spans", "syllables", "word_spans", "words_from_syllables", "words_of", "segment", "tokenize", "render"]


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
    """Per-process scoring tables, built on first use (Whoosh pickles analyzers: keep them light).

    Each distinct syllable gets a row of numbers once (`record`); a text's per-syllable
    scores are then gathered and summed with array operations, in CRFsuite's order (the
    same float additions, so the same labels), and only the two-label Viterbi runs in Python.
    """

    #: syllables remembered at most; the tables start over when a text would pass it
    MAX_ROWS = 300_000

    def __init__(self):
        weights, bigrams, trigrams = load_pyvi_model()
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
        # n-grams as integer keys over the lower-case syllables they name (0: in none of them);
        # syllables hold no space, so an entry that does not split into n parts never matches
        grams = [g.split(" ") for g in (*bigrams, *trigrams)]
        self.vocab = {p: i + 1 for i, p in enumerate(sorted({p for g in grams for p in g}))}
        self.K = k = len(self.vocab) + 1
        v = self.vocab
        self.bigram_keys = np.unique(np.array(
            [v[a] * k + v[b] for a, b in (g.split(" ") for g in bigrams if g.count(" ") == 1)] or [-1], dtype=np.int64))
        self.trigram_keys = np.unique(np.array(
            [(v[a] * k + v[b]) * k + v[c] for a, b, c in (g.split(" ") for g in trigrams if g.count(" ") == 2)] or [-1],
            dtype=np.int64))
        self._clear()

    def _clear(self) -> None:
        self.rows: dict[str, int] = {}
        # per row: state scores (B, I) of the syllable itself, as the previous one, as the next
        # one; its lower case's n-gram vocabulary number; joinable; title case
        self.table = np.zeros((1024, 6), dtype=np.float64)
        self.gram = np.zeros(1024, dtype=np.int64)
        self.flags = np.zeros((1024, 2), dtype=bool)

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

    def row_ids(self, toks: list[str]) -> np.ndarray:
        """Each syllable's row in the tables, adding rows for syllables not seen before."""
        rows = self.rows
        ids = list(map(rows.get, toks))
        if None in ids:
            if len(rows) + len(toks) > self.MAX_ROWS:
                self._clear()
                rows = self.rows
                ids = [None] * len(toks)
            for i, r in enumerate(ids):
                if r is None:
                    tok = toks[i]
                    r = rows.get(tok)
                    if r is None:
                        r = rows[tok] = self._add_row(tok)
                    ids[i] = r
        return np.fromiter(ids, dtype=np.intp, count=len(ids))

    def _add_row(self, tok: str) -> int:
        r = len(self.rows)
        if r == len(self.gram):
            grow = r * 2
            self.table = np.resize(self.table, (grow, 6))
            self.gram = np.resize(self.gram, grow)
            self.flags = np.resize(self.flags, (grow, 2))
        rec = self.record(tok)
        self.table[r] = rec[1:7]
        self.gram[r] = self.vocab.get(rec[0], 0)
        self.flags[r] = rec[7:9]
        return r

    def labels(self, ids: np.ndarray) -> list[bool]:
        """True where the CRF labels a syllable I_W, by Viterbi as CRFsuite does."""
        n = len(ids)
        rec = self.table[ids]
        g = self.gram[ids]
        k = self.K
        bg = np.zeros(n, dtype=bool)  # the syllable and the one before form a known bigram
        tg = np.zeros(n, dtype=bool)  # ... and the two before, a trigram
        if n > 1:
            pair = g[:-1] * k + g[1:]
            bg[1:] = _member(pair, self.bigram_keys)
            if n > 2:
                tg[2:] = _member(pair[:-1] * k + g[2:], self.trigram_keys)
        bgn = np.zeros(n, dtype=bool)
        bgn[:-1] = bg[1:]
        tgn = np.zeros(n, dtype=bool)
        tgn[:-2] = tg[2:]
        # Per-syllable state scores, summed in CRFsuite's attribute order (left context, then
        # right): the same additions, in the same order, as one syllable at a time.
        scores = []
        for lab in (0, 1):
            s = rec[:, lab].copy()
            s[1:] += rec[:-1, 2 + lab]
            s += np.where(bg, self.bg_prev[lab], 0.0)
            s += np.where(tg, self.tg_prev[lab], 0.0)
            s[:-1] += rec[1:, 4 + lab]
            s += np.where(bgn, self.bg_next[lab], 0.0)
            s += np.where(tgn, self.tg_next[lab], 0.0)
            scores.append(s.tolist())
        sB, sI = scores
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


def _member(keys: np.ndarray, table: np.ndarray) -> np.ndarray:
    """keys[i] in `table` (sorted, not empty), for each i."""
    at = np.searchsorted(table, keys)
    np.minimum(at, len(table) - 1, out=at)
    return table[at] == keys


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
    ids = m.row_ids(toks)
    inside = np.array(m.labels(ids), dtype=bool)
    # pyvi joins I_W only between non-punctuation, non-digit-initial syllables,
    # and never when a capitalised syllable follows a lower-case one.
    flags = m.flags[ids]
    joinable, title = flags[:, 0], flags[:, 1]
    out = np.zeros(len(toks), dtype=bool)
    out[1:] = inside[1:] & joinable[1:] & joinable[:-1] & ~(title[1:] & ~title[:-1])
    return out.tolist()


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


def syllables(text: str) -> list[str]:
    """The tokens of `syllable_spans` without their offsets (what indexing needs)."""
    sylls = _SYLLABLE.findall(text)
    if sylls and max(map(len, sylls)) > MAX_TOKEN:
        return [tok[k : k + MAX_TOKEN] for tok in sylls for k in range(0, len(tok), MAX_TOKEN)]
    return sylls


_SEPARATOR = {True: "_", False: " "}.__getitem__


def _joined(sylls: list[str], joins: list[bool]) -> list[str]:
    parts = [""] * (2 * len(sylls))
    parts[0::2] = map(_SEPARATOR, joins)
    parts[1::2] = sylls
    return "".join(parts)[1:].split(" ")


def words_of(sylls: list[str]) -> list[str]:
    """pyvi's words (``_``-joined) of a text's `syllables`, without offsets."""
    return _joined(sylls, _join_flags(sylls)) if sylls else []


def words_from_syllables(sylls: list[str], starts: list[int], ends: list[int]) -> tuple[list[str], list[int], list[int]]:
    """Join syllables into pyvi's words: parallel lists (``_``-joined word, start, end)."""
    if not sylls:
        return [], [], []
    joins = _join_flags(sylls)
    words = _joined(sylls, joins)
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

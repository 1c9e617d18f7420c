"""Whoosh analysis for Vietnamese: the tokenizer and filter that live in the index schema.

They wrap `vnsearch.text.terms`, so Whoosh tokenizes exactly as indexing does.  Whoosh pickles
them into the index: their import path is ``vnsearch.analysis`` (a re-export), kept stable so
indexes stay readable; keep them free of heavy state (the pyvi model loads lazily, per process).
"""

from __future__ import annotations

from whoosh.analysis import Filter, LowercaseFilter, Token, Tokenizer

from vnsearch.text.fields import meta_terms, path_terms
from vnsearch.text.normalize import fold_word, normalize
from vnsearch.text.terms import analyze, pair_terms, syllables_of

__all__ = ["VietnameseTokenizer", "FoldFilter", "TermListTokenizer", "word_analyzer", "syllable_analyzer",
           "folded_analyzer", "pair_analyzer", "path_analyzer", "meta_analyzer"]


class VietnameseTokenizer(Tokenizer):
    """Normalizes and segments text; emits words (pyvi's, ``_``-joined), syllables, or pairs of
    folded syllables side by side (``ha noi``; no offsets: the pairs field keeps none).

    Offsets refer to the normalized text, which is what vnsearch stores.
    Punctuation is dropped and positions are consecutive over the kept tokens.
    """

    __module__ = "vnsearch.analysis"  # the path pickled into every index schema

    def __init__(self, unit: str = "word"):
        if unit not in ("word", "syllable", "pair"):
            raise ValueError("unit must be 'word', 'syllable' or 'pair'")
        self.unit = unit

    def __eq__(self, other):
        return type(self) is type(other) and self.unit == other.unit

    def __call__(self, value, positions=False, chars=False, keeporiginal=False, removestops=True,
                 start_pos=0, start_char=0, tokenize=True, mode="", **kwargs):
        text = normalize(value)
        if not tokenize:
            items = [(text.lower(), 0, len(text))]
        elif self.unit == "word":
            items = analyze(text, normalized=True).words
        elif self.unit == "pair":
            items = [(p, 0, 0) for p in pair_terms(text)]
        else:
            items = syllables_of(text)
        return _tokens(items, text, positions, chars, keeporiginal, removestops, start_pos, start_char, mode, kwargs)


def _tokens(items, text: str, positions, chars, keeporiginal, removestops, start_pos, start_char, mode, kwargs):
    """Whoosh's reused `Token` for each (term, start, end) of `text`, as its tokenizers yield them."""
    t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
    for i, (term, s, e) in enumerate(items):
        t.text = term
        t.boost = 1.0
        t.stopped = False
        if keeporiginal:
            t.original = text[s:e]
        if positions:
            t.pos = start_pos + i
        if chars:
            t.startchar = start_char + s
            t.endchar = start_char + e
        yield t


class FoldFilter(Filter):
    """Accent-insensitive terms: lower case, no diacritics, đ -> d."""

    __module__ = "vnsearch.analysis"

    def __call__(self, tokens):
        for t in tokens:
            t.text = fold_word(t.text)
            yield t


def word_analyzer():
    """Words as pyvi segments them (``công_nghệ``), lower-cased."""
    return VietnameseTokenizer("word") | LowercaseFilter()


def syllable_analyzer():
    """Syllables, lower-cased, with exact diacritics."""
    return VietnameseTokenizer("syllable") | LowercaseFilter()


def folded_analyzer():
    """Syllables folded for accent-insensitive matching."""
    return VietnameseTokenizer("syllable") | FoldFilter()


def pair_analyzer():
    """Pairs of folded syllables side by side, for words and names found side by side."""
    return VietnameseTokenizer("pair")


class TermListTokenizer(Tokenizer):
    """A small field's terms from `vnsearch.text.fields`: a path and its folders ("path"), or
    metadata fields named in their terms ("meta").  No positions: these fields only filter."""

    __module__ = "vnsearch.analysis"

    def __init__(self, unit: str = "path"):
        if unit not in ("path", "meta"):
            raise ValueError("unit must be 'path' or 'meta'")
        self.unit = unit

    def __eq__(self, other):
        return type(self) is type(other) and self.unit == other.unit

    def __call__(self, value, positions=False, chars=False, keeporiginal=False, removestops=True,
                 start_pos=0, start_char=0, tokenize=True, mode="", **kwargs):
        if not tokenize:
            terms = [value]
        else:
            terms = path_terms(value) if self.unit == "path" else meta_terms(value)
        return _tokens([(term, 0, 0) for term in terms], "", positions, chars, keeporiginal, removestops, start_pos,
                       start_char, mode, kwargs)


def path_analyzer():
    """A document's path and the folders above it."""
    return TermListTokenizer("path")


def meta_analyzer():
    """A document's metadata fields, exact and folded, each term named by its field."""
    return TermListTokenizer("meta")

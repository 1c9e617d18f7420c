"""Bounds on what one query or one document may cost, whatever a file or a user hands over.

Each limit has a default that no ordinary query or article comes near, and an
environment variable to change it (``VNSEARCH_MAX_QUERY_CHARS=10000``); the
API takes a `Limits` too (``Index.open(path, limits=Limits(...))``).  Past a
query limit the search fails at once with a one-line `QueryError`; past a
document limit the text is truncated or the record skipped, and the run says
so in its summary.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields


@dataclass(frozen=True)
class Limits:
    #: characters in a query (a question or a pasted sentence is a few hundred)
    query_chars: int = 2_000
    #: terms in a query once segmented (words, phrases' words, patterns)
    query_terms: int = 128
    #: words in one quoted phrase
    phrase_words: int = 32
    #: edit distance of a fuzzy term (``word~5`` is read as ``word~2``)
    fuzzy_distance: int = 2
    #: index terms a wildcard, prefix, range or fuzzy term may stand for
    expansions: int = 1_000
    #: unknown words a "did you mean" looks at, and the longest word it corrects
    suggest_words: int = 8
    suggest_word_chars: int = 32
    #: characters of one document's text analyzed; the rest is dropped and counted as truncated
    document_chars: int = 20_000_000
    #: bytes of one file in a folder; a larger PDF, DOCX... is skipped and a larger text file read in part
    file_bytes: int = 100_000_000
    #: seconds one file's text extraction may take (a damaged or hostile PDF); then it is skipped
    extract_seconds: int = 60
    #: bytes of one JSONL line or CSV record; a larger record is skipped and counted
    record_bytes: int = 64_000_000
    #: a .gz source decompressing to more than this many times its size is stopped (a gzip bomb)
    gzip_ratio: int = 200
    #: megabytes of decoded posting lists and term scores a search process keeps between searches
    #: (two thirds postings, one third scores; least recently used dropped first)
    cache_mb: int = 384
    #: megabytes of intermediate matches one search keeps while it runs (its attempts share them)
    search_mb: int = 64

    @property
    def postings_cache_bytes(self) -> int:
        return self.cache_mb * (1 << 20) * 2 // 3

    @property
    def scores_cache_bytes(self) -> int:
        return self.cache_mb * (1 << 20) // 3

    @classmethod
    def from_env(cls, environ=os.environ) -> "Limits":
        """The defaults, with any ``VNSEARCH_MAX_<NAME>`` variable applied (a whole number)."""
        values = {}
        for f in fields(cls):
            raw = environ.get(env_name(f.name))
            if raw is not None:
                try:
                    values[f.name] = max(1, int(raw.replace("_", "")))
                except ValueError:
                    raise ValueError(f"{env_name(f.name)}={raw!r} is not a whole number") from None
        return cls(**values)


def env_name(field: str) -> str:
    return "VNSEARCH_MAX_" + field.upper()

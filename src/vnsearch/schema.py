"""The index schema: which fields exist, how they are analyzed, and its version.

Free text lives in three fields built from the same normalized text
(title + body, one unit): ``words`` (pyvi words, frequencies only, the
precise evidence), ``syllables`` (positional: phrases) and ``folded``
(positional, accent-free: ``ha noi`` finds ``Hà Nội``).  ``title`` and
``title_folded`` serve ``title:`` filters.  Highlighting re-analyzes the
stored body, so no field stores character offsets.
"""

from __future__ import annotations

from whoosh import fields

from .analysis import folded_analyzer, postings, syllable_analyzer, word_analyzer

SCHEMA_VERSION = 1

TEXT_FIELDS = ("words", "syllables", "folded")
#: fields a query may name with ``name:``, and those whose value is taken verbatim
QUERY_FIELDS = ("title", "path", "id", "date", "body")
RAW_QUERY_FIELDS = ("path", "id", "date")


class Prepared:
    """Field content already analyzed into Whoosh postings (see `analysis.postings`).

    Worker processes build these so the writer process does no per-token work.
    """

    __slots__ = ("items",)

    def __init__(self, items):
        self.items = items

    def __reduce__(self):
        return (Prepared, (self.items,))


class VnText(fields.TEXT):
    """A TEXT field that also accepts `Prepared` postings."""

    def index(self, value, **kwargs):
        if isinstance(value, Prepared):
            return iter(value.items)
        return super().index(value, **kwargs)

    def prepare(self, terms: list[str]) -> Prepared:
        return Prepared(postings(self, terms))


def build_schema() -> fields.Schema:
    return fields.Schema(
        id=fields.ID(stored=True, unique=True),
        path=fields.ID(stored=True),
        title=VnText(analyzer=syllable_analyzer(), stored=True, phrase=True),
        title_folded=VnText(analyzer=folded_analyzer(), phrase=True),
        body=fields.STORED(),
        words=VnText(analyzer=word_analyzer(), phrase=False),
        syllables=VnText(analyzer=syllable_analyzer(), phrase=True),
        folded=VnText(analyzer=folded_analyzer(), phrase=True),
        date=fields.DATETIME(stored=True, sortable=True),
        hash=fields.STORED(),
        indexed_at=fields.STORED(),
    )

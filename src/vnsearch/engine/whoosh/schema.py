"""The index schema: which fields exist, how they are analyzed, and its version.

Free text lives in three fields built from the same normalized text
(title + body, one unit): ``words`` (pyvi words, frequencies only, the
precise evidence), ``syllables`` (positional: phrases) and ``folded``
(positional, accent-free: ``ha noi`` finds ``Hà Nội``); ``pairs`` holds each two folded
syllables side by side (``ha noi``), so "these syllables next to each other" is a term lookup,
not a walk over positions.  ``title`` and
``title_folded`` serve ``title:`` filters.  Highlighting re-analyzes the
stored body, so no field stores character offsets.

The body is kept in a compressed column of its own (`TextColumn`), not
among the stored fields: a hit's stored fields are read for every result
shown, the body only for snippets and `Index.get`.  Indexes of schema 4
keep it among the stored fields, and stay readable (`READABLE_VERSIONS`).
"""

from __future__ import annotations

from whoosh import columns, fields

from vnsearch.engine.whoosh.analyzers import (folded_analyzer, meta_analyzer, pair_analyzer, path_analyzer,
                                              syllable_analyzer, word_analyzer)

SCHEMA_VERSION = 5  # 2: the pairs field; 3: packed posting lists; 4: path folders, type, meta; 5: body column
#: versions this vnsearch reads: an index's own pickled schema says where its body is
READABLE_VERSIONS = (4, 5)

#: fields whose postings worker processes build (see `prepare` and `bulkwriter`)
INVERTED_FIELDS = ("title", "title_folded", "words", "syllables", "folded", "pairs")


class TextColumn(fields.COLUMN):
    """Text in a zlib-compressed column, one value a document, read only when asked for."""

    __module__ = "vnsearch.analysis"  # the path pickled into every index schema

    def __init__(self):
        super().__init__(columns.CompressedBytesColumn())

    def to_column_value(self, value) -> bytes:
        return (value or "").encode("utf-8")

    def from_column_value(self, value) -> str:
        return value.decode("utf-8") if value else ""


def build_schema() -> fields.Schema:
    return fields.Schema(
        id=fields.ID(stored=True, unique=True, sortable=True),
        # the path and every folder above it (``/a/b/``): "documents under a folder" is one term
        path=fields.ID(stored=True, analyzer=path_analyzer()),
        # the format a document was read from (pdf, html, txt, jsonl...)
        type=fields.ID(stored=True),
        # metadata fields (author, tags...) packed as "name TAB value" lines, searchable as name:value
        meta=fields.ID(stored=True, analyzer=meta_analyzer()),
        source=fields.ID(stored=True, sortable=True),
        title=fields.TEXT(analyzer=syllable_analyzer(), stored=True, phrase=True),
        title_folded=fields.TEXT(analyzer=folded_analyzer(), phrase=True),
        body=TextColumn(),
        words=fields.TEXT(analyzer=word_analyzer(), phrase=False),
        syllables=fields.TEXT(analyzer=syllable_analyzer(), phrase=True),
        folded=fields.TEXT(analyzer=folded_analyzer(), phrase=True),
        pairs=fields.TEXT(analyzer=pair_analyzer(), phrase=False),
        # undated documents sort as oldest (Whoosh would sort them as newest)
        date=fields.DATETIME(stored=True, sortable=columns.NumericColumn("Q", default=0)),
        hash=fields.COLUMN(columns.VarBytesColumn()),
        indexed_at=fields.STORED(),
    )

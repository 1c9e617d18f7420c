"""The engines a user would pick instead of vnsearch, set up on the same documents.

Each peer takes documents as (id, title, text) and answers ``search(query,
k, mode)`` with a ranked list of ids; ``mode`` is "or" (any term: questions)
or "and" (every term: keywords).  They are benchmark extras
(``pip install -e '.[bench]'``), never runtime dependencies.
"""

from __future__ import annotations

import re
import sqlite3

from _common import scratch

_WORD = re.compile(r"\w+")


def words(text: str) -> list[str]:
    return _WORD.findall(text)


class FTS5:
    """SQLite FTS5, unicode61 tokenizer with diacritics removed, bm25 ranking."""

    name = "SQLite FTS5"

    def __init__(self, docs):
        self.con = sqlite3.connect(":memory:")
        self.con.execute("CREATE VIRTUAL TABLE d USING fts5(id UNINDEXED, title, body, "
                         "tokenize='unicode61 remove_diacritics 2')")
        self.con.executemany("INSERT INTO d VALUES (?, ?, ?)", docs)
        self.con.commit()

    def search(self, query: str, k: int = 10, mode: str = "or") -> list[str]:
        terms = ['"' + w.replace('"', "") + '"' for w in words(query)]
        if not terms:
            return []
        expr = (" OR " if mode == "or" else " ").join(terms)
        rows = self.con.execute("SELECT id FROM d WHERE d MATCH ? ORDER BY bm25(d) LIMIT ?", (expr, k))
        return [r[0] for r in rows]


class Tantivy:
    """tantivy with its default tokenizer, or with pre-segmented text on a whitespace tokenizer."""

    def __init__(self, docs, one_field: bool = False, tokenizer: str = "default", name: str = "tantivy"):
        import tantivy

        self.tantivy = tantivy
        self.name = name
        self.one_field = one_field
        b = tantivy.SchemaBuilder()
        b.add_text_field("id", stored=True, tokenizer_name="raw")
        fields = ["text"] if one_field else ["title", "body"]
        for f in fields:
            b.add_text_field(f, stored=False, tokenizer_name=tokenizer)
        self.fields = fields
        self.index = tantivy.Index(b.build(), path=str(scratch("tantivy-")))
        if tokenizer == "whitespace_lower":
            analyzer = tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.whitespace()).filter(tantivy.Filter.lowercase()).build()
            self.index.register_tokenizer("whitespace_lower", analyzer)
        w = self.index.writer(heap_size=256_000_000, num_threads=1)
        for doc_id, title, text in docs:
            if one_field:
                w.add_document(tantivy.Document(id=doc_id, text=f"{title}\n{text}"))
            else:
                w.add_document(tantivy.Document(id=doc_id, title=title, body=text))
        w.commit()
        w.wait_merging_threads()
        self.index.reload()
        self.searcher = self.index.searcher()

    def search(self, query: str, k: int = 10, mode: str = "or", terms: list[str] | None = None) -> list[str]:
        terms = terms if terms is not None else words(query)
        terms = [t.replace('"', "") for t in terms if t.strip()]
        if not terms:
            return []
        joiner = " OR " if mode == "or" else " AND "
        expr = joiner.join('"' + t + '"' for t in terms)
        q = self.index.parse_query(expr, self.fields)
        hits = self.searcher.search(q, k).hits
        return [self.searcher.doc(addr)["id"][0] for _score, addr in hits]


class WhooshStandard:
    """Whoosh with its StandardAnalyzer on title and body, BM25F: what a Whoosh user gets by default."""

    name = "Whoosh StandardAnalyzer"

    def __init__(self, docs):
        from whoosh import fields, index, qparser

        schema = fields.Schema(id=fields.ID(stored=True), title=fields.TEXT(), body=fields.TEXT())
        self.ix = index.create_in(str(scratch("whoosh-")), schema)
        w = self.ix.writer(limitmb=512)
        for doc_id, title, text in docs:
            w.add_document(id=doc_id, title=title, body=text)
        w.commit()
        self.searcher = self.ix.searcher()
        self.or_parser = qparser.MultifieldParser(["title", "body"], schema, group=qparser.OrGroup)
        self.and_parser = qparser.MultifieldParser(["title", "body"], schema)

    def search(self, query: str, k: int = 10, mode: str = "or") -> list[str]:
        parser = self.or_parser if mode == "or" else self.and_parser
        q = parser.parse(" ".join(words(query)))
        return [h["id"] for h in self.searcher.search(q, limit=k)]


class PyviBM25:
    """The strongest simple baseline: pyvi words of title + text as one field, plain BM25 (bm25s).

    Takes the texts already segmented (pyvi's output format: words joined by
    ``_``, separated by spaces) and queries segmented the same way.
    """

    name = "pyvi + one-field BM25 (bm25s)"

    def __init__(self, docs, segmented_texts: list[str]):
        import bm25s

        self.ids = [d[0] for d in docs]
        self.retriever = bm25s.BM25()
        self.retriever.index([self.tokens(t) for t in segmented_texts], show_progress=False)

    @staticmethod
    def tokens(segmented: str) -> list[str]:
        return [w.lower() for w in segmented.split() if any(c.isalnum() for c in w)]

    def search(self, segmented_query: str, k: int = 10, mode: str = "or") -> list[str]:
        import numpy as np

        toks = self.tokens(segmented_query)
        if not toks:
            return []
        scores = self.retriever.get_scores(toks)
        top = np.argsort(-scores, kind="stable")[:k]
        return [self.ids[i] for i in top if scores[i] > 0]

"""Turn documents into what the writer files: light fields per document, postings per term.

This is all of indexing's per-token work, and it runs in worker processes.
A chunk of documents comes back already inverted and encoded: for each
(field, term), Whoosh's posting blocks, so the writer process only writes
bytes.
"""

from __future__ import annotations

from datetime import datetime, timezone

from .analysis import index_terms, postings, syllable_terms
from .bulkwriter import encode_postings
from .normalize import fold_list, normalize
from .schema import INVERTED_FIELDS, build_schema
from .sources import Document

_fields = None

#: (fieldname, term bytes) -> (stats, [W3 block bytes]), see `bulkwriter.encode_postings`
Inverted = dict


def _schema_fields():
    global _fields
    if _fields is None:
        s = build_schema()
        _fields = {n: s[n] for n in INVERTED_FIELDS}
    return _fields


def document_text(title: str, body: str) -> str:
    """The one unit of text the free-text fields are built from: title, a line break, body."""
    return f"{title}\n{body}" if title else body


def term_streams(title: str, body: str) -> dict[str, list[str]]:
    """Each inverted field's term stream for a normalized title and body."""
    words, syllables = index_terms(document_text(title, body))
    folded = fold_list(syllables)
    # The title's syllables are the first ones: syllables never span a line break.
    n_title = len(syllable_terms(title)) if title else 0
    return {
        "title": syllables[:n_title],
        "title_folded": folded[:n_title],
        "words": words,
        "syllables": syllables,
        "folded": folded,
    }


def prepare_chunk(items: list[tuple[Document, str]], base: int) -> tuple[list[dict], Inverted]:
    """Light fields of each document and the chunk's postings, encoded; docnums start at `base`."""
    fields = _schema_fields()
    by_field: dict[str, dict[str, list]] = {n: {} for n in fields}
    docs = []
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    for i, (doc, content_hash) in enumerate(items):
        docnum = base + i
        title = normalize(doc.title)
        body = normalize(doc.body)
        lengths = {}
        for fname, terms in term_streams(title, body).items():
            n = len(terms)
            lengths[fname] = n
            if not n:
                continue
            inv = by_field[fname]
            for term, _freq, weight, vbytes in postings(fields[fname], terms):
                e = inv.get(term)
                if e is None:
                    inv[term] = [(docnum, weight, vbytes, n)]
                else:
                    e.append((docnum, weight, vbytes, n))
        d = {
            "id": doc.id,
            "path": doc.path or "",
            "source": doc.source or "",
            "title": title,
            "body": body,
            "hash": content_hash.encode("ascii"),
            "indexed_at": now,
            "_lengths": lengths,
        }
        if doc.date is not None:
            d["date"] = doc.date
        docs.append(d)
    out: Inverted = {}
    for fname, inv in by_field.items():
        size = fields[fname].format.fixed_value_size()
        for term, e in inv.items():
            out[(fname, term.encode("utf-8"))] = encode_postings(e, size)
    return docs, out

"""Turn documents into what the writer files: light fields per document, postings per term.

This is all of indexing's per-token work, and it runs in worker processes.
A chunk of documents comes back already inverted and encoded by the engine
(`engine.encode_postings`), so the writer process only writes bytes.
"""

from __future__ import annotations

from datetime import datetime, timezone

from vnsearch.engine import INVERTED_FIELDS, encode_postings
from vnsearch.text.terms import index_streams, syllable_terms
from vnsearch.text.normalize import fold_list, normalize
from vnsearch.ingest.sources import Document
from vnsearch.text.fields import pack_fields

#: fieldname -> that field's encoded postings for the chunk
Inverted = dict


def document_text(title: str, body: str) -> str:
    """The one unit of text the free-text fields are built from: title, a line break, body."""
    return f"{title}\n{body}" if title else body


def term_streams(title: str, body: str) -> dict[str, list[str]]:
    """Each inverted field's term stream for a normalized title and body."""
    words, syllables, pairs = index_streams(document_text(title, body))
    folded = fold_list(syllables)
    # The title's syllables are the first ones: syllables never span a line break.
    n_title = len(syllable_terms(title)) if title else 0
    return {
        "title": syllables[:n_title],
        "title_folded": folded[:n_title],
        "words": words,
        "syllables": syllables,
        "folded": folded,
        "pairs": pairs,
    }


def prepare_chunk(items: list[tuple[Document, str]], base: int) -> tuple[list[dict], Inverted]:
    """Light fields of each document and the chunk's postings, encoded; docnums start at `base`."""
    streams: dict[str, list[list[str]]] = {n: [] for n in INVERTED_FIELDS}
    docs = []
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    for doc, content_hash in items:
        title = normalize(doc.title)
        body = normalize(doc.body)
        lengths = {}
        for fname, terms in term_streams(title, body).items():
            streams[fname].append(terms)
            lengths[fname] = len(terms)
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
        if doc.kind:
            d["type"] = doc.kind
        if doc.fields:
            d["meta"] = normalize(pack_fields(doc.fields))
        docs.append(d)
    return docs, encode_postings(streams, base)

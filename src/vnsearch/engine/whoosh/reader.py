"""One commit of a Whoosh index, read through the engine seam (`vnsearch.engine`).

Everything a search needs, as plain Python and numpy values over global
document numbers (deleted documents included, `live` says which are not):
postings, positions, field lengths, columns, stored fields and the vocabulary.
No Whoosh object leaves this class.
"""

from __future__ import annotations

from bisect import bisect_right
from datetime import datetime
from typing import Iterator

import numpy as np
from whoosh import fields, scoring
from whoosh.util.times import datetime_to_long

from vnsearch.engine.whoosh.codec import read_positions, word_frequencies
from vnsearch.engine.whoosh.postings import IndexView, PostingCache

_KINDS = ((fields.DATETIME, "date"), (fields.NUMERIC, "number"), (fields.BOOLEAN, "number"),
          (fields.ID, "keyword"), (fields.TEXT, "text"))


#: document frequencies a snapshot remembers (a few MB); past it the table starts over
DF_ENTRIES = 50_000


def date_value(d: datetime) -> int:
    """A date as the `date` column holds it (0: no date)."""
    return datetime_to_long(d)


class Snapshot:
    """A read-only view of one commit; close it when done (it holds the commit's files open)."""

    def __init__(self, ix, cache: PostingCache):
        self._ix = ix
        # Whoosh's own scorer is never used: vnsearch scores from the arrays below
        self._searcher = ix.searcher(weighting=scoring.Frequency())
        self._reader = self._searcher.reader()
        self._schema = self._searcher.schema
        self._view = IndexView(self._searcher, cache)
        self.generation: int = ix.latest_generation()
        #: the segments this commit is made of: two commits with the same ones differ only in deletions
        self.segments: str = self._view.segments
        self.n: int = self._view.n
        self._kinds: dict[str, str | None] = {}
        self._dfs: dict[tuple[str, str], int] = {}  # a search asks a term's frequency many times
        body = self._schema["body"] if "body" in self._schema else None
        #: the body field when it is a column (schema 5 on), else None (it is a stored field)
        self._body_field = body if body is not None and body.column_type is not None else None
        self._body_column = self._body_field is not None
        self._offsets = [offset for _seg, offset in self._view.leaves]
        self._bodies: dict[int, object] = {}  # leaf -> its body column reader, opened when first read

    # -- lifetime -----------------------------------------------------------------
    def is_current(self) -> bool:
        """False once another commit has landed (open a new snapshot to see it)."""
        return self._searcher.up_to_date()

    def close(self) -> None:
        self._searcher.close()

    # -- fields -------------------------------------------------------------------
    def kind(self, field: str) -> str | None:
        """``text`` (scored, analyzed), ``keyword`` (exact values), ``date``, ``number``, or None."""
        try:
            return self._kinds[field]
        except KeyError:
            pass
        kind = None
        if field in self._schema:
            f = self._schema[field]
            kind = next((name for cls, name in _KINDS if isinstance(f, cls)), None)
        self._kinds[field] = kind
        return kind

    def has_positions(self, field: str) -> bool:
        f = self._schema[field] if field in self._schema else None
        return bool(f is not None and f.format and f.format.supports("positions"))

    # -- documents ----------------------------------------------------------------
    @property
    def live(self) -> np.ndarray:
        """True for every document number not deleted."""
        return self._view.live

    def doc_count(self) -> int:
        return self._reader.doc_count()

    def stored(self, docnum: int, body: bool = True) -> dict:
        """The document's stored fields; with `body`, its body too (a column of its own since
        schema 5, read only when asked: most results shown need no snippet)."""
        d = self._reader.stored_fields(docnum)
        if body and self._body_column:
            d["body"] = self._body(docnum)
        return d

    def _body(self, docnum: int) -> str:
        i = bisect_right(self._offsets, docnum) - 1
        seg, offset = self._view.leaves[i]
        col = self._bodies.get(i)
        if col is None:
            col = self._bodies[i] = seg.column_reader("body", translate=False)
        return self._body_field.from_column_value(col[docnum - offset])

    def doc_number(self, doc_id: str) -> int | None:
        return self._searcher.document_number(id=doc_id)

    def lengths(self, field: str) -> np.ndarray:
        """Each document's length in `field` (the engine stores it in one byte: approximate)."""
        return self._view.lengths(field)

    def total_length(self, field: str) -> int:
        return self._reader.field_length(field)

    def column(self, field: str) -> np.ndarray:
        """A numeric column (dates: `date_value`, 0 when missing) as int64, one value a document."""
        return self._view.column(field)

    def existing(self) -> dict[str, tuple[bytes, str]]:
        """id -> (content hash, source) of every live document, read from columns."""
        r = self._reader
        if r.doc_count_all() == 0:
            return {}
        ids, hashes, srcs = r.column_reader("id"), r.column_reader("hash"), r.column_reader("source")
        text = lambda v: v.decode("utf-8") if isinstance(v, bytes) else v  # noqa: E731
        return {text(ids[d]): (hashes[d], text(srcs[d])) for d in r.all_doc_ids()}

    # -- terms --------------------------------------------------------------------
    def _bytes(self, field: str, term: str | bytes) -> bytes:
        if isinstance(term, bytes):
            return term
        return self._schema[field].to_bytes(term) if field in self._schema else term.encode("utf-8")

    def postings(self, field: str, term: str | bytes) -> tuple[np.ndarray, np.ndarray]:
        """(document numbers ascending, term frequencies) of a term."""
        if field not in self._schema:
            return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.float32)
        return self._view.postings(field, self._bytes(field, term))

    def doc_frequency(self, field: str, term: str) -> int:
        """How many documents hold `term` (deleted ones included, as in `postings`)."""
        key = (field, term)
        df = self._dfs.get(key)
        if df is None:
            df = self._view.doc_frequency(field, self._bytes(field, term)) if field in self._schema else 0
            if len(self._dfs) >= DF_ENTRIES:
                self._dfs.clear()
            self._dfs[key] = df
        return df

    def positions(self, field: str, term: str, docs: np.ndarray) -> list[np.ndarray]:
        """The term's positions in each of `docs` (ascending document numbers that hold it)."""
        btext = self._bytes(field, term)
        out: list[np.ndarray] = []
        docs = np.asarray(docs, dtype=np.intp)
        for seg, offset in self._view.leaves:
            mine = docs[(docs >= offset) & (docs < offset + seg.doc_count_all())] - offset
            if not len(mine):
                continue
            out.extend(read_positions(seg, field, btext, mine))
        return out

    def terms(self, field: str, start: str = "", prefix: str = "") -> Iterator[str]:
        """The field's terms in order, from `start` (or the first with `prefix`) on; with `prefix`,
        only those that begin with it."""
        if field not in self._schema:
            return
        for fname, b in self._reader.terms_from(field, self._bytes(field, max(start, prefix))):
            if fname != field:
                return
            t = b.decode("utf-8") if isinstance(b, bytes) else b
            if prefix and not t.startswith(prefix):
                return
            yield t

    def terms_within(self, field: str, text: str, maxdist: int, prefix: int = 1) -> Iterator[str]:
        """Terms within `maxdist` edits of `text` that share its first `prefix` characters."""
        if field not in self._schema:
            return
        for b in self._reader.terms_within(field, text, maxdist, prefix=prefix):
            yield b.decode("utf-8") if isinstance(b, bytes) else b

    def term_count(self, field: str) -> int:
        return sum(1 for _ in self._reader.lexicon(field)) if field in self._schema else 0

    def term_frequencies(self, field: str) -> dict[str, int]:
        """Every term of `field` with its document frequency (the vocabulary, for suggestions)."""
        return {b.decode("utf-8", "replace"): df for b, df in word_frequencies(self._reader, field).items()}

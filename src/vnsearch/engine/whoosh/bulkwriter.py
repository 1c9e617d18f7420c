"""Whoosh segments written from postings that worker processes already encoded.

Whoosh's own writer spends about 15 µs of Python per posting (a pool tuple,
a sort of all postings, a per-posting length lookup, method calls, block
pickling and compression), which caps indexing far below pyvi's speed.
Here the workers invert their chunk of documents and pack each term's
postings (`codec.encode`, `packed.py`); the writer process (`BulkWriter`)
only writes those bytes and Whoosh's term index, and keeps Whoosh's own code
for stored fields, columns and small fields.  A term's list is its chunks'
blocks side by side (each block holds its own first document number), at the
extent its term info names.
"""

from __future__ import annotations

from itertools import groupby
from typing import NamedTuple

from whoosh.codec.whoosh3 import W3Codec
from whoosh.columns import CompressedBytesColumn, VarBytesColumn

from vnsearch.engine.whoosh.codec import FieldBlocks, term_info, term_key
from vnsearch.engine.whoosh.integrity import SealedWriter
from vnsearch.engine.whoosh.schema import INVERTED_FIELDS


def merge_stats(a: tuple, b: tuple) -> tuple:
    return (a[0] + b[0], a[1] + b[1], min(a[2], b[2]), max(a[3], b[3]), max(a[4], b[4]), a[5], b[6])


class Compressed(NamedTuple):
    """A compressed column's value as it is stored (a merge copies a body without decompressing
    it and compressing it again)."""

    raw: bytes


class BulkWriter(SealedWriter):
    """Write one new segment from prepared chunks; commit never merges (merge with a plain writer)."""

    def __init__(self, ix, **kwargs):
        super().__init__(ix, **kwargs)
        # Whoosh's SegmentWriter ignores a `merge` argument (its __init__ resets it to True),
        # and a merge would pour old segments' postings into the pool this writer bypasses.
        self.merge = False
        # The small fields (id, path, source, date) still go through Whoosh's postings writer,
        # which zlib-compresses even a one-posting block (a ~50 µs call per document and field).
        self.fieldwriter._codec = W3Codec(compression=0)
        self._inverted: dict[tuple[str, bytes], list] = {}
        self._bulk_fields = frozenset(INVERTED_FIELDS)

    def commit(self, *args, **kwargs) -> None:
        kwargs.pop("mergetype", None)
        kwargs.pop("optimize", None)
        kwargs["merge"] = False
        super().commit(*args, **kwargs)

    def add_chunk(self, docs: list[dict], inverted: dict[str, FieldBlocks], replace: list[bool] | None = None) -> None:
        """Add a prepared chunk; its document numbers must start at this writer's next docnum."""
        named = [fb.docnums for fb in inverted.values() if fb.terms]
        if named:
            first, last = min(a for a, _ in named), max(b for _, b in named)
            if first < self.docnum or last >= self.docnum + len(docs):
                raise ValueError(f"chunk's postings name documents {first}..{last}, "
                                 f"its documents are {self.docnum}..{self.docnum + len(docs) - 1}")
        for i, d in enumerate(docs):
            if replace and replace[i]:
                self.delete_by_term("id", d["id"])
            self._add_light(d)
        store = self._inverted
        for fname, fb in inverted.items():
            part = (fb, memoryview(fb.blob))
            for i, term in enumerate(fb.terms):
                key = (fname, term)
                lst = store.get(key)
                if lst is None:
                    store[key] = [(part, i)]
                else:
                    lst.append((part, i))

    def _add_light(self, fields: dict) -> None:
        """Stored fields, columns, small indexed fields, and the inverted fields' lengths."""
        self._check_state()
        schema = self.schema
        pdw = self.perdocwriter
        add_post = self.pool.add
        docnum = self.docnum
        lengths = fields["_lengths"]
        pdw.start_doc(docnum)
        try:
            for name in sorted(set(fields) | self._bulk_fields):
                if name.startswith("_"):
                    continue
                field = schema[name]
                value = fields.get(name)
                if name in self._bulk_fields:
                    pdw.add_field(name, field, value if field.stored else None, lengths.get(name, 0))
                    continue
                if value is None:
                    continue
                length = 0
                if field.indexed:
                    for tbytes, freq, weight, vbytes in field.index(value):
                        if field.scorable:
                            length += freq
                        add_post((name, tbytes, docnum, weight, vbytes))
                pdw.add_field(name, field, value if field.stored else None, length)
                if isinstance(value, Compressed) and isinstance(field.column_type, CompressedBytesColumn):
                    if not pdw._has_column(name):
                        pdw._create_column(name, field.column_type)
                    VarBytesColumn.Writer.add(pdw._get_column(name), docnum, value.raw)  # as it was
                elif field.column_type:
                    pdw.add_column_value(name, field.column_type, field.to_column_value(value))
        except BaseException:
            pdw.cancel_doc()
            raise
        pdw.finish_doc()
        self._added = True
        self.docnum += 1

    def _bulk_names(self) -> list[str]:
        """The fields whose postings arrive as blocks (written by `_write_field`)."""
        return sorted({f for f, _ in self._inverted})

    def _term_lists(self, fname: str):
        """Each term of field `fname` in order, with its parts: (stats as `FieldBlocks.stats`
        holds them, the part's packed blocks), in document order."""
        for key in sorted(k for k in self._inverted if k[0] == fname):
            parts = self._inverted.pop(key)
            yield key[1], [(fb.stats[i], mv[fb.starts[i] : fb.starts[i + 1]]) for (fb, mv), i in parts]

    def _flush_segment(self) -> None:
        self.perdocwriter.close()
        fw = self.fieldwriter
        bulk = self._bulk_names()
        pending = list(bulk)
        for fname, group in groupby(self.pool.iter_postings(), key=lambda p: p[0]):
            if fname in self._bulk_fields:
                raise RuntimeError(f"field {fname} has postings from both paths")
            while pending and pending[0] < fname:
                self._write_field(pending.pop(0))
            fw.add_postings(self.schema, None, group)
        while pending:
            self._write_field(pending.pop(0))
        fw.close()

    def _write_field(self, fname: str) -> None:
        fw = self.fieldwriter
        fw.start_field(fname, self.schema[fname])
        write = fw._postfile.write
        tindex_add = fw._tindex.add
        fieldnum = fw._fieldid
        pos = fw._postfile.tell()
        pieces: list = []  # written in batches: a write call per piece cost more than the copy
        add = pieces.append
        for term, parts in self._term_lists(fname):
            stats = None
            start = pos
            for part_stats, blob in parts:  # blocks are self-contained: a list is its parts side by side
                stats = part_stats if stats is None else merge_stats(stats, part_stats)
                add(blob)
                pos += len(blob)
            tindex_add(term_key(fieldnum, term), term_info(stats, start, pos - start))
            if len(pieces) > 8192:
                write(b"".join(pieces))
                pieces.clear()
        write(b"".join(pieces))
        if fw._postfile.tell() != pos:
            raise RuntimeError(f"postings of {fname} ended at {fw._postfile.tell()}, expected {pos}")
        fw.finish_field()

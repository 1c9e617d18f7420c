"""Whoosh segments written from postings that worker processes already encoded.

Whoosh's own writer spends about 15 µs of Python per posting (a pool tuple,
a sort of all postings, a per-posting length lookup, method calls, block
pickling and compression), which caps indexing far below pyvi's speed.
Here the workers invert their chunk of documents and encode each term's
postings straight into Whoosh's W3 block format (`encode_postings`); the
writer process (`BulkWriter`) only writes those bytes and the term index,
and keeps Whoosh's own code for stored fields, columns and small fields.

Blocks from different chunks are written one after another, so a block may
hold fewer than 128 postings; W3 readers read each block's own count.  This
relies on whoosh-reloaded 2.7's W3 codec (pinned in pyproject.toml);
tests/test_bulkwriter.py checks that an index written this way reads back
exactly like one written by Whoosh's own writer.
"""

from __future__ import annotations

import zlib
from itertools import groupby
from pickle import dumps

from whoosh.codec.whoosh3 import WHOOSH3_HEADER_MAGIC, W3TermInfo
from whoosh.system import pack_ushort
from whoosh.util.numeric import length_to_byte
from whoosh.writing import SegmentWriter

from .schema import INVERTED_FIELDS

BLOCK_LIMIT = 128
COMPRESSION = 3  # W3Codec's default
# zlib costs ~50 µs a call whatever the size, which would dominate indexing;
# only blocks big enough to shrink noticeably are compressed (readers check each block).
COMPRESS_OVER = 1024


def encode_postings(postings: list[tuple[int, float, bytes, int]], fixed_size: int | None) -> tuple[tuple, list[bytes]]:
    """One term's postings, (docnum, weight, value, field length) in docnum order, as W3 blocks.

    Returns (stats, [block bytes]), stats being (weight sum, doc frequency,
    min length, max length, max weight, first id, last id).
    """
    n = len(postings)
    var = fixed_size is None or fixed_size < 0
    if n == 1:  # most terms: one document in the chunk
        d, w, v, ln = postings[0]
        mv = (v,) if var else (None if fixed_size == 0 else v)
        lb = length_to_byte(ln)
        block = dumps((1, d, w, 0, lb, lb), 2) + dumps(((d,), None if w == 1.0 else w, mv), 2)
        return (float(w), 1, ln, ln, w, d, d), [block]
    blocks = []
    for start in range(0, n, BLOCK_LIMIT):
        block = postings[start : start + BLOCK_LIMIT]
        if len(block) == 1:
            (d, w1, v1, l1), = block
            ids, w, v, ls = (d,), (w1,), (v1,), (l1,)
        else:
            ids, w, v, ls = zip(*block)
        deltas = (ids[0],) + tuple(b - a for a, b in zip(ids, ids[1:])) if len(ids) > 1 else ids
        w0 = w[0]
        if all(x == w0 for x in w):
            mw = None if w0 == 1.0 else w0
        else:
            mw = w
        if var:
            mv = v
        elif fixed_size == 0:
            mv = None
        else:
            mv = b"".join(v)
        data = dumps((deltas, mw, mv), 2)
        comp = 0
        if len(data) > COMPRESS_OVER:
            comp = COMPRESSION
            data = zlib.compress(data, comp)
        info = dumps((len(ids), ids[-1], max(w), comp, length_to_byte(min(ls)), length_to_byte(max(ls))), 2)
        blocks.append(info + data)
    _ids, weights, _v, lengths = zip(*postings)
    stats = (float(sum(weights)), n, min(lengths), max(lengths), max(weights), postings[0][0], postings[-1][0])
    return stats, blocks


def merge_stats(a: tuple, b: tuple) -> tuple:
    return (a[0] + b[0], a[1] + b[1], min(a[2], b[2]), max(a[3], b[3]), max(a[4], b[4]), a[5], b[6])


class BulkWriter(SegmentWriter):
    """Write one new segment from prepared chunks; commit never merges (merge with a plain writer)."""

    def __init__(self, ix, **kwargs):
        super().__init__(ix, **kwargs)
        # Whoosh's SegmentWriter ignores a `merge` argument (its __init__ resets it to True),
        # and a merge would pour old segments' postings into the pool this writer bypasses.
        self.merge = False
        self._inverted: dict[tuple[str, bytes], list] = {}
        self._bulk_fields = frozenset(INVERTED_FIELDS)

    def commit(self, *args, **kwargs) -> None:
        kwargs.pop("mergetype", None)
        kwargs.pop("optimize", None)
        kwargs["merge"] = False
        super().commit(*args, **kwargs)

    def add_chunk(self, docs: list[dict], inverted: dict, replace: list[bool] | None = None) -> None:
        """Add a prepared chunk; its document numbers must start at this writer's next docnum."""
        if docs and inverted:
            first = min(stats[5] for stats, _ in inverted.values())
            if first < self.docnum:
                raise ValueError(f"chunk numbered from {first}, writer is at {self.docnum}")
        for i, d in enumerate(docs):
            if replace and replace[i]:
                self.delete_by_term("id", d["id"])
            self._add_light(d)
        store = self._inverted
        for key, e in inverted.items():
            lst = store.get(key)
            if lst is None:
                store[key] = [e]
            else:
                lst.append(e)

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
                if field.column_type:
                    pdw.add_column_value(name, field.column_type, field.to_column_value(value))
        except BaseException:
            pdw.cancel_doc()
            raise
        pdw.finish_doc()
        self._added = True
        self.docnum += 1

    def _flush_segment(self) -> None:
        self.perdocwriter.close()
        fw = self.fieldwriter
        bulk = sorted({f for f, _ in self._inverted})
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
        postfile = fw._postfile
        write, write_int, tell = postfile.write, postfile.write_int, postfile.tell
        tindex_add = fw._tindex.add
        fieldid = pack_ushort(fw._fieldid)
        keys = sorted(k for k in self._inverted if k[0] == fname)
        for key in keys:
            parts = self._inverted.pop(key)
            stats = parts[0][0]
            for p in parts[1:]:
                stats = merge_stats(stats, p[0])
            start = tell()
            write(WHOOSH3_HEADER_MAGIC)
            last_part = len(parts) - 1
            for i, (_stats, blocks) in enumerate(parts):
                last_block = len(blocks) - 1
                for j, block in enumerate(blocks):
                    write_int(-len(block) if i == last_part and j == last_block else len(block))
                    write(block)
            ti = W3TermInfo()
            (ti._weight, ti._df, ti._minlength, ti._maxlength, ti._maxweight, ti._minid, ti._maxid) = stats
            ti.set_extent(start, tell() - start)
            tindex_add(fieldid + key[1], ti.to_bytes())
        fw.finish_field()

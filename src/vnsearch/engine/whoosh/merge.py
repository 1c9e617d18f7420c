"""Segments merged by copying their posting blocks, not by re-reading every posting.

Whoosh's merge walks every posting of every term through Python matchers
and writes it again: on a large collection its end-of-run merge ran longer
than the indexing before it (bench/README.md).  Segments the bulk writer wrote hold
each term's postings as blocks whose only absolute document number is each
block's first (the rest are deltas) and its info's last.  So a merge copies
each block with those two numbers moved to the document's new number, hands
the result to `BulkWriter` as if each old segment were a chunk of new
documents, and re-adds each live document's stored fields, columns and
lengths.  Runs of a term's blocks are joined into one (up to
`JOINED_BLOCK` postings: reading a list costs Python time a block), and
blocks holding deleted documents are rewritten without them.  Scores of a
merge without deletions do not move: the same postings, the same length
bytes, the same field totals.

Tiered: a run ends by merging, ten at a time, segments of the same size
class (live documents within a power of ten), so their number grows with
the logarithm of the collection and each document is copied once a class;
a segment with more than a third of its documents deleted is rewritten
alone.  Segments Whoosh wrote (indexes from before the bulk writer) are
left to Whoosh's merge of small segments.
"""

from __future__ import annotations

import heapq
import math
import struct
from bisect import bisect_left, bisect_right
from pickle import dumps
from itertools import groupby
from typing import NamedTuple

import numpy as np

from whoosh.codec.whoosh3 import W3TermInfo
from whoosh.util.numeric import byte_to_length

from vnsearch.engine.whoosh.bulkwriter import BulkWriter
from vnsearch.engine.whoosh.codec import (
    _ARRAY_TAIL, _WEIGHTS_HEAD, DATA_MAGIC, TERM_HEADER, FieldBlocks, _bytes_item, _i32_be, _u32, length_bytes,
    term_key)
from vnsearch.engine.whoosh.safepickle import loads
from vnsearch.engine.whoosh.schema import INVERTED_FIELDS

#: segments of one size class merged at once
MERGE_FACTOR = 10


class NotBulkWritten(Exception):
    """A segment holds posting lists the bulk writer did not write (a Whoosh merge's)."""


def size_class(doc_count: int) -> int:
    return int(math.log10(max(1, doc_count)))


#: a segment more than this share of whose documents are deleted is rewritten without them, even
#: alone (deleted documents still cost reading and count in the statistics until a merge drops them)
EXPUNGE_SHARE = 1 / 3


def plan_merges(counts: list[tuple[object, int, int, bool]], factor: int = MERGE_FACTOR) -> list[list]:
    """Groups of `factor` segments of one size class (by live documents), smallest classes first,
    then each segment left whose deleted share is above `EXPUNGE_SHARE` on its own; `counts`:
    (segment, live documents, all documents, mergeable) in index order.  A group's merge yields
    a segment of the next class, which may complete a group there (planned on the next call)."""
    by_class: dict[int, list] = {}
    for seg, live, _all, ok in counts:
        if ok:
            by_class.setdefault(size_class(live), []).append(seg)
    groups = []
    for cls in sorted(by_class):
        segs = by_class[cls]
        while len(segs) >= factor:
            groups.append(segs[:factor])
            segs = segs[factor:]
    grouped = {id(seg) for g in groups for seg in g}
    groups += [[seg] for seg, live, every, ok in counts
               if ok and id(seg) not in grouped and every and (every - live) > EXPUNGE_SHARE * every]
    return groups


def mergeable(reader) -> bool:
    """Whether a segment can be merged here: written by the bulk writer (its first `words` posting
    list says which)."""
    if reader.doc_count_all() == 0:
        return False
    terms = getattr(reader, "_terms", None)
    fieldmap = getattr(terms, "_fieldmap", {})
    if "words" not in fieldmap:
        return False
    prefix = term_key(fieldmap["words"], b"")
    for key, value in terms._tindex.items_from(prefix):
        if not key.startswith(prefix):
            return False
        raw = _term_bytes(terms, W3TermInfo.from_bytes(value))
        return raw is not None and _first_block_is_ours(raw)
    return False


class _Source(NamedTuple):
    """A segment being merged: its reader, its first new document number, and (when it has
    deletions) the sorted deleted numbers and each old number's new offset (-1: dropped)."""
    reader: object
    base: int
    deleted: list[int]
    renumber: np.ndarray | None


def _source(r, base: int) -> _Source:
    if not r.has_deletions():
        return _Source(r, base, [], None)
    live = np.ones(r.doc_count_all(), dtype=bool)
    deleted = _deleted(r)
    live[deleted] = False
    renumber = np.cumsum(live, dtype=np.int64) - 1
    renumber[~live] = -1
    return _Source(r, base, deleted, renumber)


class _MergeWriter(BulkWriter):
    """A bulk writer whose chunks are old segments: documents first, then each field's posting
    lists, read term by term from every segment as the field is written (a merge holds a
    window of each segment's lists, not a field of all of them)."""

    def __init__(self, ix, limitmb: int):
        super().__init__(ix, limitmb=limitmb)
        self._sources: list[_Source] = []

    def add_segment(self, r) -> None:
        base = self.docnum
        src = _source(r, base)
        docs = _documents(r, src.deleted)
        if not docs:
            return  # every document deleted: the segment just goes
        none = {f: FieldBlocks([], [], b"", [0], [], (base, base)) for f in INVERTED_FIELDS}
        self.add_chunk(docs, none)
        self._sources.append(src)

    def _bulk_names(self) -> list[str]:
        return sorted(INVERTED_FIELDS)

    def _term_lists(self, fname: str):
        """The sources' lists of each term, in term order (a k-way merge of their dictionaries;
        equal terms in source order, which is document order)."""
        streams = [_field_lists(src, fname) for src in self._sources]
        for term, group in groupby(heapq.merge(*streams, key=lambda item: item[0]), key=lambda item: item[0]):
            yield term, [part for _term, part in group]


def merge_segments(ix, readers: list, limitmb: int = 256) -> None:
    """Merge the segments of `readers` (mergeable ones, in index order) into one, in one commit;
    deleted documents are dropped."""
    w = _MergeWriter(ix, limitmb)
    try:
        merged = {r.segment().segment_id() for r in readers}
        w.segments = [s for s in w.segments if s.segment_id() not in merged]
        for r in readers:
            w.add_segment(r)
        # the length bytes are approximate: keep the fields' totals exact, as they were, less the
        # (approximate) lengths of the documents dropped
        lengths = w.perdocwriter._fieldlengths
        for f in INVERTED_FIELDS:
            lengths[f] = sum(r.field_length(f) - sum(r.doc_field_length(d, f) for d in _deleted(r))
                             for r in readers)
        w.commit()
    except BaseException:
        w.cancel()
        raise


def _deleted(r) -> list[int]:
    """A segment's deleted document numbers, ascending."""
    return sorted(r._perdoc.deleted_docs()) if r.has_deletions() else []


def _documents(r, deleted: list[int]) -> list[dict]:
    """Each live document's stored fields, columns and field lengths, as the indexer hands them over."""
    hashes = r.column_reader("hash") if r.has_column("hash") else None
    gone = set(deleted)
    docs = []
    for n in range(r.doc_count_all()):
        if n in gone:
            continue
        d = dict(r.stored_fields(n))
        if hashes is not None:
            d["hash"] = hashes[n]
        d["_lengths"] = {f: r.doc_field_length(n, f) for f in INVERTED_FIELDS}
        docs.append(d)
    return docs


def _term_bytes(terms, ti: W3TermInfo) -> bytes | None:
    if ti.is_inlined():
        return None
    offset, length = ti.extent()
    if isinstance(length, tuple):
        length = length[0]
    return terms._postfile.get(offset, length)


def _first_block_is_ours(raw: bytes) -> bool:
    start = len(TERM_HEADER) + 4
    size = abs(_i32_be.unpack_from(raw, len(TERM_HEADER))[0])
    at = raw.find(DATA_MAGIC, start, start + size)
    if at < 0:
        return False
    info = loads(raw[start:at])
    return isinstance(info, tuple) and len(info) == 6


#: a W3 term info whose postings are not inlined: flags, weight, document frequency, min and max
#: length bytes, max weight, first and last document, then the postings' offset and length
_TERM_INFO = struct.Struct("!BfIBBfIIqi")


#: bytes of a segment's posting lists read at once by a merge (lists lie side by side in term order)
WINDOW = 16 << 20


def _field_lists(src: _Source, field: str):
    """A segment's posting lists of `field` for the merged segment, in term order: (term, (stats as
    `FieldBlocks.stats` holds them, framed blocks, where the last one's length field is)), with
    deleted documents dropped (a term left with none is skipped) and runs of blocks joined."""
    terms_reader = src.reader._terms
    fieldmap = terms_reader._fieldmap
    if field not in fieldmap:
        return
    prefix = term_key(fieldmap[field], b"")
    window: list = []
    span = None
    lists = _Blocks(src, field)
    for key, value in terms_reader._tindex.items_from(prefix):
        if not key.startswith(prefix):
            break
        if value[0] or len(value) != _TERM_INFO.size:
            raise NotBulkWritten(f"{field}:{key[2:]!r} is inlined")
        info = _TERM_INFO.unpack(value)
        offset, length = info[8], info[9]
        if window and (offset < span[0] or max(span[1], offset + length) - span[0] > WINDOW):
            yield from lists.rewrite(window, span)
            window = []
        span = (offset, offset + length) if not window else (span[0], max(span[1], offset + length))
        window.append((key[2:], info))
    if window:
        yield from lists.rewrite(window, span)


#: postings a block of a merged segment holds at most (runs of whole blocks are joined up to it): a
#: chunk of 1,000 documents gives each of its terms a block, and reading a posting list costs a few
#: µs of Python a block, so a common word of a large segment was hundreds of blocks
JOINED_BLOCK = 8192


class _Block(NamedTuple):
    """One block as the bulk writer wrote it, in the segment's own document numbers; the byte
    fields are views of the segment's postings."""
    n: int
    first: int  # absolute document number of the first posting
    last: int
    info: tuple  # (postings, last, max weight, 0, min and max length bytes)
    ids: memoryview  # uint32 LE: the first absolute, the rest deltas
    weights: memoryview | None  # float32 LE, None when every weight is 1
    kind: int  # how the values are kept: b"N" (none), b"(" (one bytes item each), b"C" (fixed size)
    values: memoryview  # the values' bytes without their framing
    frame: memoryview  # the block's bytes from its data on (what a copy writes)


_ONE = np.float32(1).tobytes()


def _parse(raw: bytes, view: memoryview, start: int, end: int) -> _Block:
    """The block in raw[start:end] (after its length field)."""
    data = raw.find(DATA_MAGIC, start, end)
    if data < 0:
        raise NotBulkWritten("a posting block the bulk writer did not write")
    info = loads(view[start:data])
    o = data + len(DATA_MAGIC)
    nbytes = _u32.unpack_from(raw, o)[0]
    first = _u32.unpack_from(raw, o + 4)[0]
    ids = view[o + 4 : o + 4 + nbytes]
    o += 4 + nbytes + len(_ARRAY_TAIL)
    if raw[o] == 0x4E:
        weights, o = None, o + 1
    else:
        o += len(_WEIGHTS_HEAD) + 4
        weights, o = view[o : o + nbytes], o + nbytes + len(_ARRAY_TAIL)
    kind = raw[o]
    if kind == 0x4E:
        values = view[o:o]
    elif kind == 0x28 and raw[end - 3 : end] == b"t\x87.":  # '(' items 't', then TUPLE3 STOP
        values = view[o + 1 : end - 3]
    elif kind in (0x43, 0x42) and raw[end - 2 : end] == b"\x87.":  # 'C' + 1-byte or 'B' + 4-byte length
        values, kind = view[o + (2 if kind == 0x43 else 5) : end - 2], 0x43
    else:
        raise NotBulkWritten("a posting block laid out as the bulk writer does not lay them out")
    return _Block(nbytes // 4, first, info[1], info, ids, weights, kind, values, view[data:end])


class _Blocks:
    """Rewrites one segment's posting lists of a field (its postings in `region`) for the merged
    segment."""

    def __init__(self, src: _Source, field: str):
        self.src = src
        self.base = src.base
        self.raw = b""
        self.view = memoryview(self.raw)
        self._lengths = None  # the field's length bytes by old document number, read when needed
        self._field = field
        self._fixed = src.reader.schema[field].format.fixed_value_size()

    def rewrite(self, entries: list, span: tuple[int, int]):
        """The lists of `entries` (term, term info), which lie within bytes `span` of the postings
        file, as `_field_lists` yields them."""
        lo, hi = span
        self.raw = self.src.reader._terms._postfile.get(lo, hi - lo)
        self.view = memoryview(self.raw)
        for term, (_flags, weight, df, minlen, maxlen, maxweight, minid, maxid, offset, _length) in entries:
            got = self.term(offset - lo)
            if got is None:
                continue  # every posting was of a deleted document
            blob, last, recount = got
            yield term, (recount or (weight, df, byte_to_length(minlen), byte_to_length(maxlen), maxweight,
                                     self.moved(minid), self.moved(maxid)), blob, last)

    def moved(self, docnum: int) -> int:
        """A live document's number in the merged segment."""
        if self.src.renumber is not None:
            docnum = int(self.src.renumber[docnum])
        docnum += self.base
        if docnum >= 1 << 32:
            raise OverflowError("document numbers beyond 32 bits")
        return docnum

    def lengths(self) -> np.ndarray:
        if self._lengths is None:
            self._lengths = length_bytes(self.src.reader, self._field)
        return self._lengths

    def term(self, pos: int) -> tuple[bytes, int, tuple | None] | None:
        """(the framed blocks of the term whose list starts at `pos` of the region, every length
        positive, where the last one's length field is, new term stats or None when they stay
        as they were); None when no posting is left."""
        raw, view = self.raw, self.view
        pos += len(TERM_HEADER)
        blocks = []
        while True:
            size = _i32_be.unpack_from(raw, pos)[0]
            start, end = pos + 4, pos + 4 + abs(size)
            blocks.append(_parse(raw, view, start, end))
            if size < 0:
                break
            pos = end
        deleted = self.src.deleted
        touched = bool(deleted) and any(
            bisect_left(deleted, b.first) < bisect_right(deleted, b.last) for b in blocks)
        runs, run, size = [], [], 0
        for b in blocks:
            if run and size + b.n > JOINED_BLOCK:
                runs.append(run)
                run, size = [], 0
            run.append(b)
            size += b.n
        runs.append(run)
        out, at, last, recount = [], 0, 0, ([] if touched else None)
        for run in runs:
            if touched:
                got = self._rewritten(run)
                if got is None:
                    continue
                block, kept = got
                recount.append(kept)
            else:
                block = self._joined(run)
            last = at
            out.append(_i32_be.pack(len(block)))
            out.append(block)
            at += 4 + len(block)
        if not out:
            return None
        return b"".join(out), last, (_stats(recount) if recount is not None else None)

    def _joined(self, run: list[_Block]) -> bytes:
        """One block of a run of blocks none of whose documents is deleted, as bytes: each block's
        first id becomes a delta from the previous block's last (the rest are deltas already)."""
        if len(run) == 1:  # as it was, its two absolute document numbers moved
            b = run[0]
            at = len(DATA_MAGIC) + 4
            return b"".join((dumps((b.info[0], self.moved(b.last), *b.info[2:]), 2), b.frame[:at],
                             _u32.pack(self.moved(b.first)), b.frame[at + 4 :]))
        n = sum(b.n for b in run)
        size4 = _u32.pack(4 * n)
        ids, prev = [], None
        for b in run:
            first = self.moved(b.first)
            ids.append(_u32.pack(first if prev is None else first - prev))
            ids.append(b.ids[4:])
            prev = self.moved(b.last)
        if all(b.weights is None for b in run):
            wpart = b"N"
        else:
            wpart = b"".join((_WEIGHTS_HEAD, size4, *(_ONE * b.n if b.weights is None else b.weights for b in run),
                              _ARRAY_TAIL))
        kind = run[0].kind
        if kind == 0x4E:
            vpart = b"N"
        elif kind == 0x28:
            vpart = b"".join((b"(", *(b.values for b in run), b"t"))
        else:
            vpart = _bytes_item(b"".join(b.values for b in run))
        info = (n, prev, max(b.info[2] for b in run), 0, min(b.info[4] for b in run), max(b.info[5] for b in run))
        return b"".join((dumps(info, 2), DATA_MAGIC, size4, *ids, _ARRAY_TAIL, wpart, vpart, b"\x87."))

    def _rewritten(self, run: list[_Block]):
        """One block of a run of blocks, deleted documents dropped: (its bytes, (new ids, weights,
        length bytes) of what it kept); None when nothing is left."""
        counts = [b.n for b in run]
        ids = np.cumsum(np.frombuffer(b"".join(b.ids for b in run), dtype="<u4").astype(np.int64))
        if len(run) > 1:  # each block's first id is absolute
            ends = np.cumsum(counts)
            prev = np.zeros(len(run), dtype=np.int64)
            prev[1:] = ids[ends[:-1] - 1]
            ids -= np.repeat(prev, counts)
        weights = np.concatenate([np.frombuffer(b.weights, dtype="<f4") if b.weights is not None
                                  else np.ones(b.n, dtype=np.float32) for b in run])
        kind = run[0].kind
        keep = self.src.renumber[ids] >= 0
        if kind == 0x4E:
            values = []
        else:
            values = [_kept_values(b, keep[a - b.n : a], kind, self._fixed)
                      for b, a in zip(run, np.cumsum(counts).tolist())]
        ids, weights = ids[keep], weights[keep]
        if not len(ids):
            return None
        lb = self.lengths()[ids]
        new = self.src.renumber[ids] + self.base
        if new[-1] >= 1 << 32:
            raise OverflowError("document numbers beyond 32 bits")
        deltas = np.empty(len(new), dtype="<u4")
        deltas[0] = new[0]
        deltas[1:] = np.diff(new)
        n = len(new)
        maxw = float(weights.max())
        info = dumps((n, int(new[-1]), maxw, 0, int(lb.min()), int(lb.max())), 2)
        size4 = _u32.pack(4 * n)
        if maxw == 1 and float(weights.min()) == 1:
            wpart = b"N"
        else:
            wpart = b"".join((_WEIGHTS_HEAD, size4, weights.astype("<f4").tobytes(), _ARRAY_TAIL))
        joined = b"".join(values)
        if kind == 0x4E:
            vpart = b"N"
        elif kind == 0x28:
            vpart = b"(" + joined + b"t"
        else:
            vpart = _bytes_item(joined)
        block = b"".join((info, DATA_MAGIC, size4, deltas.tobytes(), _ARRAY_TAIL, wpart, vpart, b"\x87."))
        return block, (new, weights, lb)


def _kept_values(b: _Block, keep: np.ndarray, kind: int, fixed: int | None) -> bytes:
    """A block's values of the postings `keep` marks."""
    if keep.all():
        return b.values
    if not keep.any():
        return b""
    if kind == 0x43:  # fixed size
        return b"".join(b.values[i * fixed : (i + 1) * fixed] for i in np.flatnonzero(keep).tolist())
    out, v, i = [], b.values, 0
    for k in keep.tolist():  # bytes items: 'C' + 1-byte length or 'B' + 4-byte length, then the bytes
        j = i + 2 + v[i + 1] if v[i] == 0x43 else i + 5 + _u32.unpack_from(v, i + 1)[0]
        if k:
            out.append(v[i:j])
        i = j
    return b"".join(out)


def _stats(parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> tuple:
    """A term's stats (as `FieldBlocks.stats` holds them) from what its blocks kept."""
    ids = np.concatenate([p[0] for p in parts])
    w = np.concatenate([p[1] for p in parts])
    lb = np.concatenate([p[2] for p in parts])
    return (float(w.astype(np.float64).sum()), len(ids), byte_to_length(int(lb.min())),
            byte_to_length(int(lb.max())), float(w.max()), int(ids[0]), int(ids[-1]))

"""Segments merged list by list, not posting by posting through Whoosh's matchers.

Whoosh's merge walks every posting of every term through Python matchers
and writes it again: on a large collection its end-of-run merge ran longer
than the indexing before it (bench/README.md).  A packed block (`packed.py`)
holds its first and last document numbers in its header and gaps after
that, so a merge copies a short list's blocks with those two numbers moved
to the documents' new numbers, and re-packs a long list into blocks of up to
`JOINED_BLOCK` postings (reading a list costs Python time a block).  A list
with a deleted document is re-packed without it.  The result goes to
`BulkWriter` as if each old segment were a chunk of new documents, with
each live document's stored fields, columns and lengths (its compressed body
copied as it is stored, not decompressed and compressed again).  Scores of a merge
without deletions do not move: the same postings, the same length bytes,
the same field totals.

Tiered: a run ends by merging, ten at a time, segments of the same size
class (live documents within a power of ten), so their number grows with
the logarithm of the collection and each document is copied once a class;
a segment with more than a third of its documents deleted is rewritten
alone.  Then the run folds its small segments into one, copying at most as
many documents as it wrote (`plan_fold`).  A round's groups share no segment: where the
indexer has worker processes they write them side by side, committed together.
"""

from __future__ import annotations

import heapq
import math
import struct
import uuid
from contextlib import contextmanager
from pathlib import Path
from bisect import bisect_left, bisect_right
from itertools import groupby
from typing import NamedTuple

import numpy as np

from whoosh.columns import CompressedBytesColumn, VarBytesColumn
from whoosh.util.numeric import byte_to_length

from vnsearch.engine.whoosh import storage
from vnsearch.engine.whoosh.bulkwriter import BulkWriter, Compressed
from vnsearch.engine.whoosh.integrity import SealedWriter, seal_segments
from vnsearch.engine.whoosh import packed
from vnsearch.engine.whoosh.codec import FieldBlocks, length_bytes, list_bytes, ordered_items, term_key
from vnsearch.engine.whoosh.schema import INVERTED_FIELDS

#: segments of one size class merged at once
MERGE_FACTOR = 10


class NotBulkWritten(Exception):
    """A segment holds posting lists the bulk writer did not write."""


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


#: a fold never writes a segment of more than this many live documents (see `plan_fold`)
FOLD_BELOW = 100_000


def plan_fold(counts: list[tuple[object, int, int, bool]], written: int, below: int = FOLD_BELOW) -> list | None:
    """The smallest segments (by live documents; `counts` as `plan_merges` takes them), taken while
    their sum stays within both the documents this run wrote (`written`) and `below`, when that
    is at least two of them; else None.

    A search pays a term look-up, a list read and a decode a segment, in Python, for every
    term (bench/README.md has what that costs).  Tiered merging leaves up to nine segments a
    size class; a fold copies small ones into one, at most as many documents as the run itself
    wrote (so its cost is a share of the run's, however small the run: a run adding ten
    documents to a large index copies at most ten), and never more than `below` (a bounded
    merge, not a rewrite of a large index)."""
    small = sorted(((live, i, seg) for i, (seg, live, _all, ok) in enumerate(counts) if ok and live < below),
                   key=lambda t: (t[0], t[1]))
    budget = min(written, below)
    taken, total = [], 0
    for live, i, seg in small:
        if total + live > budget:
            break
        total += live
        taken.append((i, seg))
    if len(taken) < 2:
        return None
    return [seg for _i, seg in sorted(taken, key=lambda t: t[0])]  # index order, as merge_segments takes them


def mergeable(reader) -> bool:
    """Whether a segment can be merged here: its lists are packed (its first `words` list says)."""
    if reader.doc_count_all() == 0:
        return False
    terms = getattr(reader, "_terms", None)
    fieldmap = getattr(terms, "_fieldmap", {})
    if "words" not in fieldmap:
        return False
    prefix = term_key(fieldmap["words"], b"")
    for key in terms._tindex.keys_from(prefix):
        if not key.startswith(prefix):
            return False
        try:
            raw = list_bytes(reader, "words", key[len(prefix):])
        except packed.DamagedList:  # inlined: not written here
            return False
        return raw is not None and raw[: len(packed.MAGIC)] == packed.MAGIC
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
    deleted = sorted(r._perdoc.deleted_docs())
    live[deleted] = False
    renumber = np.cumsum(live, dtype=np.int64) - 1
    renumber[~live] = -1
    return _Source(r, base, deleted, renumber)


class _MergeWriter(BulkWriter):
    """A bulk writer whose chunks are old segments: documents first, then each field's posting
    lists, read term by term from every segment as the field is written (a merge holds a
    window of each segment's lists, not a field of all of them)."""

    def __init__(self, ix, limitmb: int, lock: bool = True):
        if lock:
            super().__init__(ix, limitmb=limitmb)
        else:  # one of several merges written side by side, under the lock their caller holds
            with _private_temp(ix.storage):
                super().__init__(ix, limitmb=limitmb, _lk=False)
        self._sources: list[_Source] = []

    def add_segment(self, r) -> _Source:
        """Add a segment's live documents; the source its lists will be read from."""
        base = self.docnum
        src = _source(r, base)
        docs = _documents(r, src.deleted)
        if docs:  # else every document was deleted: the segment just goes
            none = {f: FieldBlocks([], [], b"", [0], (base, base)) for f in INVERTED_FIELDS}
            self.add_chunk(docs, none)
            self._sources.append(src)
        return src

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
        _fill(w, readers)
        w.commit()
    except BaseException:
        w.cancel()
        raise


def _fill(w: _MergeWriter, readers: list) -> None:
    sources = [w.add_segment(r) for r in readers]
    # the length bytes are approximate: keep the fields' totals exact, as they were, less the
    # (approximate) lengths of the documents dropped
    lengths = w.perdocwriter._fieldlengths
    for f in INVERTED_FIELDS:
        lengths[f] = sum(src.reader.field_length(f) - sum(src.reader.doc_field_length(d, f) for d in src.deleted)
                         for src in sources)


def write_merged(path: str, segment_ids: list[str], limitmb: int = 256):
    """A worker process's task: write (and seal) the merge of the named segments of the index at
    `path` as a new segment, without committing it; its Whoosh segment, for `commit_merged`.
    Its caller holds the index's write lock, and commits the merges of one round together."""
    ix = storage.open_existing(Path(path))
    reader = ix.reader()
    try:
        by_id = {seg.segment().segment_id(): seg for seg, _offset in reader.leaf_readers()}
        w = _MergeWriter(ix, limitmb, lock=False)
        try:
            _fill(w, [by_id[i] for i in segment_ids])
            segment = w._finalize_segment()
        except BaseException:
            w._close_segment()
            raise
        finally:
            w._finish()
        seal_segments(path, [segment])
        return segment
    finally:
        reader.close()


def commit_merged(ix, merged: list[list[str]], segments: list) -> None:
    """One commit replacing each group of segment ids in `merged` by the segment written for it."""
    gone = {i for group in merged for i in group}
    w = SealedWriter(ix)
    try:
        w.segments = [s for s in w.segments if s.segment_id() not in gone] + list(segments)
        w.commit(merge=False)
    except BaseException:
        w.cancel()
        raise


@contextmanager
def _private_temp(st):
    """Whoosh names every writer's scratch folder after the index ("MAIN.tmp") and removes it when
    the writer ends: merges written side by side each get their own (created while the writer is
    set up, removed with the writer)."""
    own = uuid.uuid4().hex  # the writer and its per-document writer share one, as they share "MAIN.tmp"
    st.temp_storage = lambda name=None: type(st).temp_storage(st, f"{name or 'merge'}.{own}")
    try:
        yield
    finally:
        del st.temp_storage


def _documents(r, deleted: list[int]) -> list[dict]:
    """Each live document's stored fields, columns and field lengths, as the indexer hands them over."""
    hashes = r.column_reader("hash") if r.has_column("hash") else None
    # the body, where the schema keeps it in a column (else it is among the stored fields): its
    # compressed bytes, copied as they are
    column = r.schema["body"].column_type
    bodies = raw = None
    if column is not None and r.has_column("body"):
        raw = isinstance(column, CompressedBytesColumn)
        bodies = r.column_reader("body", translate=not raw)
    gone = set(deleted)
    docs = []
    for n in range(r.doc_count_all()):
        if n in gone:
            continue
        d = dict(r.stored_fields(n))
        if hashes is not None:
            d["hash"] = hashes[n]
        if bodies is not None:
            d["body"] = Compressed(VarBytesColumn.Reader.__getitem__(bodies, n)) if raw else bodies[n]
        d["_lengths"] = {f: r.doc_field_length(n, f) for f in INVERTED_FIELDS}
        docs.append(d)
    return docs


#: a W3 term info whose postings are not inlined: flags, weight, document frequency, min and max
#: length bytes, max weight, first and last document, then the postings' offset and length
_TERM_INFO = struct.Struct("!BfIBBfIIqi")

#: bytes of a segment's posting lists read at once by a merge (lists lie side by side in term order)
WINDOW = 16 << 20


def _field_lists(src: _Source, field: str):
    """A segment's posting lists of `field` for the merged segment, in term order: (term, (stats as
    `FieldBlocks.stats` holds them, packed blocks)), with deleted documents dropped (a term left
    with none is skipped) and long lists' blocks joined."""
    terms_reader = src.reader._terms
    fieldmap = terms_reader._fieldmap
    if field not in fieldmap:
        return
    prefix = term_key(fieldmap[field], b"")
    window: list = []
    span = None
    lists = _Lists(src, field)
    for key, value in ordered_items(terms_reader._tindex, prefix):
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


#: postings a block of a merged segment holds at most: a chunk of documents (`CHUNK_DOCS`) gives each
#: of its terms a block, and reading a list costs a few µs of Python a block
JOINED_BLOCK = 16384
#: lists of at least this many postings are re-packed (decoded and packed again, each block as
#: tightly as its values allow); shorter ones have their blocks joined byte by byte where their
#: integer widths agree (re-packing each of a merge's many short lists cost more than the merge)
REPACK_FROM = 4096


class _Lists:
    """Rewrites one segment's posting lists of a field for the merged segment."""

    def __init__(self, src: _Source, field: str):
        self.src = src
        self.base = src.base
        self.raw = b""
        self._lengths = None  # the field's length bytes by old document number, read when needed
        self._field = field
        self._positional = src.reader.schema[field].format.supports("positions")

    def rewrite(self, entries: list, span: tuple[int, int]):
        """The lists of `entries` (term, term info), which lie within bytes `span` of the postings
        file, as `_field_lists` yields them."""
        lo, hi = span
        self.raw = self.src.reader._terms._postfile.get(lo, hi - lo)
        for term, (_flags, weight, df, minlen, maxlen, maxweight, minid, maxid, offset, length) in entries:
            got = self.term(offset - lo, offset - lo + length)
            if got is None:
                continue  # every posting was of a deleted document
            blob, recount = got
            yield term, (recount or (weight, df, byte_to_length(minlen), byte_to_length(maxlen), maxweight,
                                     self.moved(minid), self.moved(maxid)), blob)

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

    def _joined(self, blocks: list) -> bytes:
        """Blocks none of whose documents is deleted, with document numbers moved, each joined to the
        one before where their integer widths are the same and the gap between them fits (bytes
        copied, nothing decoded: no document between a block's first and last was deleted, so
        the gaps inside stay)."""
        raw = self.raw
        if len(blocks) == 1:  # most lists: one block, copied with its two document numbers moved
            b = blocks[0]
            return packed.HEAD.pack(packed.MAGIC, b.id_width, b.tf_width, b.pos_width, b.n, self.moved(b.first),
                                    self.moved(b.last), b.npos, b.end - b.body, b.maxtf, b.min_length,
                                    b.max_length) + raw[b.body : b.end]
        out: list = []
        run = None  # [first block, last document, postings, positions, max tf, min and max length, parts]

        def flush():
            b0, last, n, npos, maxtf, mnl, mxl, ids, tfs, pos = run
            body = b"".join((*ids, *tfs, *pos))
            out.append(packed.HEAD.pack(packed.MAGIC, b0.id_width, b0.tf_width, b0.pos_width, n, self.moved(b0.first),
                                        last, npos, len(body), maxtf, mnl, mxl))
            out.append(body)

        for b in blocks:
            idw, tfw = b.id_width, b.tf_width
            tf_at, pos_at = b.body + b.n * idw, b.body + b.n * (idw + tfw)
            last = self.moved(b.last)
            if run is not None:
                b0 = run[0]
                gap = self.moved(b.first) - run[1]
                if ((b0.id_width, b0.tf_width, b0.pos_width) == (idw, tfw, b.pos_width) and gap < 1 << 8 * idw
                        and run[2] + b.n <= JOINED_BLOCK):
                    run[1:7] = [last, run[2] + b.n, run[3] + b.npos, max(run[4], b.maxtf), min(run[5], b.min_length),
                                max(run[6], b.max_length)]
                    run[7] += [gap.to_bytes(idw, "little"), raw[b.body + idw : tf_at]]
                    run[8].append(raw[tf_at:pos_at])
                    run[9].append(raw[pos_at : b.end])
                    continue
                flush()
            run = [b, last, b.n, b.npos, b.maxtf, b.min_length, b.max_length, [raw[b.body : tf_at]], [raw[tf_at:pos_at]],
                   [raw[pos_at : b.end]]]
        flush()
        return b"".join(out)

    def term(self, start: int, end: int) -> tuple[bytes, tuple | None] | None:
        """(the packed blocks of the list in raw[start:end] for the merged segment, new term stats
        or None when they stay as they were); None when no posting is left."""
        raw = self.raw
        blocks = list(packed.blocks(raw, start, end))
        deleted = self.src.deleted
        touched = bool(deleted) and any(
            bisect_left(deleted, b.first) < bisect_right(deleted, b.last) for b in blocks)
        if not touched and sum(b.n for b in blocks) < REPACK_FROM:
            return self._joined(blocks), None
        ids, tfs, gaps = packed.unpack(raw, start, end)
        if touched:
            keep = self.src.renumber[ids] >= 0
            if not keep.any():
                return None
            if self._positional:
                gaps = gaps[np.repeat(keep, tfs)]
            ids, tfs = ids[keep], tfs[keep]
        lb = self.lengths()[ids]
        new = (self.src.renumber[ids] if self.src.renumber is not None else ids) + self.base
        if new[-1] >= 1 << 32:
            raise OverflowError("document numbers beyond 32 bits")
        blob = packed.encode(new, tfs, gaps if self._positional else None, lb, JOINED_BLOCK)
        if not touched:
            return blob, None
        return blob, (float(tfs.sum()), len(new), byte_to_length(int(lb.min())), byte_to_length(int(lb.max())),
                      float(tfs.max()), int(new[0]), int(new[-1]))

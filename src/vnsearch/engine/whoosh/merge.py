"""Segments merged by copying their posting blocks, not by re-reading every posting.

Whoosh's merge walks every posting of every term through Python matchers
and writes it again: on a large collection its end-of-run merge ran longer
than the indexing before it (bench/README.md).  Segments the bulk writer wrote hold
each term's postings as blocks whose only absolute document number is each
block's first (the rest are deltas) and its info's last.  So a merge copies
each block with those two numbers moved by the segment's new base, hands the
result to `BulkWriter` as if each old segment were a chunk of new documents,
and re-adds each document's stored fields, columns and lengths.  Scores do
not move: the same postings, the same length bytes, the same field totals.

Tiered: a run ends by merging, ten at a time, segments of the same size
class (document count within a power of ten), so their number grows with
the logarithm of the collection and each document is copied once a class.
Segments with deletions, and segments Whoosh wrote, are left to Whoosh's
merge of small segments.
"""

from __future__ import annotations

import math
import struct
from pickle import dumps

from whoosh.codec.whoosh3 import W3TermInfo
from whoosh.util.numeric import byte_to_length

from vnsearch.engine.whoosh.bulkwriter import BulkWriter
from vnsearch.engine.whoosh.codec import DATA_MAGIC, TERM_HEADER, FieldBlocks, _i32_be, _u32, term_key
from vnsearch.engine.whoosh.safepickle import loads
from vnsearch.engine.whoosh.schema import INVERTED_FIELDS

#: segments of one size class merged at once
MERGE_FACTOR = 10


class NotBulkWritten(Exception):
    """A segment holds posting lists the bulk writer did not write (a Whoosh merge's)."""


def size_class(doc_count: int) -> int:
    return int(math.log10(max(1, doc_count)))


def plan_merges(counts: list[tuple[object, int, bool]], factor: int = MERGE_FACTOR) -> list[list]:
    """Groups of `factor` segments of one size class, smallest classes first; `counts`: (segment,
    documents, mergeable) in index order.  A group's merge yields a segment of the next class,
    which may complete a group there (planned on the next call)."""
    by_class: dict[int, list] = {}
    for seg, n, ok in counts:
        if ok:
            by_class.setdefault(size_class(n), []).append(seg)
    groups = []
    for cls in sorted(by_class):
        segs = by_class[cls]
        while len(segs) >= factor:
            groups.append(segs[:factor])
            segs = segs[factor:]
    return groups


def mergeable(reader) -> bool:
    """Whether a segment can be merged by copying blocks: no deletions, written by the bulk writer
    (its first `words` posting list says which)."""
    if reader.has_deletions() or reader.doc_count_all() == 0:
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


class _MergeWriter(BulkWriter):
    """A bulk writer whose chunks are old segments: documents first, then each field's blocks
    read from every segment only when that field is written (one field's postings in memory)."""

    def __init__(self, ix, limitmb: int):
        super().__init__(ix, limitmb=limitmb)
        self._sources: list[tuple[object, int]] = []  # (segment reader, its first new docnum)

    def add_segment(self, r) -> None:
        base = self.docnum
        none = {f: FieldBlocks([], [], b"", [0], [], (base, base)) for f in INVERTED_FIELDS}
        self.add_chunk(_documents(r), none)
        self._sources.append((r, base))

    def _bulk_names(self) -> list[str]:
        return sorted(INVERTED_FIELDS)

    def _fill(self, fname: str) -> None:
        for r, base in self._sources:
            fb = _field_blocks(r, fname, base)
            part = (fb, memoryview(fb.blob))
            for i, term in enumerate(fb.terms):
                self._inverted.setdefault((fname, term), []).append((part, i))


def merge_segments(ix, readers: list, limitmb: int = 256) -> None:
    """Merge the segments of `readers` (mergeable ones, in index order) into one, in one commit."""
    w = _MergeWriter(ix, limitmb)
    try:
        merged = {r.segment().segment_id() for r in readers}
        w.segments = [s for s in w.segments if s.segment_id() not in merged]
        for r in readers:
            w.add_segment(r)
        # the length bytes are approximate: keep the fields' totals exact, as they were
        lengths = w.perdocwriter._fieldlengths
        for f in INVERTED_FIELDS:
            lengths[f] = sum(r.field_length(f) for r in readers)
        w.commit()
    except BaseException:
        w.cancel()
        raise


def _documents(r) -> list[dict]:
    """Each document's stored fields, columns and field lengths, as the indexer hands them over."""
    hashes = r.column_reader("hash") if r.has_column("hash") else None
    docs = []
    for n in range(r.doc_count_all()):
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


def _field_blocks(r, field: str, base: int) -> FieldBlocks:
    """A segment's postings of `field` as a chunk of a new segment whose first document is `base`."""
    terms_reader = r._terms
    fieldmap = terms_reader._fieldmap
    out_terms, stats, pieces, starts, lasts = [], [], [], [], []
    at = 0
    entries = []
    if field in fieldmap:
        prefix = term_key(fieldmap[field], b"")
        for key, value in terms_reader._tindex.items_from(prefix):
            if not key.startswith(prefix):
                break
            if value[0] or len(value) != _TERM_INFO.size:
                raise NotBulkWritten(f"{field}:{key[2:]!r} is inlined")
            entries.append((key[2:], _TERM_INFO.unpack(value)))
    if entries:  # a field's lists lie side by side in the postings file: read them in one go
        lo = min(e[1][8] for e in entries)
        hi = max(e[1][8] + e[1][9] for e in entries)
        region = terms_reader._postfile.get(lo, hi - lo)
        for term, (_flags, weight, df, minlen, maxlen, maxweight, minid, maxid, offset, length) in entries:
            starts.append(at)
            blocks, last = _rebased(region[offset - lo : offset - lo + length], base)
            pieces.append(blocks)
            lasts.append(at + last)
            at += len(blocks)
            out_terms.append(term)
            stats.append((weight, df, byte_to_length(minlen), byte_to_length(maxlen), maxweight,
                          minid + base, maxid + base))
    starts.append(at)
    n = r.doc_count_all()
    return FieldBlocks(out_terms, stats, b"".join(pieces), starts, lasts, (base, base + n - 1))


def _rebased(raw: bytes, base: int) -> tuple[bytes, int]:
    """A term's framed blocks (after its header) with document numbers moved up by `base`, every
    length positive (the writer marks the last); and where the last block's length field is."""
    pos = len(TERM_HEADER)
    out = []
    at = last = 0
    while True:
        size = _i32_be.unpack_from(raw, pos)[0]
        start, end = pos + 4, pos + 4 + abs(size)
        data = raw.find(DATA_MAGIC, start, end)
        if data < 0:
            raise NotBulkWritten("a posting block the bulk writer did not write")
        info = loads(raw[start:data])
        new_info = dumps((info[0], info[1] + base, *info[2:]), 2)
        ids_at = data + len(DATA_MAGIC) + 4  # after the ids' byte count
        first = _u32.unpack_from(raw, ids_at)[0] + base
        if first >= 1 << 32:
            raise OverflowError("document numbers beyond 32 bits")
        block = b"".join((new_info, raw[data:ids_at], _u32.pack(first), raw[ids_at + 4 : end]))
        last = at
        out.append(_i32_be.pack(len(block)))
        out.append(block)
        at += 4 + len(block)
        if size < 0:
            return b"".join(out), last
        pos = end

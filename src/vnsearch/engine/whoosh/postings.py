"""Whoosh's on-disk postings, field lengths and deletions as numpy arrays.

Whoosh scores one posting at a time in Python, which made a question over
35k articles cost hundreds of milliseconds (common words have posting lists
as long as the index).  A posting list is read into two arrays (document
numbers, term frequencies), after which a whole query is scored with a few
vector operations (`search/scorer.py`).  Blocks that vnsearch's indexing wrote
(`blocks.py`) are taken in place with ``np.frombuffer``; blocks Whoosh
wrote (merges, indexes from before) cost an unpickle each.

This reads whoosh-reloaded 2.7's W3 codec directly (pinned in
pyproject.toml, like `bulkwriter.py`); other matchers are read through the
generic matcher interface.  tests/search/test_scorer.py checks the arrays against
Whoosh's own matchers.
"""

from __future__ import annotations

import zlib
from collections import OrderedDict

import numpy as np
from whoosh.codec.whoosh3 import (
    LENGTHS_COLUMN,
    WHOOSH3_HEADER_MAGIC,
    W3LeafMatcher,
    _lenfield,
)
from whoosh.util.numeric import byte_to_length

from vnsearch.engine.whoosh.blocks import DATA_MAGIC, read_block
from vnsearch.engine.whoosh.safepickle import loads

_LENGTH_OF_BYTE = np.array([byte_to_length(i) for i in range(256)], dtype=np.float32)
_EMPTY = (np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.float32))


def raw_postings(segreader, field: str, btext: bytes | str):
    """A segment's matcher for a term with deleted documents included (callers mask them).

    Not `segreader.postings()`: its deletion filter has already stepped past the
    leading deleted documents, whole blocks of them, when it is handed over.
    """
    if isinstance(btext, str):
        btext = btext.encode("utf-8")
    return segreader._terms.matcher(field, btext, segreader.schema[field].format)


def read_matcher(m) -> tuple[np.ndarray, np.ndarray]:
    """(document numbers, weights) of every posting a leaf matcher holds, from its first block."""
    if isinstance(m, W3LeafMatcher):
        return _read_w3(m)
    ids, weights = [], []
    while m.is_active():
        ids.append(m.id())
        weights.append(m.weight())
        m.next()
    return np.array(ids, dtype=np.intp), np.array(weights, dtype=np.float32)


def read_all(m) -> int:
    """Load every block of a posting list whole (ids, weights and values), as a check; the posting count."""
    if not isinstance(m, W3LeafMatcher):
        n = 0
        while m.is_active():
            m.value()
            m.next()
            n += 1
        return n
    n = 0
    while True:
        m._read_ids()
        m._read_weights()
        m._read_values()
        if not len(m._ids) == len(m._weights) == len(m._values) == m._blocklength:
            raise ValueError(f"posting block at {m._dataoffset} holds {len(m._ids)} ids, says {m._blocklength}")
        n += m._blocklength
        if m._lastblock:
            return n
        m._goto(m._nextoffset)


def _read_w3(m: W3LeafMatcher) -> tuple[np.ndarray, np.ndarray]:
    if m._postfile.get(m._dataoffset, len(DATA_MAGIC)) == DATA_MAGIC:  # the first block says who wrote them
        length = m._length
        if isinstance(length, tuple):  # W3TermInfo.from_bytes stores unpack_int's 1-tuple
            length = length[0]
        fast = _read_bulk_blocks(m._postfile.get(m._startoffset, length))
        if fast is not None:
            return fast
    deltas: list[int] = []
    weights: list[float] = []
    prev = 0
    get = m._postfile.get
    while True:
        n = m._blocklength
        d, w = _ids_and_weights(get(m._dataoffset, m._nextoffset - m._dataoffset), m._compression, n)
        start = len(deltas)
        deltas.extend(d)
        deltas[start] -= prev  # each block's first id is absolute: make it a delta from the previous block
        prev = m._maxid
        if w is None:
            weights.extend([1.0] * n)
        elif isinstance(w, float):
            weights.extend([w] * n)
        else:
            weights.extend(w)
        if m._lastblock:
            break
        m._goto(m._nextoffset)
    return np.cumsum(np.array(deltas, dtype=np.intp)), np.array(weights, dtype=np.float32)


def _read_bulk_blocks(raw: bytes) -> tuple[np.ndarray, np.ndarray] | None:
    """A whole posting list whose blocks `blocks.encode` wrote: arrays read in place; else None."""
    pos = len(WHOOSH3_HEADER_MAGIC)
    ids, weights, counts = [], [], []
    while True:
        size = int.from_bytes(raw[pos : pos + 4], "big", signed=True)
        start, end = pos + 4, min(pos + 4 + abs(size), len(raw))
        at = raw.find(DATA_MAGIC, start, end)
        got = read_block(raw, at, end) if at >= 0 else None
        if got is None:
            return None  # written by Whoosh (a merge, or an index from before): the general path
        d, w = got
        ids.append(d)
        weights.append(w if w is not None else np.ones(len(d), dtype=np.float32))
        counts.append(len(d))
        if size < 0:
            break
        pos = end
    c = np.cumsum(np.concatenate(ids) if len(ids) > 1 else ids[0], dtype=np.intp)
    if len(counts) > 1:  # each block's first id is absolute, not a delta
        ends = np.cumsum(counts)
        base = np.zeros(len(counts), dtype=np.intp)
        base[1:] = c[ends[:-1] - 1]
        c -= np.repeat(base, counts)
    # a copy: a view would keep the whole posting list (positions too) alive in the cache
    w = np.concatenate(weights) if len(weights) > 1 else np.array(weights[0], dtype=np.float32)
    return c, w


# Blocks Whoosh writes: a W3 block is pickle protocol 2 of (ids, weights, values).
# Positional values are bytes, which protocol 2 writes as calls to _codecs.encode:
# unpickling them was three quarters of the cost of reading a posting list, and scoring
# never needs them.  So the pickle is cut where the values begin and closed with
# (None, TUPLE3, STOP).
_VALUE_STARTS = (b"c_codecs\nencode\n", b"c__builtin__\nbytes\n")
_CLOSE = b"N\x87."


def _ids_and_weights(raw: bytes, compression: int, n: int):
    if compression:
        dec = zlib.decompressobj()
        data = dec.decompress(raw, 2048)
        cut = _values_start(data, n)
        if cut < 0 and dec.unconsumed_tail:
            data += dec.decompress(dec.unconsumed_tail)
            cut = _values_start(data, n)
    else:
        data = raw
        cut = _values_start(data, n)
    if cut < 0:  # no bytes values (non-positional fields): the whole block is cheap
        ids, weights, _ = loads(data if not compression else zlib.decompress(raw))
        return ids, weights
    ids, weights, _ = loads(data[:cut] + _CLOSE)
    return ids, weights


def _values_start(data: bytes, n: int) -> int:
    cut = min((i for i in (data.find(v) for v in _VALUE_STARTS) if i >= 0), default=-1)
    if cut > 0 and n > 3 and data[cut - 1 : cut] == b"(":  # a tuple of more than 3 values opens with MARK
        cut -= 1
    return cut


def _segment_key(segreader) -> str | None:
    seg = segreader.segment() if hasattr(segreader, "segment") else None
    return seg.segment_id() if seg is not None else None


class PostingCache:
    """Decoded posting lists by (segment, field, term), least recently used dropped first.

    Segments never change once written (deletions are kept apart), so an
    entry stays valid until its segment is merged away.
    """

    def __init__(self, max_postings: int = 32_000_000):  # 12 bytes a posting: at most ~380 MB
        self.max_postings = max_postings
        self._items: OrderedDict[tuple, tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._size = 0

    def get(self, segreader, field: str, btext: bytes) -> tuple[np.ndarray, np.ndarray]:
        seg = _segment_key(segreader)
        key = (seg, field, btext)
        hit = self._items.get(key) if seg is not None else None
        if hit is not None:
            self._items.move_to_end(key)
            return hit
        if (field, btext) in segreader:
            hit = read_matcher(raw_postings(segreader, field, btext))
        else:  # most words are missing from most segments: remember that too
            hit = _EMPTY
        if seg is None:  # a reader with no segment (an empty index): nothing to key the entry by
            return hit
        self._items[key] = hit
        self._size += len(hit[0]) + 1  # +1: an entry costs something even when empty
        while self._size > self.max_postings and len(self._items) > 1:
            _, (ids, _w) = self._items.popitem(last=False)
            self._size -= len(ids) + 1
        return hit


class IndexView:
    """One searcher's documents as arrays: live mask, field lengths, postings by global docnum."""

    def __init__(self, searcher, cache: PostingCache):
        self.searcher = searcher
        self.reader = searcher.reader()
        self.cache = cache
        self.leaves = list(self.reader.leaf_readers())
        self.n = self.reader.doc_count_all()
        self._live: np.ndarray | None = None
        self._lengths: dict[str, np.ndarray] = {}
        self._columns: dict[str, np.ndarray] = {}

    @property
    def live(self) -> np.ndarray:
        """True for every document not deleted."""
        if self._live is None:
            live = np.ones(self.n, dtype=bool)
            for seg, offset in self.leaves:
                if seg.has_deletions():
                    dead = np.fromiter(seg.deleted_docs_set, dtype=np.int64)
                    live[dead + offset] = False
            self._live = live
        return self._live

    def postings(self, field: str, btext: bytes) -> tuple[np.ndarray, np.ndarray]:
        """(global document numbers, weights) of a term over all segments."""
        parts = []
        for seg, offset in self.leaves:
            ids, w = self.cache.get(seg, field, btext)
            if len(ids):
                parts.append((ids + offset if offset else ids, w))
        if not parts:
            return _EMPTY
        if len(parts) == 1:
            return parts[0]
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])

    def lengths(self, field: str) -> np.ndarray:
        """Each document's length in `field`, as Whoosh stores it (one byte, approximate)."""
        arr = self._lengths.get(field)
        if arr is None:
            parts = []
            for seg, _offset in self.leaves:
                parts.append(_LENGTH_OF_BYTE[_length_bytes(seg, field)])
            arr = np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)
            self._lengths[field] = arr
        return arr

    def column(self, field: str) -> np.ndarray:
        """A numeric column (such as `date`) as an int64 array."""
        arr = self._columns.get(field)
        if arr is None:
            parts = []
            for seg, _offset in self.leaves:
                if seg.has_column(field):
                    col = seg.column_reader(field, translate=False)
                    parts.append(np.fromiter((int(v or 0) for v in col), dtype=np.int64, count=seg.doc_count_all()))
                else:
                    parts.append(np.zeros(seg.doc_count_all(), dtype=np.int64))
            arr = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
            self._columns[field] = arr
        return arr


def _length_bytes(seg, field: str) -> np.ndarray:
    count = seg.doc_count_all()
    out = np.zeros(count, dtype=np.uint8)
    perdoc = seg._perdoc
    if not perdoc.has_column(_lenfield(field)):
        return out
    col = perdoc.column_reader(_lenfield(field), LENGTHS_COLUMN)
    raw = col._dbfile.get(col._basepos, col._count)
    got = np.frombuffer(raw, dtype=np.uint8)
    out[: len(got)] = got[:count]
    return out

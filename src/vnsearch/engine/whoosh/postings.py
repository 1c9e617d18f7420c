"""Posting lists, field lengths, deletions and columns as numpy arrays, cached.

Whoosh scores one posting at a time in Python, which made a question over
35k articles cost hundreds of milliseconds (common words have posting lists
as long as the index).  A posting list is read into two arrays (document
numbers, term frequencies) by `codec.read_postings`, after which a whole
query is scored with a few vector operations (`search/scorer.py`).
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

from vnsearch.engine.whoosh import packed
from vnsearch.engine.whoosh.codec import LENGTH_OF_BYTE, length_bytes, find_term_info, list_bytes, read_postings
from vnsearch.engine.whoosh.schema import INVERTED_FIELDS

_EMPTY = (np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.float32))


def _segment_key(segreader) -> str | None:
    seg = segreader.segment() if hasattr(segreader, "segment") else None
    return seg.segment_id() if seg is not None else None


class PostingCache:
    """Decoded posting lists by (segment, field, term), least recently used dropped first.

    Segments never change once written (deletions are kept apart), so an
    entry stays valid until its segment is merged away.
    """

    ENTRY_BYTES = 200  # what an entry costs beyond its arrays (key, tuple, array headers)

    def __init__(self, max_bytes: int = 256 << 20):
        self.max_bytes = max_bytes
        self._items: OrderedDict[tuple, tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._size = 0  # bytes held
        # terms' infos in each segment (None: not in it), looked up once for their document frequency
        # and again to read their lists; positions in a segment's files, valid while it exists
        self._infos: dict[tuple, object | None] = {}

    INFOS = 100_000  # ~25 MB at most, besides the budget; the table starts over when full

    def info(self, segreader, field: str, btext: bytes, seg: str | None = None):
        """The term's `codec.find_term_info` in the segment, remembered (`seg`: the segment's key)."""
        if seg is None:
            seg = _segment_key(segreader)
        key = (seg, field, btext)
        try:
            return self._infos[key]
        except KeyError:
            pass
        ti = find_term_info(segreader, field, btext)
        if seg is not None:
            if len(self._infos) >= self.INFOS:
                self._infos.clear()
            self._infos[key] = ti
        return ti

    def doc_frequency(self, segreader, field: str, btext: bytes) -> int:
        """How many documents of the segment (deleted ones included) hold the term: the decoded
        list's length when cached, else the term dictionary's count."""
        seg = _segment_key(segreader)
        hit = self._items.get((seg, field, btext))
        if hit is not None:
            return len(hit[0])
        ti = self.info(segreader, field, btext, seg)
        return 0 if ti is None else ti.doc_frequency()

    def get(self, segreader, field: str, btext: bytes, seg: str | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The segment's decoded list (`seg`: its key, when the caller knows it already)."""
        if seg is None:
            seg = _segment_key(segreader)
        key = (seg, field, btext)
        hit = self._items.get(key) if seg is not None else None
        if hit is not None:
            self._items.move_to_end(key)
            return hit
        hit = read_postings(segreader, field, btext, self.info(segreader, field, btext, seg))
        if hit is None:  # most words are missing from most segments: remember that too
            hit = _EMPTY
        if seg is None:  # a reader with no segment (an empty index): nothing to key the entry by
            return hit
        self._put(key, hit)
        return hit

    def joined(self, keyed: list, field: str, btext: bytes, segments: str | None) -> tuple[np.ndarray, np.ndarray]:
        """The term's lists in the segments `keyed` ((reader, first document number, key) each) as
        one list over global document numbers, cached whole under `segments` (their keys joined).
        A search looks a common word up several times (seed, threshold, each weak item): joining
        its segments' lists once, not at every look-up, is what an index of many segments costs
        beyond one of a single segment."""
        key = (segments, field, btext)
        hit = self._items.get(key) if segments is not None else None
        if hit is not None:
            self._items.move_to_end(key)
            return hit
        if field in INVERTED_FIELDS:  # vnsearch's own lists: decoded together
            raws = []
            for seg, offset, segkey in keyed:
                raw = list_bytes(seg, field, btext, self.info(seg, field, btext, segkey))
                if raw:
                    raws.append((raw, offset))
            hit = packed.decode_lists(raws) if raws else _EMPTY
        else:
            parts = []
            for seg, offset, segkey in keyed:
                got = read_postings(seg, field, btext, self.info(seg, field, btext, segkey))
                if got is not None and len(got[0]):
                    parts.append((got[0] + offset if offset else got[0], got[1]))
            hit = (_EMPTY if not parts else parts[0] if len(parts) == 1 else
                   (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])))
        if segments is not None:
            self._put(key, hit)
        return hit

    def _put(self, key: tuple, hit: tuple[np.ndarray, np.ndarray]) -> None:
        self._items[key] = hit
        self._size += _bytes(hit)
        while self._size > self.max_bytes and len(self._items) > 1:
            _, old = self._items.popitem(last=False)
            self._size -= _bytes(old)


def _bytes(entry: tuple[np.ndarray, np.ndarray]) -> int:
    return entry[0].nbytes + entry[1].nbytes + PostingCache.ENTRY_BYTES


class IndexView:
    """One searcher's documents as arrays: live mask, field lengths, postings by global docnum."""

    def __init__(self, searcher, cache: PostingCache):
        self.searcher = searcher
        self.reader = searcher.reader()
        self.cache = cache
        self.leaves = list(self.reader.leaf_readers())
        self._keyed = [(seg, offset, _segment_key(seg)) for seg, offset in self.leaves]
        keys = [key for _seg, _offset, key in self._keyed]
        #: the segments this commit is made of (what its joined lists are cached under)
        self.segments: str = " ".join(key for key in keys if key)
        self._joined_key = None if None in keys else self.segments  # None: a segment has no key, no caching
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
        if len(self._keyed) == 1:
            seg, _offset, key = self._keyed[0]
            return self.cache.get(seg, field, btext, key)
        if not self._keyed:
            return _EMPTY
        return self.cache.joined(self._keyed, field, btext, self._joined_key)

    def doc_frequency(self, field: str, btext: bytes) -> int:
        return sum(self.cache.doc_frequency(seg, field, btext) for seg, _offset in self.leaves)

    def lengths(self, field: str) -> np.ndarray:
        """Each document's length in `field`, as Whoosh stores it (one byte, approximate)."""
        arr = self._lengths.get(field)
        if arr is None:
            parts = []
            for seg, _offset in self.leaves:
                parts.append(LENGTH_OF_BYTE[length_bytes(seg, field)])
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

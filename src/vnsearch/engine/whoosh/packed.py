"""vnsearch's own posting lists: document numbers, frequencies and positions as packed integers.

Whoosh's W3 blocks interleave each posting's document number, weight and
pickled positions, so reading a common word's numbers also reads (maps,
checksums) its positions, every block costs Python to frame, and a
positional posting took ~20 bytes.  Here a term's list in one segment (the
extent its term info names in the postings file) is one or more blocks, each
a fixed header and three runs of little-endian unsigned integers of one
width each (1, 2 or 4 bytes, the least that holds the block's largest)::

    HEAD: b"VP", id width, frequency width (0: every frequency is 1),
          position width (0: no positions), postings, first and last
          document, positions, body bytes, largest frequency, smallest and
          largest length byte of the block's documents
    document number gaps (the first 0: the header holds the first number)
    frequencies
    positions, each posting's first absolute, the rest gaps

so a list decodes with a `numpy.frombuffer` and a `cumsum` a block, a
block a search does not need is skipped by its header alone, and
positions are read only for the documents a phrase asks for.  The largest
frequency and the length bytes bound the block's BM25 scores (for pruning).

Everything here works on arrays and bytes: the writers (`codec.encode`,
`merge`) and readers (`codec.read_postings`, `codec.read_positions`) call it.
"""

from __future__ import annotations

from struct import Struct
from typing import NamedTuple

import numpy as np

MAGIC = b"VP"
#: magic, id / frequency / position widths, postings, first, last, positions, body bytes, largest
#: frequency, smallest and largest length byte
HEAD = Struct("<2sBBBxIIIIIIBBxx")
_DTYPES = {1: np.dtype("<u1"), 2: np.dtype("<u2"), 4: np.dtype("<u4")}


class DamagedList(ValueError):
    """A posting list whose bytes do not read as this format."""


def width(largest: int) -> int:
    """Bytes a value up to `largest` needs: 1, 2 or 4."""
    return 1 if largest < 1 << 8 else 2 if largest < 1 << 16 else 4


class Block(NamedTuple):
    n: int
    first: int
    last: int
    npos: int
    id_width: int
    tf_width: int
    pos_width: int
    maxtf: int
    min_length: int  # length bytes (whoosh.util.numeric.length_to_byte)
    max_length: int
    body: int  # offset of the body in the buffer read
    end: int  # offset just past the block


def blocks(raw, start: int = 0, end: int | None = None):
    """The blocks of a list lying in raw[start:end]."""
    end = len(raw) if end is None else end
    pos = start
    while pos < end:
        if end - pos < HEAD.size:
            raise DamagedList(f"a posting block cut short at byte {pos}")
        magic, idw, tfw, posw, n, first, last, npos, size, maxtf, mnl, mxl = HEAD.unpack_from(raw, pos)
        body = pos + HEAD.size
        if (magic != MAGIC or idw not in _DTYPES or (tfw and tfw not in _DTYPES) or (posw and posw not in _DTYPES)
                or n == 0 or size != n * idw + n * tfw + npos * posw or body + size > end or last < first):
            raise DamagedList(f"damaged posting block at byte {pos}")
        yield Block(n, first, last, npos, idw, tfw, posw, maxtf, mnl, mxl, body, body + size)
        pos = body + size


def _ids(raw, b: Block) -> np.ndarray:
    ids = np.cumsum(np.frombuffer(raw, _DTYPES[b.id_width], b.n, b.body), dtype=np.int64)
    ids += b.first
    return ids


def _tfs(raw, b: Block) -> np.ndarray:
    if not b.tf_width:
        return np.ones(b.n, dtype=np.int64)
    return np.frombuffer(raw, _DTYPES[b.tf_width], b.n, b.body + b.n * b.id_width).astype(np.int64)


def _gaps(raw, b: Block) -> np.ndarray:
    return np.frombuffer(raw, _DTYPES[b.pos_width], b.npos, b.body + b.n * (b.id_width + b.tf_width))


def decode(raw, start: int = 0, end: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(document numbers as intp, frequencies as float32) of the list in raw[start:end]."""
    heads = list(blocks(raw, start, end))
    if not heads:
        return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.float32)
    if len(heads) == 1:
        b = heads[0]
        return _ids(raw, b).astype(np.intp, copy=False), _tfs(raw, b).astype(np.float32)
    return _joined([raw] * len(heads), heads, [0] * len(heads), False)[:2]


def decode_lists(parts: list[tuple[bytes, int]]) -> tuple[np.ndarray, np.ndarray]:
    """(document numbers, frequencies) of several lists as one, each list's numbers raised by its
    base (`parts`: (list bytes, base), bases ascending, as `decode` of each then concatenated):
    one segment's lists after another's, decoded with one set of array operations, not one each."""
    raws, heads, bases = [], [], []
    for raw, base in parts:
        for b in blocks(raw):
            raws.append(raw)
            heads.append(b)
            bases.append(base)
    if not heads:
        return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.float32)
    return _joined(raws, heads, bases, False)[:2]


def _joined(raws: list, heads: list[Block], bases: list[int], with_gaps: bool):
    """(ids, frequencies, position gaps or None) of several blocks (block i in raws[i], its numbers
    raised by bases[i]): each run read in place, then one concatenation and one cumulative sum for
    all (Python time is per block, not per posting)."""
    counts = [b.n for b in heads]
    gaps = np.concatenate([np.frombuffer(raw, _DTYPES[b.id_width], b.n, b.body) for raw, b in zip(raws, heads)])
    ids = np.cumsum(gaps, dtype=np.int64)
    starts = np.cumsum(counts) - counts
    # each block's first gap is 0: move its run to start at its header's first document
    firsts = np.array([b.first + base for b, base in zip(heads, bases)], dtype=np.int64)
    ids += np.repeat(firsts - ids[starts], counts)
    tfs = np.concatenate([np.frombuffer(raw, _DTYPES[b.tf_width], b.n, b.body + b.n * b.id_width) if b.tf_width
                          else _ONES[: b.n] if b.n <= len(_ONES) else np.ones(b.n, dtype=np.uint8)
                          for raw, b in zip(raws, heads)])
    pos = None
    if with_gaps:
        pos = np.concatenate([_gaps(raw, b) for raw, b in zip(raws, heads) if b.pos_width]
                             or [np.zeros(0, dtype=np.uint8)])
    return ids.astype(np.intp, copy=False), tfs.astype(np.float32), pos


_ONES = np.ones(1 << 16, dtype=np.uint8)


def unpack(raw, start: int = 0, end: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """(document numbers, frequencies as int64, gap-coded positions or None) of a list, unchecked
    (for a merge: `decode_all` checks)."""
    heads = list(blocks(raw, start, end))
    ids, tfs, pos = _joined([raw] * len(heads), heads, [0] * len(heads), any(b.pos_width for b in heads))
    return ids.astype(np.int64, copy=False), tfs.astype(np.int64), (None if pos is None else pos.astype(np.int64))


def decode_all(raw, start: int = 0, end: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(document numbers, frequencies, gap-coded positions: each posting's first absolute; empty
    when the list has none) of the list, every value checked against its header."""
    ids, tfs, gaps = [], [], []
    for b in blocks(raw, start, end):
        i, t = _ids(raw, b), _tfs(raw, b)
        if i[-1] != b.last or (len(i) > 1 and (np.diff(i) <= 0).any()):
            raise DamagedList(f"posting block at byte {b.body - HEAD.size}: document numbers out of order")
        if int(t.max()) != b.maxtf or (b.pos_width and int(t.sum()) != b.npos) or (not b.pos_width and b.npos):
            raise DamagedList(f"posting block at byte {b.body - HEAD.size}: frequencies disagree with its header")
        ids.append(i)
        tfs.append(t)
        gaps.append(_gaps(raw, b).astype(np.int64) if b.pos_width else np.zeros(0, dtype=np.int64))
    if not ids:
        e = np.zeros(0, dtype=np.int64)
        return e, e, e
    return np.concatenate(ids), np.concatenate(tfs), np.concatenate(gaps)


def positions(raw, docs: np.ndarray, start: int = 0, end: int | None = None) -> list[np.ndarray]:
    """Positions of the term in each of `docs` (ascending; empty where absent): blocks whose range
    holds none of them are skipped by their header."""
    empty = np.zeros(0, dtype=np.int64)
    out = [empty] * len(docs)
    if not len(docs):
        return out
    for b in blocks(raw, start, end):
        lo, hi = np.searchsorted(docs, [b.first, b.last + 1])
        if lo == hi or not b.pos_width:
            continue
        ids, tfs = _ids(raw, b), _tfs(raw, b)
        want = docs[lo:hi]
        at = np.minimum(np.searchsorted(ids, want), len(ids) - 1)
        found = ids[at] == want
        if not found.any():
            continue
        gaps = _gaps(raw, b)
        offsets = np.cumsum(tfs) - tfs
        for j, i in zip((np.flatnonzero(found) + lo).tolist(), at[found].tolist()):
            o = int(offsets[i])
            out[j] = np.cumsum(gaps[o : o + int(tfs[i])], dtype=np.int64)
    return out


def encode(ids: np.ndarray, tfs: np.ndarray, gaps: np.ndarray | None, length_bytes: np.ndarray,
           limit: int) -> bytes:
    """Blocks of at most `limit` postings for one term's list: `ids` ascending absolute document
    numbers, `tfs` their frequencies, `gaps` their gap-coded positions (None: no positions),
    `length_bytes` the field's length byte of each posting's document."""
    out = []
    n = len(ids)
    tok = np.cumsum(tfs) if gaps is not None else None
    for a in range(0, n, limit):
        b = min(n, a + limit)
        i, t, lb = ids[a:b], tfs[a:b], length_bytes[a:b]
        d = np.empty(len(i), dtype=np.int64)
        d[0] = 0
        np.subtract(i[1:], i[:-1], out=d[1:])
        idw = width(int(d.max()))
        maxtf = int(t.max())
        tfw = 0 if maxtf == 1 and int(t.min()) == 1 else width(maxtf)
        parts = [d.astype(_DTYPES[idw]).tobytes()]
        if tfw:
            parts.append(t.astype(_DTYPES[tfw]).tobytes())
        npos = posw = 0
        if gaps is not None:
            p0 = int(tok[a - 1]) if a else 0
            g = gaps[p0 : int(tok[b - 1])]
            npos, posw = len(g), width(int(g.max()))
            parts.append(g.astype(_DTYPES[posw]).tobytes())
        body = b"".join(parts)
        out.append(HEAD.pack(MAGIC, idw, tfw, posw, len(i), int(i[0]), int(i[-1]), npos, len(body), maxtf,
                             int(lb.min()), int(lb.max())))
        out.append(body)
    return b"".join(out)


def encode_chunk(term: np.ndarray, ids: np.ndarray, freq: np.ndarray, gaps: np.ndarray | None,
                 length_bytes: np.ndarray) -> tuple[bytes, np.ndarray]:
    """One block per term of a chunk's postings, all at once: `term`, `ids` (absolute), `freq` and
    `length_bytes` per posting in (term, document) order, `gaps` per token (None: no positions).
    Returns the blob and each term's offset in it (one more than the terms: the end).  One
    width per run for the whole chunk (a merge packs each block as tightly as it can)."""
    P = len(term)
    tnew = np.empty(P, dtype=bool)
    tnew[0] = True
    np.not_equal(term[1:], term[:-1], out=tnew[1:])
    tfirst = np.flatnonzero(tnew)
    T = len(tfirst)
    df = np.diff(tfirst, append=P)
    d = np.empty(P, dtype=np.int64)
    d[0] = 0
    np.subtract(ids[1:], ids[:-1], out=d[1:])
    d[tfirst] = 0
    idw = width(int(d.max()))
    maxtf = np.maximum.reduceat(freq, tfirst)
    all_ones = int(freq.max()) == 1
    tfw = 0 if all_ones else width(int(freq.max()))
    if gaps is not None:
        posw = width(int(gaps.max())) if len(gaps) else 1
        npos = np.add.reduceat(freq, tfirst)
    else:
        posw, npos = 0, np.zeros(T, dtype=np.int64)
    size = df * (idw + tfw) + npos * posw  # each block's body
    total = HEAD.size + size
    starts = np.zeros(T + 1, dtype=np.int64)
    np.cumsum(total, out=starts[1:])
    out = np.zeros(int(starts[-1]), dtype=np.uint8)

    head = np.zeros(T, dtype=_HEAD_DTYPE)
    head["magic"] = MAGIC
    head["idw"], head["tfw"], head["posw"] = idw, tfw, posw
    head["n"], head["first"], head["last"] = df, ids[tfirst], ids[tfirst + df - 1]
    head["npos"], head["size"], head["maxtf"] = npos, size, maxtf
    head["minl"] = np.minimum.reduceat(length_bytes, tfirst)
    head["maxl"] = np.maximum.reduceat(length_bytes, tfirst)
    out[(starts[:-1, None] + np.arange(HEAD.size)).ravel()] = head.view(np.uint8)

    body = starts[:-1] + HEAD.size
    rank = np.arange(P) - np.repeat(tfirst, df)
    _place(out, np.repeat(body, df) + rank * idw, d, idw)
    if tfw:
        _place(out, np.repeat(body + df * idw, df) + rank * tfw, freq, tfw)
    if gaps is not None and len(gaps):
        ptfirst = np.cumsum(npos) - npos  # each term's first token
        prank = np.arange(len(gaps)) - np.repeat(ptfirst, npos)
        _place(out, np.repeat(body + df * (idw + tfw), npos) + prank * posw, gaps, posw)
    return out.tobytes(), starts


_HEAD_DTYPE = np.dtype([("magic", "S2"), ("idw", "u1"), ("tfw", "u1"), ("posw", "u1"), ("pad", "u1"),
                        ("n", "<u4"), ("first", "<u4"), ("last", "<u4"), ("npos", "<u4"), ("size", "<u4"),
                        ("maxtf", "<u4"), ("minl", "u1"), ("maxl", "u1"), ("pad2", "u2")])
assert _HEAD_DTYPE.itemsize == HEAD.size


def _place(out: np.ndarray, dest: np.ndarray, values: np.ndarray, w: int) -> None:
    """Write `values` as `w`-byte little-endian integers at byte offsets `dest` of `out`."""
    raw = values.astype(_DTYPES[w]).view(np.uint8).reshape(-1, w)
    for k in range(w):
        out[dest + k] = raw[:, k]

"""A chunk of documents' postings as Whoosh W3 blocks, built with array operations.

Indexing spent most of its time in Python per posting: grouping positions,
pickling each position list, pickling each block (protocol 2 writes every
bytes value as a call to ``_codecs.encode``).  Here a chunk's term stream is
inverted with one stable sort, and every posting value and block is written
into byte buffers by numpy; Python runs once per block, not per posting.

The blocks are ordinary W3 blocks that Whoosh reads with ``pickle.loads``,
but their data pickle is laid out so that a reader needs no unpickling at
all (see `read_block`)::

    PROTO 3
    array._array_reconstructor(array, 'I', <uint32 LE>, <ids, delta-coded>)
    None | array._array_reconstructor(array, 'f', <float32 LE>, <weights>)
    (<value>, ...) | <fixed-size values as one bytes> | None
    TUPLE3 STOP

Blocks are not compressed: ids and weights are 4 bytes each, and position
lists are small opcodes (``](K\\x05K\\x02e.``), so they are about as small as
zlib made the protocol-2 pickles, and reading them costs nothing.
"""

from __future__ import annotations

from collections import defaultdict
from itertools import chain
from pickle import UnpicklingError, dumps
from struct import Struct
from typing import NamedTuple

import numpy as np
from whoosh.util.numeric import length_to_byte

# Whoosh writes 128 postings a block; its readers take any count.  A block costs a
# few µs of Python to read whatever its size, and a chunk holds at most 1,000
# documents, so each term gets one block per chunk.
BLOCK_LIMIT = 1024

_u32 = Struct("<I")
_i32_be = Struct("!i")


def _array_head(typecode: str, mformat: int) -> bytes:
    # GLOBAL array._array_reconstructor, MARK, GLOBAL array.array, 'typecode', mformat, BINBYTES ...
    return (b"carray\n_array_reconstructor\n(carray\narray\nX\x01\x00\x00\x00"
            + typecode.encode() + b"K" + bytes([mformat]) + b"B")


_IDS_HEAD = b"\x80\x03" + _array_head("I", 6)  # 6: unsigned 32-bit little-endian
_WEIGHTS_HEAD = _array_head("f", 14)  # 14: IEEE 754 float32 little-endian
_ARRAY_TAIL = b"tR"  # TUPLE, REDUCE
#: how a block written here begins; nothing Whoosh writes begins so
DATA_MAGIC = _IDS_HEAD


class Inverted(NamedTuple):
    """One field's postings in (term, document) order; positions per token, in the same order."""

    terms: list[str]  # term i's text
    term: np.ndarray  # per posting: index into `terms`
    doc: np.ndarray  # per posting: document index within the chunk
    freq: np.ndarray  # per posting: occurrences
    deltas: np.ndarray  # per token: position minus the previous position in its posting (first: position)


class FieldBlocks(NamedTuple):
    """One field's encoded postings for a chunk: term i's framed blocks are blob[starts[i]:starts[i + 1]]."""

    terms: list[bytes]
    stats: list[tuple]  # (weight sum, doc frequency, min length, max length, max weight, first id, last id)
    blob: bytes
    starts: list[int]  # len(terms) + 1 offsets
    lasts: list[int]  # offset of each term's last block length (negated by the writer for the last chunk)
    docnums: tuple[int, int]  # lowest and highest document number the postings name


def invert(streams: list[list[str]]) -> Inverted:
    """Each document's term stream -> postings, by one stable sort of the chunk's tokens."""
    lens = np.fromiter(map(len, streams), dtype=np.int64, count=len(streams))
    total = int(lens.sum())
    vocab: defaultdict[str, int] = defaultdict()
    vocab.default_factory = vocab.__len__  # a new term gets the next number
    if not total:
        e = np.zeros(0, dtype=np.int64)
        return Inverted([], e, e, e, e)
    tid = np.fromiter(map(vocab.__getitem__, chain.from_iterable(streams)), dtype=np.int64, count=total)
    doc = np.repeat(np.arange(len(streams)), lens)
    pos = np.arange(total) - np.repeat(np.cumsum(lens) - lens, lens)
    order = np.argsort(tid, kind="stable")  # keeps document and position order within a term
    t, d, p = tid[order], doc[order], pos[order]
    new = np.empty(total, dtype=bool)
    new[0] = True
    np.not_equal(t[1:], t[:-1], out=new[1:])
    new[1:] |= d[1:] != d[:-1]
    first = np.flatnonzero(new)
    deltas = np.empty_like(p)
    deltas[0] = p[0]
    np.subtract(p[1:], p[:-1], out=deltas[1:])
    deltas[new] = p[new]
    return Inverted(list(vocab), t[first], d[first], np.diff(first, append=total), deltas)


def _position_values(freq: np.ndarray, deltas: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every posting's value as a pickled bytes item: (buffer, item offsets, item lengths).

    A value is what Whoosh's Positions format stores, pack_uint(freq) + a
    pickled list of position deltas; pickled as SHORT_BINBYTES or BINBYTES.
    """
    K = deltas < 256
    M = ~K & (deltas < 65536)
    J = ~K & ~M
    tlen = np.where(K, 2, np.where(M, 3, 5))
    pstart = np.cumsum(freq) - freq  # each posting's first token
    vlen = 8 + np.add.reduceat(tlen, pstart)  # freq (4), ']', '(', tokens, 'e', '.'
    short = vlen <= 255
    wlen = np.where(short, 2, 5)
    ilen = wlen + vlen
    iofs = np.cumsum(ilen) - ilen
    buf = np.zeros(int(ilen.sum()), dtype=np.uint8)
    buf[iofs[short]] = ord("C")
    buf[iofs[short] + 1] = vlen[short]
    lo = iofs[~short]
    buf[lo] = ord("B")
    for k in range(4):
        buf[lo + 1 + k] = (vlen[~short] >> (8 * k)) & 255
    vs = iofs + wlen
    for k in range(4):
        buf[vs + k] = (freq >> (24 - 8 * k)) & 255  # pack_uint: big-endian
    buf[vs + 4] = ord("]")
    buf[vs + 5] = ord("(")
    cs = np.cumsum(tlen) - tlen
    toff = np.repeat(vs + 6 - cs[pstart], freq) + cs
    buf[toff[K]] = ord("K")
    buf[toff[K] + 1] = deltas[K]
    buf[toff[M]] = ord("M")
    buf[toff[M] + 1] = deltas[M] & 255
    buf[toff[M] + 2] = deltas[M] >> 8
    buf[toff[J]] = ord("J")
    for k in range(4):
        buf[toff[J] + 1 + k] = (deltas[J] >> (8 * k)) & 255
    ve = vs + vlen
    buf[ve - 2] = ord("e")
    buf[ve - 1] = ord(".")
    return buf, iofs, ilen


def _bytes_item(b: bytes) -> bytes:
    return (b"C" + bytes([len(b)]) if len(b) < 256 else b"B" + _u32.pack(len(b))) + b


def encode(inv: Inverted, base: int, doc_lengths: np.ndarray, fixed_size: int | None, boost: float = 1.0,
           block_limit: int = BLOCK_LIMIT) -> FieldBlocks:
    """W3 blocks of each term of an inverted field; document i of the chunk is docnum base + i.

    `fixed_size` is the field format's fixed value size: None for
    positions, 4 for frequencies, 0 for existence.
    """
    P = len(inv.term)
    if not P:
        return FieldBlocks([], [], b"", [0], [], (base, base - 1))
    freq = inv.freq
    ids = inv.doc + base
    lengths = doc_lengths[inv.doc]
    tnew = np.empty(P, dtype=bool)
    tnew[0] = True
    np.not_equal(inv.term[1:], inv.term[:-1], out=tnew[1:])
    tfirst = np.flatnonzero(tnew)
    df = np.diff(tfirst, append=P)
    rank = np.arange(P) - np.repeat(tfirst, df)
    bnew = rank % block_limit == 0
    bfirst = np.flatnonzero(bnew)
    bcount = np.diff(bfirst, append=P)
    blast = bfirst + bcount - 1

    deltas = np.empty(P, dtype=np.int64)  # [0] is a block start, set below
    np.subtract(ids[1:], ids[:-1], out=deltas[1:])
    deltas[bnew] = ids[bnew]
    ids_raw = deltas.astype("<u4").tobytes()
    weights = freq.astype(np.float32) * np.float32(boost)
    w_raw = weights.astype("<f4").tobytes()
    bmaxw = np.maximum.reduceat(weights, bfirst)
    bunit = (bmaxw == 1) & (np.minimum.reduceat(weights, bfirst) == 1)
    lb = np.array([length_to_byte(int(n)) for n in doc_lengths], dtype=np.int64)[inv.doc]
    bminl = np.minimum.reduceat(lb, bfirst)
    bmaxl = np.maximum.reduceat(lb, bfirst)

    if fixed_size is None or fixed_size < 0:
        vbuf, iofs, ilen = _position_values(freq, inv.deltas)
        vraw = vbuf.tobytes()
        vstart = iofs[bfirst].tolist()
        vend = (iofs[blast] + ilen[blast]).tolist()
    elif fixed_size == 4:
        vraw = freq.astype(">u4").tobytes()
        vstart = (bfirst * 4).tolist()
        vend = ((blast + 1) * 4).tolist()
    elif fixed_size == 0:
        vraw = None
    else:
        raise TypeError(f"no block encoding for values of {fixed_size} bytes")

    pieces: list[bytes] = []
    add = pieces.append
    starts: list[int] = []
    lasts: list[int] = []
    at = 0
    is_first = tnew[bfirst].tolist()
    for b, (j, n, last_id, maxw, unit, mnl, mxl) in enumerate(zip(
            bfirst.tolist(), bcount.tolist(), ids[blast].tolist(), bmaxw.tolist(), bunit.tolist(),
            bminl.tolist(), bmaxl.tolist())):
        if is_first[b]:
            starts.append(at)
            lasts.append(at)
        else:
            lasts[-1] = at
        info = dumps((n, last_id, maxw, 0, mnl, mxl), 2)
        size4 = _u32.pack(4 * n)
        if unit:
            wpart = b"N"
        else:
            wpart = b"".join((_WEIGHTS_HEAD, size4, w_raw[4 * j : 4 * (j + n)], _ARRAY_TAIL))
        if vraw is None:
            vpart = b"N"
        elif fixed_size is None or fixed_size < 0:
            vpart = b"(" + vraw[vstart[b] : vend[b]] + b"t"
        else:
            vpart = _bytes_item(vraw[vstart[b] : vend[b]])
        block = b"".join((info, _IDS_HEAD, size4, ids_raw[4 * j : 4 * (j + n)], _ARRAY_TAIL, wpart, vpart, b"\x87."))
        add(_i32_be.pack(len(block)))
        add(block)
        at += 4 + len(block)
    starts.append(at)

    wsum = np.add.reduceat(weights.astype(np.float64), tfirst).tolist()
    tlast = tfirst + df - 1
    stats = list(zip(
        wsum, df.tolist(), np.minimum.reduceat(lengths, tfirst).tolist(), np.maximum.reduceat(lengths, tfirst).tolist(),
        np.maximum.reduceat(weights, tfirst).tolist(), ids[tfirst].tolist(), ids[tlast].tolist(),
    ))
    terms = [inv.terms[i].encode("utf-8") for i in inv.term[tfirst].tolist()]
    return FieldBlocks(terms, stats, b"".join(pieces), starts, lasts, (int(ids.min()), int(ids.max())))


def read_block(data, offset: int, end: int):
    """(id deltas, weights or None) of a block written here whose data starts at `offset`; else None.

    A block cut short raises pickle.UnpicklingError, as Whoosh's own reading of it would.
    """
    if data[offset : offset + len(DATA_MAGIC)] != DATA_MAGIC:
        return None
    o = offset + len(DATA_MAGIC)
    n = _u32.unpack_from(data, o)[0] // 4 if o + 4 <= end else -1
    if n < 0 or o + 4 + 4 * n + len(_ARRAY_TAIL) >= end:
        raise UnpicklingError(f"posting block at {offset} ends inside its ids")
    ids = np.frombuffer(data, dtype="<u4", count=n, offset=o + 4)
    o += 4 + 4 * n + len(_ARRAY_TAIL)
    if data[o] == 0x4E:  # 'N': every weight is 1
        return ids, None
    o += len(_WEIGHTS_HEAD) + 4
    if o + 4 * n > end:
        raise UnpicklingError(f"posting block at {offset} ends inside its weights")
    return ids, np.frombuffer(data, dtype="<f4", count=n, offset=o)

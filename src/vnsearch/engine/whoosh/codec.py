"""Everything that knows whoosh-reloaded 2.7's W3 format (pinned in pyproject.toml).

Writing: a chunk of documents' postings as W3 blocks built with array
operations (`invert`, `encode`, `encode_postings`), and the term info that
points at a term's blocks (`term_info`).  Reading: posting lists as arrays
straight from the blocks (`read_matcher`, `read_block`), a whole posting
list checked (`read_all`), field lengths (`length_bytes`), a field's
vocabulary from the term index (`word_frequencies`).

tests/engine/whoosh/ checks that what is written here reads back through
Whoosh exactly as Whoosh's own writer's, and that what is read here equals
what Whoosh's matchers give.

Building blocks:

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

import io
import struct
import zlib
from collections import defaultdict
from itertools import chain
from pickle import UnpicklingError, dumps
from struct import Struct
from typing import NamedTuple

import numpy as np
from whoosh.reading import TermNotFound
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, WHOOSH3_HEADER_MAGIC, W3LeafMatcher, W3TermInfo, _lenfield
from whoosh.system import pack_int, pack_ushort
from whoosh.util.numeric import byte_to_length, length_to_byte

from vnsearch.engine.whoosh.safepickle import IndexUnpickler, loads

LENGTH_OF_BYTE = np.array([byte_to_length(i) for i in range(256)], dtype=np.float32)
TERM_HEADER = WHOOSH3_HEADER_MAGIC  # what a term's posting list starts with

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


_formats: dict | None = None


def encode_postings(streams: dict[str, list[list[str]]], base: int) -> dict[str, FieldBlocks]:
    """Each inverted field's term streams (one list of terms a document, in order) as W3 blocks;
    the chunk's first document is docnum `base`.  Runs in worker processes."""
    global _formats
    if _formats is None:
        from vnsearch.engine.whoosh.schema import INVERTED_FIELDS, build_schema

        schema = build_schema()
        _formats = {n: schema[n].format for n in INVERTED_FIELDS}
    out = {}
    for fname, fmt in _formats.items():
        s = streams[fname]
        doc_lengths = np.fromiter(map(len, s), dtype=np.int64, count=len(s))
        out[fname] = encode(invert(s), base, doc_lengths, fmt.fixed_value_size(), fmt.field_boost)
    return out


# -- the term index -------------------------------------------------------------------


def term_key(fieldnum: int, term: bytes) -> bytes:
    """A term's key in the term index: its field's number, then the term."""
    return pack_ushort(fieldnum) + term


def term_info(stats: tuple, start: int, length: int) -> bytes:
    """The term index's value for a posting list at `start` of `length` bytes; `stats` as
    `FieldBlocks.stats` holds them (merged over chunks)."""
    ti = W3TermInfo()
    (ti._weight, ti._df, ti._minlength, ti._maxlength, ti._maxweight, ti._minid, ti._maxid) = stats
    ti.set_extent(start, length)
    return ti.to_bytes()


def last_block_size(size_field: bytes) -> bytes:
    """A block's length field rewritten to say it is the term's last block (a negative length)."""
    return pack_int(-int.from_bytes(size_field, "big"))


# -- reading ---------------------------------------------------------------------------


def raw_postings(segreader, field: str, btext: bytes | str):
    """A segment's matcher for a term with deleted documents included (callers mask them).

    Not `segreader.postings()`: its deletion filter has already stepped past the
    leading deleted documents, whole blocks of them, when it is handed over.
    """
    if isinstance(btext, str):
        btext = btext.encode("utf-8")
    return segreader._terms.matcher(field, btext, segreader.schema[field].format)


def read_postings(segreader, field: str, btext: bytes) -> tuple[np.ndarray, np.ndarray] | None:
    """(document numbers, weights) of a term in one segment (`segreader`: a leaf reader), deleted
    documents included; None when the segment lacks it.  A list the bulk writer wrote is read
    from its bytes in one go: setting up Whoosh's matcher (a second dictionary look-up, the first
    block's info) cost more than decoding a short list."""
    terms = getattr(segreader, "_terms", None)
    if terms is None:  # an empty index's reader holds no term
        return None
    try:
        ti = terms.term_info(field, btext)
    except TermNotFound:
        return None
    if not ti.is_inlined():
        offset, length = ti.extent()
        if isinstance(length, tuple):  # W3TermInfo.from_bytes stores unpack_int's 1-tuple
            length = length[0]
        fast = _read_own_list(terms._postfile.get(offset, length))
        if fast is not None:
            return fast
    return read_matcher(terms._codec.postings_reader(terms._postfile, ti, segreader.schema[field].format))


def _read_own_list(raw: bytes) -> tuple[np.ndarray, np.ndarray] | None:
    """`_read_bulk_blocks` when the first block's data (after its info pickle, read as Whoosh
    reads it) starts the way the bulk writer starts a block; else None."""
    head = len(WHOOSH3_HEADER_MAGIC)
    if raw[:head] != WHOOSH3_HEADER_MAGIC or len(raw) < head + 4:
        return None
    f = io.BytesIO(raw)
    f.seek(head + 4)
    IndexUnpickler(f).load()
    if raw[f.tell() : f.tell() + len(DATA_MAGIC)] != DATA_MAGIC:
        return None
    return _read_bulk_blocks(raw)


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


def length_bytes(seg, field: str) -> np.ndarray:
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


def word_frequencies(reader, field: str = "words") -> dict[bytes, int]:
    """Every term of `field` with its document frequency, summed over segments.

    Reads the term index directly (whoosh-reloaded 2.7's W3 layout: a
    two-byte field number before each term, the frequency at byte 5 of its
    info): Whoosh's merged lexicon walk took 15 s on 35k articles, this 0.7 s.
    """
    df: dict[bytes, int] = {}
    unpack = struct.Struct("!I").unpack_from
    for seg, _offset in reader.leaf_readers():
        terms = getattr(seg, "_terms", None)
        fieldmap = getattr(terms, "_fieldmap", {})
        if field not in fieldmap:
            continue
        prefix = pack_ushort(fieldmap[field])
        get = df.get
        for key, value in terms._tindex.items_from(prefix):
            if not key.startswith(prefix):
                break
            t = key[2:]
            df[t] = get(t, 0) + unpack(value, 5)[0]
    return df


def read_positions(m, docs: np.ndarray) -> list[np.ndarray]:
    """Positions of a term in each of `docs` (ascending segment docnums; empty where absent), read a
    block at a time: blocks holding none of `docs` are skipped unread, and within a block the
    wanted postings are found by binary search (Whoosh's skip_to steps through them one by one)."""
    empty = np.zeros(0, dtype=np.int64)
    out = [empty] * len(docs)
    if not isinstance(m, W3LeafMatcher):
        for j, d in enumerate(docs.tolist()):
            if m.is_active() and m.id() < d:
                m.skip_to(d)
            if m.is_active() and m.id() == d:
                out[j] = np.array(m.value_as("positions"), dtype=np.int64)
        return out
    j, n = 0, len(docs)
    while j < n:
        k = int(np.searchsorted(docs, m._maxid, side="right"))  # docs this block may hold
        if k > j:
            if m._data is None:
                m._read_data()
            ids = np.asarray(m._data[0], dtype=np.int64)
            if not m._byteids:
                ids = np.cumsum(ids)
            values = m._data[2]
            want = docs[j:k]
            at = np.searchsorted(ids, want)
            at[at >= len(ids)] = len(ids) - 1
            for w, i in zip(np.flatnonzero(ids[at] == want).tolist(), at[ids[at] == want].tolist()):
                v = values[i]
                out[j + w] = np.cumsum(np.asarray(loads(v[4:]), dtype=np.int64))  # pack_uint(freq), then deltas
            j = k
        if m._lastblock or j >= n:
            break
        m._goto(m._nextoffset)
    return out

"""Everything that knows how postings are laid out in a segment's files.

Inverted fields (`schema.INVERTED_FIELDS`) hold vnsearch's own packed lists
(`packed.py`) at the extents Whoosh's term index names; Whoosh's own writer
keeps the small fields (id, path, source, date) in its W3 blocks, and its
term index, stored fields, columns and length bytes are Whoosh's.

Writing: a chunk of documents' postings inverted with one stable sort
(`invert`) and packed with array operations (`encode`, `encode_postings`),
in worker processes; the term info that points at a term's list
(`term_info`).  Reading: posting lists as arrays (`read_postings`; Whoosh's
matcher for the small fields), positions for chosen documents
(`read_positions`), a whole list checked (`check_list`), field lengths
(`length_bytes`), a field's vocabulary from the term index
(`word_frequencies`).

tests/engine/whoosh/ checks that what is written here reads back as what
Whoosh's own writer and matchers give for the same documents.
"""

from __future__ import annotations

import struct
import zlib
from collections import defaultdict
from itertools import chain
from typing import NamedTuple

import numpy as np
from whoosh.reading import TermNotFound
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3LeafMatcher, W3TermInfo, _lenfield
from whoosh.system import pack_ushort
from whoosh.util.numeric import byte_to_length, length_to_byte

from vnsearch.engine.whoosh import packed
from vnsearch.engine.whoosh.safepickle import loads
from vnsearch.engine.whoosh.schema import INVERTED_FIELDS, build_schema

LENGTH_OF_BYTE = np.array([byte_to_length(i) for i in range(256)], dtype=np.float32)


def _length_bytes_of(lengths: np.ndarray) -> np.ndarray:
    """Whoosh's one-byte approximation of each length."""
    distinct, at = np.unique(lengths, return_inverse=True)
    return np.array([length_to_byte(int(n)) for n in distinct], dtype=np.uint8)[at]


class Inverted(NamedTuple):
    """One field's postings in (term, document) order; positions per token, in the same order."""

    terms: list[str]  # term i's text
    term: np.ndarray  # per posting: index into `terms`
    doc: np.ndarray  # per posting: document index within the chunk
    freq: np.ndarray  # per posting: occurrences
    deltas: np.ndarray  # per token: position minus the previous position in its posting (first: position)


class FieldBlocks(NamedTuple):
    """One field's encoded postings for a chunk: term i's packed blocks are blob[starts[i]:starts[i + 1]]."""

    terms: list[bytes]
    stats: list[tuple]  # (weight sum, doc frequency, min length, max length, max weight, first id, last id)
    blob: bytes
    starts: list[int]  # len(terms) + 1 offsets
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


def encode(inv: Inverted, base: int, doc_lengths: np.ndarray, positional: bool) -> FieldBlocks:
    """A block of packed postings for each term of an inverted field; document i of the chunk is
    docnum base + i."""
    P = len(inv.term)
    if not P:
        return FieldBlocks([], [], b"", [0], (base, base - 1))
    ids = inv.doc + base
    if int(ids.max()) >= 1 << 32:
        raise OverflowError("document numbers beyond 32 bits")
    lengths = doc_lengths[inv.doc]
    blob, starts = packed.encode_chunk(inv.term, ids, inv.freq, inv.deltas if positional else None,
                                       _length_bytes_of(doc_lengths)[inv.doc])
    tnew = np.empty(P, dtype=bool)
    tnew[0] = True
    np.not_equal(inv.term[1:], inv.term[:-1], out=tnew[1:])
    tfirst = np.flatnonzero(tnew)
    tlast = np.append(tfirst[1:], P) - 1
    stats = list(zip(
        np.add.reduceat(inv.freq.astype(np.float64), tfirst).tolist(), (tlast - tfirst + 1).tolist(),
        np.minimum.reduceat(lengths, tfirst).tolist(), np.maximum.reduceat(lengths, tfirst).tolist(),
        np.maximum.reduceat(inv.freq, tfirst).astype(np.float64).tolist(), ids[tfirst].tolist(), ids[tlast].tolist(),
    ))
    terms = [inv.terms[i].encode("utf-8") for i in inv.term[tfirst].tolist()]
    return FieldBlocks(terms, stats, blob, starts.tolist(), (int(ids.min()), int(ids.max())))


_formats: dict[str, bool] | None = None  # inverted field -> has positions


def encode_postings(streams: dict[str, list[list[str]]], base: int) -> dict[str, FieldBlocks]:
    """Each inverted field's term streams (one list of terms a document, in order) as packed
    postings; the chunk's first document is docnum `base`.  Runs in worker processes."""
    global _formats
    if _formats is None:
        schema = build_schema()
        for n in INVERTED_FIELDS:  # packed lists keep frequencies, which are the weights only unboosted
            fmt = schema[n].format
            if fmt.field_boost != 1.0 or fmt.fixed_value_size() not in (None, -1, 4):
                raise TypeError(f"no packed postings for field {n}'s format")
        _formats = {n: schema[n].format.supports("positions") for n in INVERTED_FIELDS}
    out = {}
    for fname, positional in _formats.items():
        s = streams[fname]
        doc_lengths = np.fromiter(map(len, s), dtype=np.int64, count=len(s))
        out[fname] = encode(invert(s), base, doc_lengths, positional)
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


# -- reading ---------------------------------------------------------------------------


def find_term_info(segreader, field: str, btext: bytes):
    """The term's info in the segment (a reader of the current commit); None when it lacks the term.
    `list_bytes` and `read_postings` take it as `ti`, so a caller that keeps it (for the term's
    document frequency) spares them the dictionary look-up.  It holds positions in the segment's
    files, never the files: it stays valid for any later reader of the same segment."""
    terms = getattr(segreader, "_terms", None)
    if terms is None:  # an empty index's reader holds no term
        return None
    tindex = getattr(terms, "_tindex", None)
    if tindex is None or not hasattr(tindex, "tables"):  # not W3's hash file: Whoosh's own look-up
        try:
            return terms.term_info(field, btext)
        except TermNotFound:
            return None
    raw = hash_value(tindex, terms._keycoder(field, btext))
    return None if raw is None else W3TermInfo.from_bytes(raw)


_POINTER = struct.Struct("!Iq")  # a hash table slot: the key's hash, its item's position (0: empty)
_LENGTHS = struct.Struct("!ii")  # an item's key and value lengths, before the key and the value
_SLOTS = 8  # slots read at once (linear probing: a key is rarely more than a few slots from its own)
_VALUE = 48  # bytes read past a key for its value: a term info not inlined is 35


def hash_value(tindex, key: bytes) -> bytes | None:
    """The value of `key` in Whoosh's on-disk hash file `tindex` (a `filetables.HashReader`), or
    None: what `tindex[key]` answers, in two reads (a run of slots, then the item with its
    value) where Whoosh makes one a slot and three an item.  A term look-up was a fifth of a
    cold keyword search, most of it in reads."""
    h = tindex.hashfn(key)
    start, n = tindex.tables[h & 255]
    f, klen = tindex.dbfile, len(key)
    i = (h >> 8) % n if n else 0
    probed = 0
    while probed < n:
        run = min(_SLOTS, n - i, n - probed)  # up to the table's end, then from its start
        slots = f.get(start + i * _POINTER.size, run * _POINTER.size)
        for j in range(run):
            slothash, item = _POINTER.unpack_from(slots, j * _POINTER.size)
            if not item:
                return None
            if slothash == h:
                raw = f.get(item, _LENGTHS.size + klen + _VALUE)
                kl, vl = _LENGTHS.unpack_from(raw)
                at = _LENGTHS.size + klen
                if kl == klen and raw[_LENGTHS.size : at] == key:
                    value = raw[at : at + vl]
                    return value if len(value) == vl else f.get(item + at, vl)
        probed += run
        i = (i + run) % n
    return None


def ordered_items(tindex, start: bytes, window: int = 1 << 20):
    """(key, value) of each item of Whoosh's ordered hash file `tindex` (a term index), from the
    first key at or after `start`, in key order, as `tindex.items_from(start)` gives them: read a
    window of items at a time, where Whoosh makes three reads an item (a merge walked millions)."""
    pos = tindex.closest_key_pos(start)
    if pos is None:
        return
    end, f, unpack, head = tindex.endofdata, tindex.dbfile, _LENGTHS.unpack_from, _LENGTHS.size
    while pos < end:
        buf = f.get(pos, min(window, end - pos))
        at, n = 0, len(buf)
        while at + head <= n:
            kl, vl = unpack(buf, at)
            stop = at + head + kl + vl
            if stop > n:
                break
            yield buf[at + head : at + head + kl], buf[at + head + kl : stop]
            at = stop
        if at:
            pos += at
            continue
        # not one whole item in the window: an item longer than it (read again with room), or damage
        kl, vl = unpack(buf, 0) if n >= head else (0, 0)
        if kl < 0 or vl < 0 or pos + head + kl + vl > end:
            raise packed.DamagedList(f"the term index is damaged at byte {pos:,}")
        window = head + kl + vl


_LOOK_UP = object()


def list_bytes(segreader, field: str, btext: bytes, ti=_LOOK_UP) -> bytes | None:
    """The bytes of a term's packed list in one segment; None when the segment lacks the term."""
    if ti is _LOOK_UP:
        ti = find_term_info(segreader, field, btext)
    if ti is None:
        return None
    if ti.is_inlined():
        raise packed.DamagedList(f"{field}:{btext!r} has its postings inlined in its term info")
    offset, length = ti.extent()
    if isinstance(length, tuple):  # W3TermInfo.from_bytes stores unpack_int's 1-tuple
        length = length[0]
    return segreader._terms._postfile.get(offset, length)


def read_postings(segreader, field: str, btext: bytes, ti=_LOOK_UP) -> tuple[np.ndarray, np.ndarray] | None:
    """(document numbers, frequencies as weights) of a term in one segment (`segreader`: a leaf
    reader), deleted documents included; None when the segment lacks it.  `ti`: the term's
    `find_term_info`, when the caller has it."""
    if field in INVERTED_FIELDS:
        raw = list_bytes(segreader, field, btext, ti)
        return None if raw is None else packed.decode(raw)
    if ti is _LOOK_UP:
        ti = find_term_info(segreader, field, btext)
    if ti is None:
        return None
    terms = segreader._terms
    # not segreader.postings(): its deletion filter has already stepped past leading deleted documents
    return read_matcher(terms._codec.postings_reader(terms._postfile, ti, segreader.schema[field].format))


def read_matcher(m) -> tuple[np.ndarray, np.ndarray]:
    """(document numbers, weights) of every posting a Whoosh leaf matcher holds, from its first block."""
    if isinstance(m, W3LeafMatcher):
        return _read_w3(m)
    ids, weights = [], []
    while m.is_active():
        ids.append(m.id())
        weights.append(m.weight())
        m.next()
    return np.array(ids, dtype=np.intp), np.array(weights, dtype=np.float32)


def check_list(segreader, field: str, btext: bytes) -> int:
    """Read a term's whole list, every value checked against its block's header; its posting count."""
    raw = list_bytes(segreader, field, btext)
    return 0 if raw is None else len(packed.decode_all(raw)[0])


def _read_w3(m: W3LeafMatcher) -> tuple[np.ndarray, np.ndarray]:
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
        for key, value in ordered_items(terms._tindex, prefix):
            if not key.startswith(prefix):
                break
            t = key[2:]
            df[t] = get(t, 0) + unpack(value, 5)[0]
    return df


def read_positions(segreader, field: str, btext: bytes, docs: np.ndarray) -> list[np.ndarray]:
    """Positions of a term in each of `docs` (ascending segment docnums; empty where absent)."""
    raw = list_bytes(segreader, field, btext)
    if raw is None:
        empty = np.zeros(0, dtype=np.int64)
        return [empty] * len(docs)
    return packed.positions(raw, docs)

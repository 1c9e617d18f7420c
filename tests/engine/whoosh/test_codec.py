"""Packed posting lists: what the workers and merges write must read back as what Whoosh's own field
indexing gives for the same text, for any chunk, and damage must be seen."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vnsearch.engine.whoosh import packed
from vnsearch.engine.whoosh.codec import FieldBlocks, encode, invert
from vnsearch.engine.whoosh.schema import INVERTED_FIELDS, build_schema
from vnsearch.ingest.prepare import document_text, term_streams
from vnsearch.text.normalize import normalize

TITLE = "Thuỷ điện Hoà Bình"
BODY = "Công nghệ thông tin ở Hà Nội.\nThuỷ điện Hoà Bình, TP. HCM à ạ ý. " * 3


def _decoded(fb: FieldBlocks) -> dict[bytes, list[tuple]]:
    """term -> [(docnum, frequency, positions or None)] from each term's packed blocks."""
    out = {}
    for i, term in enumerate(fb.terms):
        ids, tfs, gaps = packed.decode_all(fb.blob, fb.starts[i], fb.starts[i + 1])
        if len(gaps):
            ends = np.cumsum(tfs)
            pos = [np.cumsum(gaps[e - t : e]).tolist() for e, t in zip(ends.tolist(), tfs.tolist())]
        else:
            pos = [None] * len(ids)
        out[term] = list(zip(ids.tolist(), tfs.astype(float).tolist(), pos))
    return out


@pytest.mark.parametrize("name", INVERTED_FIELDS)
def test_encoded_postings_equal_whoosh_field_index(name):
    """A document's terms, frequencies and positions, as Whoosh's own field would index its text."""
    field = build_schema()[name]
    title, body = normalize(TITLE), normalize(BODY)
    stream = term_streams(title, body)[name]
    positional = field.format.supports("positions")
    fb = encode(invert([stream]), 7, np.array([len(stream)]), positional)
    text = title if name.startswith("title") else document_text(title, body)
    expected = {t: [(7, w, field.format.decode_as("positions", v) if positional else None)]
                for t, _n, w, v in field.index(text)}
    assert _decoded(fb) == expected


def _naive(streams, base):
    out: dict[str, list] = {}
    for d, terms in enumerate(streams):
        pos: dict[str, list[int]] = {}
        for i, t in enumerate(terms):
            pos.setdefault(t, []).append(i)
        for t, p in pos.items():
            out.setdefault(t, []).append((base + d, float(len(p)), p))
    return out


streams_st = st.lists(st.lists(st.sampled_from("abcdefgh"), max_size=40), min_size=1, max_size=300)


@settings(max_examples=60, deadline=None)
@given(streams=streams_st, base=st.integers(0, 10**6))
def test_chunks_round_trip(streams, base):
    """Any chunk: every term's postings, positions and term stats come back."""
    lengths = np.array([len(s) for s in streams], dtype=np.int64)
    fb = encode(invert(streams), base, lengths, True)
    want = _naive(streams, base)
    named = [d for posts in want.values() for d, _, _ in posts]
    assert not named or fb.docnums == (min(named), max(named))
    assert {t.decode(): p for t, p in _decoded(fb).items()} == want
    for i, term in enumerate(fb.terms):
        posts = want[term.decode()]
        wsum, df, minl, maxl, maxw, first, last = fb.stats[i]
        assert (wsum, df, maxw, first, last) == (
            sum(w for _, w, _ in posts), len(posts), max(w for _, w, _ in posts), posts[0][0], posts[-1][0])
        docl = [lengths[d - base] for d, _, _ in posts]
        assert (minl, maxl) == (min(docl), max(docl))
        ids, tfs = packed.decode(fb.blob, fb.starts[i], fb.starts[i + 1])
        assert ids.tolist() == [d for d, _, _ in posts] and tfs.tolist() == [w for _, w, _ in posts]


@settings(max_examples=60, deadline=None)
@given(streams=streams_st, base=st.integers(0, 10**6), limit=st.sampled_from([1, 3, 64, 16384]),
       asked=st.lists(st.integers(0, 400), max_size=30))
def test_lists_packed_in_blocks_of_any_size_read_back(streams, base, limit, asked):
    """`packed.encode` (merges) in blocks of `limit`: the same arrays, and the positions of any documents."""
    want = _naive(streams, base)
    docs = np.unique(np.array(asked, dtype=np.int64) + base)
    for term, posts in want.items():
        ids = np.array([d for d, _, _ in posts])
        tfs = np.array([int(w) for _, w, _ in posts])
        gaps = np.concatenate([np.diff(p, prepend=0) for _, _, p in posts])
        raw = packed.encode(ids, tfs, gaps, np.zeros(len(ids), dtype=np.uint8), limit)
        assert len(list(packed.blocks(raw))) == -(-len(ids) // limit)
        got_ids, got_tfs = packed.decode(raw)
        assert got_ids.tolist() == ids.tolist() and got_tfs.tolist() == tfs.tolist()
        held = {d: p for d, _, p in posts}
        assert [p.tolist() for p in packed.positions(raw, docs)] == [held.get(d, []) for d in docs.tolist()]


@settings(max_examples=60, deadline=None)
@given(segments=st.lists(st.tuples(streams_st, st.sampled_from([1, 3, 16384])), min_size=1, max_size=4))
def test_lists_of_several_segments_decode_as_one(segments):
    """`packed.decode_lists`: each segment's list raised by its base, one after another, as the
    decoded lists concatenated (a multi-segment index's look-up)."""
    parts, want_ids, want_tfs, base = [], [], [], 0
    for streams, limit in segments:
        posts = _naive(streams, 0).get("a", [])
        if posts:
            ids = np.array([d for d, _, _ in posts])
            tfs = np.array([int(w) for _, w, _ in posts])
            raw = packed.encode(ids, tfs, None, np.zeros(len(ids), dtype=np.uint8), limit)
            parts.append((raw, base))
            want_ids += (ids + base).tolist()
            want_tfs += tfs.tolist()
        base += len(streams)
    ids, tfs = packed.decode_lists(parts)
    assert ids.tolist() == want_ids and tfs.tolist() == want_tfs
    assert ids.dtype == np.intp and tfs.dtype == np.float32


def test_widths_of_one_two_and_four_bytes():
    """Gaps past 255 and 65,535 (positions, document numbers), frequencies past 255."""
    gaps = ["a"] + ["b"] * 70_000 + ["a"] + ["c"] * 300 + ["a"]
    many = (["x"] + ["y"] * 300) * 130
    streams = [gaps, many]
    fb = encode(invert(streams), 0, np.array([len(s) for s in streams]), True)
    got = _decoded(fb)
    assert got[b"a"] == [(0, 3.0, [0, 70_001, 70_302])]
    assert got[b"x"] == [(1, 130.0, list(range(0, 130 * 301, 301)))]
    assert got[b"y"][0][1] == 300.0 * 130
    far = packed.encode(np.array([3, 100_000, 4_000_000_000]), np.array([1, 1, 1]), None, np.zeros(3, np.uint8), 8)
    assert packed.decode(far)[0].tolist() == [3, 100_000, 4_000_000_000]


def test_frequency_only_fields_and_empty_chunks():
    fb = encode(invert([["hà_nội", "hà_nội", "ở"], [], ["ở"]]), 10, np.array([3, 0, 1]), False)
    assert _decoded(fb) == {"hà_nội".encode(): [(10, 2.0, None)], "ở".encode(): [(10, 1.0, None), (12, 1.0, None)]}
    empty = encode(invert([[], []]), 0, np.array([0, 0]), True)
    assert empty.terms == [] and empty.blob == b""


def test_damaged_lists_are_reported_not_read():
    raw = packed.encode(np.array([1, 5, 9]), np.array([2, 1, 1]), np.array([0, 3, 7, 2]), np.zeros(3, np.uint8), 2)
    with pytest.raises(packed.DamagedList):
        list(packed.blocks(b"not a posting list at all"))
    with pytest.raises(packed.DamagedList):
        packed.decode(raw[:-1])  # cut short
    bad = bytearray(raw)
    bad[packed.HEAD.size + 1] = 0  # a gap of 0: the document numbers no longer ascend
    with pytest.raises(packed.DamagedList, match="out of order"):
        packed.decode_all(bytes(bad))
    bad = bytearray(raw)
    bad[packed.HEAD.size + 3] = 9  # a frequency the header's largest does not allow
    with pytest.raises(packed.DamagedList, match="frequencies"):
        packed.decode_all(bytes(bad))

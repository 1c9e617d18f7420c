"""Blocks built with array operations must be W3 blocks that Whoosh reads back as it wrote them."""

import io
import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vnsearch.engine.whoosh.codec import FieldBlocks, encode, invert, read_block
from vnsearch.text.normalize import normalize
from vnsearch.engine.whoosh.codec import _read_bulk_blocks
from vnsearch.ingest.prepare import document_text, term_streams
from vnsearch.engine.whoosh.schema import INVERTED_FIELDS, build_schema

TITLE = "Thuỷ điện Hoà Bình"
BODY = "Công nghệ thông tin ở Hà Nội.\nThuỷ điện Hoà Bình, TP. HCM à ạ ý. " * 3


def _frames(fb: FieldBlocks, i: int) -> list[tuple[tuple, tuple, bytes]]:
    """(info, data, raw data) of each block of term i, read the way Whoosh's W3 reader reads them."""
    raw = fb.blob[fb.starts[i] : fb.starts[i + 1]]
    out, pos = [], 0
    while pos < len(raw):
        size = int.from_bytes(raw[pos : pos + 4], "big", signed=True)
        assert size > 0  # the writer, not the worker, marks a term's last block
        body = raw[pos + 4 : pos + 4 + size]
        f = io.BytesIO(body)
        info = pickle.load(f)
        out.append((info, pickle.loads(body[f.tell() :]), body[f.tell() :]))
        pos += 4 + size
    assert pos == len(raw) and fb.lasts[i] == fb.starts[i] + pos - 4 - size
    return out


def _decoded(fb: FieldBlocks, fmt) -> dict[bytes, list[tuple]]:
    """term -> [(docnum, weight, decoded value)], from the blocks' pickles."""
    kind = "positions" if fmt.supports("positions") else "frequency"
    out = {}
    for i, term in enumerate(fb.terms):
        posts = []
        for info, (ids, weights, values), _ in _frames(fb, i):
            n = info[0]
            docnums = np.cumsum(list(ids)).tolist()
            weights = [1.0] * n if weights is None else list(weights)
            if isinstance(values, bytes):  # fixed-size values, Whoosh splits them
                size = fmt.fixed_value_size()
                values = [values[k : k + size] for k in range(0, len(values), size)]
            assert len(docnums) == len(weights) == len(values) == n and info[1] == docnums[-1]
            assert info[2] == max(weights) and info[3] == 0
            posts += [(d, w, fmt.decode_as(kind, v)) for d, w, v in zip(docnums, weights, values)]
        out[term] = posts
    return out


@pytest.mark.parametrize("name", INVERTED_FIELDS)
def test_encoded_postings_equal_whoosh_field_index(name):
    """A document's terms, weights and positions, as Whoosh's own field would index its text."""
    field = build_schema()[name]
    title, body = normalize(TITLE), normalize(BODY)
    stream = term_streams(title, body)[name]
    fb = encode(invert([stream]), 7, np.array([len(stream)]), field.format.fixed_value_size())
    text = title if name.startswith("title") else document_text(title, body)
    kind = "positions" if field.format.supports("positions") else "frequency"
    expected = {t: [(7, w, field.format.decode_as(kind, v))] for t, _n, w, v in field.index(text)}
    assert _decoded(fb, field.format) == expected


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
@given(streams=streams_st, base=st.integers(0, 10**6), limit=st.sampled_from([1, 7, 128, 1024]))
def test_blocks_round_trip(streams, base, limit):
    """Any chunk: every term's postings, block stats and term stats come back; read_block agrees with pickle."""
    fmt = build_schema()["syllables"].format
    lengths = np.array([len(s) for s in streams], dtype=np.int64)
    fb = encode(invert(streams), base, lengths, None, block_limit=limit)
    want = _naive(streams, base)
    got = _decoded(fb, fmt)
    named = [d for posts in want.values() for d, _, _ in posts]
    assert not named or fb.docnums == (min(named), max(named))
    assert {t.decode(): [(d, w, v) for d, w, v in p] for t, p in got.items()} == {
        t: [(d, w, p) for d, w, p in posts] for t, posts in want.items()}
    for i, term in enumerate(fb.terms):
        posts = want[term.decode()]
        wsum, df, minl, maxl, maxw, first, last = fb.stats[i]
        assert (wsum, df, maxw, first, last) == (
            sum(w for _, w, _ in posts), len(posts), max(w for _, w, _ in posts), posts[0][0], posts[-1][0])
        docl = [lengths[d - base] for d, _, _ in posts]
        assert (minl, maxl) == (min(docl), max(docl))
        frames = _frames(fb, i)
        assert [info[0] for info, _, _ in frames][:-1] == [limit] * (len(frames) - 1)
        for _info, (ids, weights, _), raw in frames:
            rids, rweights = read_block(raw, 0, len(raw))
            assert rids.tolist() == list(ids)
            assert (rweights is None and weights is None) or rweights.tolist() == list(weights)
        # the reader's walk over a whole posting list, last block marked as the writer marks it
        whole = bytearray(b"W3Bl" + fb.blob[fb.starts[i] : fb.starts[i + 1]])
        at = fb.lasts[i] - fb.starts[i] + 4
        whole[at : at + 4] = (-int.from_bytes(whole[at : at + 4], "big")).to_bytes(4, "big", signed=True)
        ids, weights = _read_bulk_blocks(bytes(whole))
        assert ids.tolist() == [d for d, _, _ in posts]
        assert weights.tolist() == [w for _, w, _ in posts]


def test_long_gaps_and_long_position_lists():
    """Position deltas of one, two and four bytes; a value longer than 255 bytes (BINBYTES)."""
    fmt = build_schema()["syllables"].format
    gaps = ["a"] + ["b"] * 70_000 + ["a"] + ["c"] * 300 + ["a"]
    many = (["x"] + ["y"] * 300) * 130
    streams = [gaps, many]
    fb = encode(invert(streams), 0, np.array([len(s) for s in streams]), None)
    got = _decoded(fb, fmt)
    assert got[b"a"] == [(0, 3.0, [0, 70_001, 70_302])]
    assert got[b"x"] == [(1, 130.0, list(range(0, 130 * 301, 301)))]
    assert got[b"y"][0][1] == 300.0 * 130


def test_frequency_values_and_empty_chunks():
    fmt = build_schema()["words"].format
    fb = encode(invert([["hà_nội", "hà_nội", "ở"], [], ["ở"]]), 10, np.array([3, 0, 1]), fmt.fixed_value_size())
    assert _decoded(fb, fmt) == {"hà_nội".encode(): [(10, 2.0, 2)], "ở".encode(): [(10, 1.0, 1), (12, 1.0, 1)]}
    empty = encode(invert([[], []]), 0, np.array([0, 0]), None)
    assert empty.terms == [] and empty.blob == b""


def test_blocks_from_elsewhere_are_not_read_as_ours():
    assert read_block(pickle.dumps(((1, 2), None, (b"x", b"y")), 2), 0, 100) is None

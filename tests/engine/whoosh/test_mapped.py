import io
import os
import sys
import pickle

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vnsearch import Document, Index
from vnsearch.engine.whoosh.mapped import MappedStorage, ReadAt, ViewFile

ops = st.lists(st.one_of(
    st.tuples(st.just("read"), st.integers(-1, 40)),
    st.tuples(st.just("readline"), st.integers(-1, 40)),
    st.tuples(st.just("seek"), st.integers(0, 80), st.sampled_from([os.SEEK_SET, os.SEEK_CUR, os.SEEK_END])),
    st.tuples(st.just("peek")),
), max_size=30)


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=60), start=st.integers(0, 10), ops=ops)
def test_view_reads_like_bytesio(data, start, ops):
    """A view of part of a buffer behaves as BytesIO over that part, for what Whoosh and pickle call."""
    src = b"x" * start + data + b"tail\n"
    view = ViewFile(src, start, len(data)).file
    ref = io.BytesIO(data)
    for op in ops:
        if op[0] == "seek":
            offset = op[1] if op[2] == os.SEEK_SET else op[1] - 40
            target = offset + {os.SEEK_SET: 0, os.SEEK_CUR: ref.tell(), os.SEEK_END: len(data)}[op[2]]
            if target >= 0:  # BytesIO refuses a seek before the start
                assert view.seek(offset, op[2]) == ref.seek(offset, op[2]) == target
        elif op[0] == "peek":
            assert data[ref.tell() :].startswith(view.peek(8))
        else:
            assert getattr(view, op[0])(op[1]) == getattr(ref, op[0])(op[1])
        assert view.tell() == ref.tell()


def test_pickles_longer_than_a_peek_load(tmp_path):
    obj = {"k": list(range(500)), "b": b"\x00" * 1000}
    p = tmp_path / "f"
    p.write_bytes(b"junk" + pickle.dumps(obj, 2) + pickle.dumps(7, 2))
    f = MappedStorage(str(tmp_path)).open_file("f")
    sub = f.subset(4, p.stat().st_size - 4)
    assert sub.read_pickle() == obj and sub.read_pickle() == 7
    assert sub.get(0, 2) == pickle.dumps(obj, 2)[:2]


def test_empty_file(tmp_path):
    (tmp_path / "e").write_bytes(b"")
    f = MappedStorage(str(tmp_path)).open_file("e")
    assert f.read(10) == b"" and f.get(0, 0) == b""


def _index(tmp_path):
    ix = Index.open(tmp_path / "ix", create=True)
    ix.add([Document("a", "Hà Nội", "Thủ đô Hà Nội"), Document("b", "Huế", "Cố đô Huế")])
    ix.close()
    return Index.open(tmp_path / "ix")


def test_index_parts_are_views_of_one_file(tmp_path):
    """Opening an index copies nothing: each part of a segment file is a view of one `ReadAt`."""
    ix = _index(tmp_path)
    assert ix.search("hà nội").total == 1
    reader = ix._get_snapshot()._reader
    seg = next(iter(reader.leaf_readers()))[0]
    files = [seg._terms._dbfile, seg._terms._postfile]
    for f in files:
        assert isinstance(f, ViewFile)
        assert isinstance(f._src, ReadAt)
    assert files[0]._src is files[1]._src


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/maps")
def test_a_search_maps_no_index_file(tmp_path):
    """Index pages a search reads are copied out and freed, not mapped: mapped pages (and the
    kernel's fault-around neighbours) would count in the process's memory until it exits."""
    ix = _index(tmp_path)
    assert ix.search("cố đô").total == 1
    from vnsearch.search.vocabulary import FILE

    with open("/proc/self/maps") as f:
        mapped = [line for line in f if str(tmp_path / "ix") in line]
    # the accent model's arrays are binary-searched in place: a few pages, mapped on purpose
    assert [line for line in mapped if not line.rstrip().endswith(FILE)] == []
    assert ix.search("hue").total == 1  # and reads keep working


def test_without_pread_files_are_mapped_and_read_the_same(tmp_path, monkeypatch):
    """Where the system has no `os.pread` (Windows), files are views of an mmap, as before."""
    import mmap

    ix = _index(tmp_path)
    ix.close()
    monkeypatch.delattr(os, "pread")
    ix = Index.open(tmp_path / "ix")
    assert ix.search("cố đô").total == 1 and ix.search("hue").total == 1
    seg = next(iter(ix._get_snapshot()._reader.leaf_readers()))[0]
    assert isinstance(seg._terms._postfile._src, mmap.mmap)


@settings(max_examples=100, deadline=None)
@given(data=st.binary(max_size=9000), a=st.integers(-20, 9100), b=st.integers(-20, 9100),
       sub=st.binary(min_size=1, max_size=3))
def test_read_at_slices_and_finds_as_bytes(tmp_path_factory, data, a, b, sub):
    p = tmp_path_factory.mktemp("r") / "f"
    p.write_bytes(data)
    with open(p, "rb", buffering=0) as f:
        src = ReadAt(f, len(data))
        assert len(src) == len(data)
        assert src[a:b] == data[a:b]
        lo = max(0, min(a, len(data)))
        assert src.find(sub, lo, b) == data.find(sub, lo, b if b >= 0 else len(data) + b)


def test_a_file_cut_short_after_opening_is_an_error_not_a_short_read(tmp_path):
    p = tmp_path / "f"
    p.write_bytes(b"x" * 100)
    with open(p, "rb", buffering=0) as f:
        src = ReadAt(f, 100)
        os.truncate(p, 50)
        with pytest.raises(OSError, match="50 bytes where 100 were asked"):
            src[0:100]


@pytest.mark.parametrize("page", [1 << 14, 1 << 16])  # written now, and by indexes before 2026-11
def test_sums_of_either_page_size_verify_and_catch_damage(page):
    from vnsearch.engine.whoosh.integrity import DamagedFile, Sums, encode_sums

    data = bytearray(bytes(range(256)) * 1200)  # 300 KiB: several pages of either size
    sums = Sums("f", bytes(data), encode_sums(bytes(data), page))
    sums.verify_all()
    data[page + 5] ^= 1
    damaged = Sums("f", bytes(data), encode_sums(bytes(range(256)) * 1200, page))
    damaged.verify(0, 10)  # the first page is whole
    with pytest.raises(DamagedFile, match=f"between offsets {page:,} and {2 * page:,}"):
        damaged.verify(page + 1, page + 2)


def test_sums_of_an_odd_page_size_are_refused():
    import struct

    from vnsearch.engine.whoosh.integrity import DamagedFile, Sums, encode_sums

    raw = bytearray(encode_sums(b"x" * 100))
    struct.pack_into("<I", raw, 6, 3000)  # the page size, after the magic
    with pytest.raises(DamagedFile, match="not a checksum file"):
        Sums("f", b"x" * 100, bytes(raw))


def test_a_checksum_file_cut_anywhere_is_damage_not_an_error():
    from vnsearch.engine.whoosh.integrity import DamagedFile, Sums, encode_sums

    data = bytes(range(256)) * 200  # four pages of 16 KiB
    raw = encode_sums(data)
    for cut in range(len(raw)):  # a cut inside a page's sum left numpy a buffer it could not read
        with pytest.raises(DamagedFile):
            Sums("f", data, raw[:cut])
    assert Sums("f", data, raw).crcs.size == 4


@settings(max_examples=150, deadline=None)
@given(a=st.integers(0, 20_000), n=st.integers(0, 9_000), checked=st.lists(st.integers(0, 5), max_size=4),
       damage=st.one_of(st.none(), st.integers(0, 20_479)))
def test_a_read_verifies_its_pages_once_and_answers_their_bytes(a, n, checked, damage):
    """`Sums.read` answers the bytes asked, whichever of their pages were checked before, and never
    answers from a damaged page (4 KiB pages: a read spans up to four)."""
    from vnsearch.engine.whoosh.integrity import DamagedFile, Sums, encode_sums

    good = bytes(range(251)) * 82  # 20,582 bytes: 6 pages, the last one short
    data = bytearray(good)
    if damage is not None:
        data[damage] ^= 0xFF
    sums = Sums("f", bytes(data), encode_sums(good, 1 << 12))
    for p in checked:  # pages a search read before
        if damage is None or damage >> 12 != p:
            sums.ok[p] = 1
    b = min(a + n, len(good))
    hit = damage is not None and b > a and a >> 12 <= damage >> 12 <= (b - 1) >> 12  # a damaged page touched
    if hit:
        with pytest.raises(DamagedFile, match="checksum mismatch"):
            sums.read(a, b)
    else:
        assert sums.read(a, b) == bytes(data[a:b])
        assert all(sums.ok[p] for p in range(a >> 12, ((b - 1) >> 12) + 1)) or b <= a

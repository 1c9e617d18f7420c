import numpy as np

from vnsearch import Document, Index
from vnsearch.engine.whoosh.codec import read_postings
from vnsearch.engine.whoosh.postings import PostingCache


def _three_segments(tmp_path) -> Index:
    ix = Index.open(tmp_path / "ix", create=True)
    for batch in range(3):  # one commit each: a segment each (smaller each time: no run folds them)
        ix.add([Document(f"{batch}-{i}", f"Bài {i}", f"Hà Nội là thủ đô. Tin số {batch * 10 + i} về Huế")
                for i in range(3 - batch)])
    return ix


def test_a_term_of_several_segments_is_joined_once_and_cached(tmp_path):
    """A common word's segment lists are joined over global document numbers once, then served whole."""
    ix = _three_segments(tmp_path)
    snap = ix._get_snapshot()
    view = snap._view
    assert len(view.leaves) == 3
    btext = b"th\xe1\xbb\xa7"  # "thủ"
    expected_ids, expected_tf = [], []
    for seg, offset in view.leaves:
        got = read_postings(seg, "syllables", btext)
        expected_ids.append(got[0] + offset)
        expected_tf.append(got[1])
    ids, tf = snap.postings("syllables", "thủ")
    assert ids.tolist() == np.concatenate(expected_ids).tolist() == list(range(6))
    assert tf.tolist() == np.concatenate(expected_tf).tolist()
    again = snap.postings("syllables", "thủ")
    assert again[0] is ids and again[1] is tf  # served from the cache, not joined again
    assert snap.doc_frequency("syllables", "thủ") == 6


def test_joined_lists_within_a_tiny_budget_are_still_right(tmp_path):
    ix = _three_segments(tmp_path)
    snap = ix._get_snapshot()
    snap._view.cache = PostingCache(max_bytes=1)  # every entry evicted by the next
    for _ in range(2):
        assert snap.postings("syllables", "huế")[0].tolist() == list(range(6))
        assert snap.postings("syllables", "nội")[0].tolist() == list(range(6))
        assert len(snap.postings("syllables", "khôngcó")[0]) == 0


def test_a_term_read_before_a_commit_is_read_whole_after_it(tmp_path):
    """What the cache keeps of a segment (infos, lists) outlives the snapshot that read it, never
    the snapshot's open files: the next commit's search reads the old segment through its own."""
    ix = Index.open(tmp_path / "ix", create=True)
    ix.add([Document("first", "Đầu tiên", "Hà Nội là thủ đô")])
    assert ix.search("thủ đô").total == 1
    ix.add([Document(f"m{i}", f"Thêm {i}", "Hà Nội là thủ đô") for i in range(5)])
    assert ix.search("thủ đô").total == 6
    assert ix._get_snapshot().postings("syllables", "thủ")[0].tolist() == list(range(6))


def test_term_infos_are_found_as_whoosh_finds_them(tmp_path):
    """`codec.hash_value` (two reads a look-up) answers every key of a segment's term index as
    Whoosh's own hash reader does, and None for keys it lacks, whatever their hash collides with."""
    from vnsearch.engine.whoosh.codec import find_term_info, hash_value

    ix = Index.open(tmp_path / "ix", create=True)
    ix.add([Document(f"d{i}", f"Bài {i}", f"Hà Nội số {i} tin {i * 7} về Huế và Đà Nẵng, mã {i:04x}")
            for i in range(300)])
    seg = next(iter(ix._get_snapshot()._view.leaves))[0]
    tindex = seg._terms._tindex
    keys = list(tindex.keys())
    assert len(keys) > 1000
    for key in keys:
        assert hash_value(tindex, key) == tindex[key]
    for key in keys[::7]:
        for missing in (key + b"\x00", key[:-1] + b"\xff", b"\x00" + key):
            if missing not in tindex:
                assert hash_value(tindex, missing) is None
    info = find_term_info(seg, "syllables", "huế".encode())
    assert info is not None and info.doc_frequency() == 300
    assert find_term_info(seg, "syllables", b"no-such-word") is None

"""Segments merged list by list: every live document kept, deleted ones dropped, the same answers,
logarithmic counts."""

import numpy as np
import pytest

from vnsearch import Document, Index
from vnsearch.engine.whoosh import merge as M
from vnsearch.engine.whoosh.schema import INVERTED_FIELDS
from vnsearch.engine.whoosh.store import Store

WORDS = ("Hà Nội mưa lớn, nước ngập nhiều tuyến phố. Công an thành phố phân luồng giao thông. "
         "Giá vàng hôm nay tăng mạnh; thị trường chứng khoán giảm. Đội tuyển bóng đá Việt Nam thắng.").split()

QUERIES = ["hà nội", "Hà Nội", "ha noi", '"nước ngập"', "giá vàng hôm nay", "bóng đá -thắng", "thanh pho",
           "công an thành phố phân luồng", "ngập*", "chứng~1", "doc:1", "title:Bản"]


def _docs(start: int, n: int) -> list[Document]:
    return [Document(f"d{i}", f"Bản tin {i}", " ".join(WORDS[(i * 7 + k) % len(WORDS)] for k in range(20 + i % 30)),
                     path=f"tin/{i}.txt") for i in range(start, start + n)]


def _answers(ix) -> list:
    """Every hit of each query with its score; in id order, as a merge renumbers documents (ties
    on a score, broken by document number, may swap)."""
    out = []
    for q in QUERIES:
        r = ix.search(q, limit=1000)
        assert len(r.hits) == r.total
        out.append((q, r.total, sorted((h.id, h.score, h.title, h.path, [f.text for f in h.fragments])
                                       for h in r.hits)))
    return out


@pytest.fixture
def unmerged(tmp_path, monkeypatch):
    """An index of 23 segments: 10 of 3 documents, 11 of 12, and 2 more, none merged."""
    monkeypatch.setattr(Store, "merge", lambda self, *a, **k: False)
    ix = Index.open(tmp_path / "ix", create=True)
    at = 0
    for n in [3] * 10 + [12] * 11 + [40, 5]:
        ix.add(_docs(at, n))
        at += n
    monkeypatch.undo()
    return ix


def test_a_merge_keeps_every_document_and_every_answer(unmerged):
    ix = unmerged
    assert ix._store.segment_count() == 23
    before, stored = _answers(ix), [ix.get(f"d{i}") for i in range(len(ix))]
    assert ix._store.merge()
    # 10 of 3 -> one of 30 (class 1), then 11 of 12 + that one: ten of class 1 -> one of 120
    fresh = Index.open(ix.path)
    assert fresh._store.segment_count() == 5
    assert len(fresh) == len(stored) == 3 * 10 + 12 * 11 + 45
    assert _answers(fresh) == before  # the same hits, scores to the last bit, fragments
    assert [fresh.get(f"d{i}") for i in range(len(stored))] == stored
    assert fresh.check() == []


def _postings_by_id(ix) -> dict:
    """Every posting of the inverted fields, live documents only, keyed by document id: (field,
    term) -> [(id, tf)], and a phrase's positions for each document holding the words."""
    snap = ix._get_snapshot()
    ids = {d: snap.stored(d)["id"] for d in np.flatnonzero(snap.live).tolist()}
    out = {}
    for field in INVERTED_FIELDS:
        for term in snap.terms(field):
            docs, tf = snap.postings(field, term)
            kept = [(ids[d], float(t)) for d, t in zip(docs.tolist(), tf.tolist()) if d in ids]
            if kept:
                out[field, term] = sorted(kept)
                if field == "syllables" and term in ("nước", "ngập"):
                    live = np.array(sorted(d for d in docs.tolist() if d in ids))
                    out["positions", term] = sorted(
                        (ids[d], p.tolist()) for d, p in zip(live.tolist(), snap.positions(field, term, live)))
    return out


def test_bodies_are_copied_as_they_are_stored(unmerged, monkeypatch):
    """A merge copies each body's compressed bytes: none is compressed again, and every body reads
    back as it was (an empty one too)."""
    import zlib

    ix = unmerged
    ix.add([Document("empty", "Không có nội dung", "")])
    bodies = {d: ix.get(d)["body"] for d in [f"d{i}" for i in range(len(ix) - 1)] + ["empty"]}
    compressed = []
    real = zlib.compress
    monkeypatch.setattr(zlib, "compress", lambda data, *a, **k: compressed.append(bytes(data)) or real(data, *a, **k))
    assert ix._store.optimize()
    assert compressed  # the stored fields are
    assert not {b.encode("utf-8") for b in bodies.values()} & set(compressed)
    fresh = Index.open(ix.path)
    assert fresh._store.segment_count() == 1
    assert {d: fresh.get(d)["body"] for d in bodies} == bodies and bodies["empty"] == ""
    assert fresh.check() == []


def test_a_merge_drops_deleted_documents_and_keeps_every_live_posting(unmerged, tmp_path):
    ix = unmerged
    gone = ["d1", "d3", "d4", "d5", "d40", "d45", "d100", "d202", "d203"]  # d3-d5: a whole segment
    assert ix.delete(gone) == len(gone)
    before = _postings_by_id(ix)
    stored = {f"d{i}": ix.get(f"d{i}") for i in range(207)}
    assert ix._store.merge()
    merged = Index.open(ix.path)
    reader = merged._store._ix.reader()
    try:
        # every segment with a deletion was merged: the two of 40 and 12 left have none; the 5
        # with 2 deleted was rewritten alone
        assert not any(seg.has_deletions() for seg, _ in reader.leaf_readers())
    finally:
        reader.close()
    assert len(merged) == 207 - len(gone) and merged._get_snapshot().n == len(merged)
    assert {i: merged.get(i) for i in stored} == {i: (None if i in gone else d) for i, d in stored.items()}
    assert _postings_by_id(merged) == before  # ids, term frequencies and positions of every live posting
    assert merged.check() == []
    # scored as an index of the live documents alone (the field totals lose the deleted documents'
    # lengths as the length bytes have them: within a few per cent)
    alone = Index.open(tmp_path / "alone", create=True)
    alone.add([d for d in _docs(0, 207) if d.id not in gone])
    for q in QUERIES:
        a, b = merged.search(q, limit=1000), alone.search(q, limit=1000)
        assert a.total == b.total and {h.id for h in a.hits} == {h.id for h in b.hits}
        want = {h.id: h.score for h in b.hits}
        assert all(h.score == pytest.approx(want[h.id], rel=0.03) for h in a.hits)


def test_a_segment_whose_documents_are_all_deleted_goes(unmerged):
    ix = unmerged
    assert ix.delete([f"d{i}" for i in range(162, 202)]) == 40  # the segment of 40
    assert ix._store.merge()
    merged = Index.open(ix.path)
    assert merged._store.segment_count() == 4 and len(merged) == merged._get_snapshot().n == 207 - 40
    assert merged.search("Bản tin").total == 207 - 40
    assert merged.check() == []


@pytest.mark.parametrize("joined, repack_from, window", [(1, 0, M.WINDOW), (20, 0, 1), (7, 5, 300), (5, 10**6, 1),
                                                         (M.JOINED_BLOCK, M.REPACK_FROM, M.WINDOW)])
def test_joined_blocks_read_back_as_the_blocks_they_join(unmerged, monkeypatch, joined, repack_from, window):
    """Whatever the blocks joined, the lists re-packed and the bytes of postings read at a time."""
    ix = unmerged
    monkeypatch.setattr(M, "JOINED_BLOCK", joined)
    monkeypatch.setattr(M, "REPACK_FROM", repack_from)
    monkeypatch.setattr(M, "WINDOW", window)
    ix.delete(["d7", "d31"])
    before = _postings_by_id(ix)
    ix._store.merge()
    assert _postings_by_id(Index.open(ix.path)) == before


def test_plan_rewrites_a_segment_with_many_deletions_alone():
    segs = [("a", 5, 5, True)] * 3 + [("b", 60, 100, True), ("c", 70, 100, True), ("d", 1, 100, False)]
    assert M.plan_merges(segs) == [["b"]]  # 40% deleted; c (30%) waits; d is not ours


def test_a_failed_merge_leaves_the_index_as_it_was(unmerged, monkeypatch):
    ix = unmerged
    before = _answers(ix)
    files = sorted(p.name for p in ix.path.iterdir())
    calls = []

    def failing(src, field):
        calls.append(field)
        if len(calls) > 8:
            raise OSError(28, "No space left on device")
        return real(src, field)

    real = M._field_lists
    monkeypatch.setattr(M, "_field_lists", failing)
    with pytest.raises(OSError):
        ix._store.merge()
    fresh = Index.open(ix.path)
    assert fresh._store.segment_count() == 23 and _answers(fresh) == before
    assert sorted(p.name for p in ix.path.iterdir()) == files


def test_plan_groups_ten_of_a_size_class():
    segs = ([("a", 5, 5, True)] * 12 + [("b", 50, 50, True)] * 9 + [("c", 7, 7, False)] * 20
            + [("d", 5000, 5000, True)] * 10)
    groups = M.plan_merges(segs)
    assert [len(g) for g in groups] == [10, 10]  # ten of class 0, ten of class 3; nine of class 1 wait
    assert set(groups[0]) == {"a"} and set(groups[1]) == {"d"}
    assert M.plan_merges([("x", 0, 0, True)] * 9) == []


@pytest.mark.parametrize("window", [1, 7, 64, 1 << 20])
def test_a_term_index_walked_a_window_at_a_time_gives_whoosh_items(unmerged, window):
    from vnsearch.engine.whoosh.codec import ordered_items, term_key

    seg = next(iter(unmerged._get_snapshot()._view.leaves))[0]
    tindex = seg._terms._tindex
    for start in (b"", term_key(seg._terms._fieldmap["syllables"], b"h"), b"\xff\xff"):
        assert list(ordered_items(tindex, start, window)) == list(tindex.items_from(start))
    assert len(list(ordered_items(tindex, b"", window))) > 100


def test_a_damaged_term_index_is_reported_not_walked(unmerged, monkeypatch):
    from vnsearch.engine.whoosh import packed
    from vnsearch.engine.whoosh.codec import ordered_items

    seg = next(iter(unmerged._get_snapshot()._view.leaves))[0]
    tindex = seg._terms._tindex
    real = tindex.dbfile.get

    def lengths_gone_wrong(pos, length):  # a window's first item says its key is longer than the file
        raw = bytearray(real(pos, length))
        if length >= 256:  # a window, not the look-up of the first key
            raw[:4] = (1 << 30).to_bytes(4, "big")
        return bytes(raw)

    monkeypatch.setattr(tindex.dbfile, "get", lengths_gone_wrong)
    with pytest.raises(packed.DamagedList):
        list(ordered_items(tindex, b""))


def test_a_fold_takes_the_smallest_segments_within_what_the_run_wrote():
    segs = [("big", 500, 500, True), ("a", 30, 30, True), ("b", 10, 12, True), ("c", 20, 20, True),
            ("x", 5, 5, False), ("d", 40, 40, True)]
    assert M.plan_fold(segs, written=60) == ["a", "b", "c"]  # 10 + 20 + 30, in index order; 40 more would pass 60
    assert M.plan_fold(segs, written=35) == ["b", "c"]
    assert M.plan_fold(segs, written=15) is None  # one segment is no fold
    assert M.plan_fold(segs, written=10_000) == ["big", "a", "b", "c", "d"]  # the segment not ours stays out
    assert M.plan_fold(segs, written=10_000, below=100) == ["a", "b", "c", "d"]  # 500 is not small
    assert M.plan_fold(segs, written=10_000, below=90) == ["a", "b", "c"]  # nor is a fold past 90
    assert M.plan_fold([], written=100) is None


def test_a_run_folds_its_segments_and_a_small_run_copies_little(tmp_path):
    from vnsearch.index import _ListSource

    folded = Index.open(tmp_path / "folded", create=True)
    report = folded.add_from([_ListSource(_docs(0, 90))], jobs=1, batch_docs=20)  # five commits
    assert report.commits == 5 and folded._store.segment_count() == 1 and report.merge_seconds > 0
    monkey = pytest.MonkeyPatch()
    monkey.setattr(Store, "merge", lambda self, *a, **k: False)
    try:
        plain = Index.open(tmp_path / "plain", create=True)
        plain.add_from([_ListSource(_docs(0, 90))], jobs=1, batch_docs=20)
        assert plain._store.segment_count() == 5
    finally:
        monkey.undo()
    assert _answers(Index.open(folded.path)) == _answers(plain)
    big = Index.open(folded.path)._get_snapshot().segments
    folded.add(_docs(90, 5))  # a run of five documents: the 90 are not copied again
    after = Index.open(folded.path)
    assert after._store.segment_count() == 2 and big in after._get_snapshot().segments
    assert after.check() == [] and len(after) == 95


def test_a_segment_whose_lists_are_not_packed_is_left_as_it_is(unmerged, monkeypatch):
    ix = unmerged
    before = _answers(ix)
    real = M._Lists.term
    seen = []

    def foreign(self, start, end):
        seen.append(1)
        if len(seen) > 50:
            raise M.NotBulkWritten("a list that is not packed")
        return real(self, start, end)

    monkeypatch.setattr(M._Lists, "term", foreign)
    assert not ix._store.merge()  # no error: the group is skipped, its half-written segment removed
    fresh = Index.open(ix.path)
    assert _answers(fresh) == before and fresh.check() == [] and fresh._store.segment_count() == 23


def _spawned_pool():
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    return ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn"))


def test_a_rounds_merges_written_side_by_side_equal_the_same_merges_one_by_one(unmerged, tmp_path):
    """The end of a run: tier groups and the fold written by worker processes, one commit."""
    import shutil

    ix = unmerged
    before, stored = _answers(ix), [ix.get(f"d{i}") for i in range(len(ix))]
    shutil.copytree(ix.path, tmp_path / "serial")
    serial = Index.open(tmp_path / "serial")
    assert serial._store.merge(written=200)
    submitted = []
    with _spawned_pool() as pool:
        def submit(fn, *args):
            submitted.append(args[1])
            return pool.submit(fn, *args)

        assert ix._store.merge(written=200, submit=submit)
    # round one: ten of 3, ten of 12 and the fold of the rest (12, 40, 5) side by side
    assert [len(ids) for ids in submitted] == [10, 10, 3]
    fresh = Index.open(ix.path)
    assert fresh._store.segment_count() == Index.open(serial.path)._store.segment_count() == 3
    assert _answers(fresh) == _answers(Index.open(serial.path)) == before
    assert [fresh.get(f"d{i}") for i in range(len(stored))] == stored
    assert fresh.check() == []
    assert not [p.name for p in ix.path.iterdir() if ".tmp" in p.name]  # no merge's scratch folder left


def test_a_failed_merge_among_side_by_side_ones_leaves_the_index_as_it_was(unmerged):
    from concurrent.futures import Future

    ix = unmerged
    before = _answers(ix)
    files = sorted(p.name for p in ix.path.iterdir())
    calls = []

    def submit(fn, *args):  # the first merge is written (its files land in the folder), the second fails
        calls.append(args)
        done = Future()
        if len(calls) == 1:
            done.set_result(fn(*args))
        else:
            done.set_exception(OSError(28, "No space left on device"))
        return done

    with pytest.raises(OSError):
        ix._store.merge(written=200, submit=submit)
    fresh = Index.open(ix.path)
    assert fresh._store.segment_count() == 23 and _answers(fresh) == before
    assert sorted(p.name for p in ix.path.iterdir()) == files  # the written segment removed with its sums


def test_a_parallel_run_has_its_workers_write_the_end_merges(tmp_path, monkeypatch):
    from vnsearch.index import _ListSource

    rounds = []
    real = Store._merge_groups

    def recorded(self, groups, limitmb, submit):
        rounds.append((len(groups), submit is not None))
        return real(self, groups, limitmb, submit)

    monkeypatch.setattr(Store, "_merge_groups", recorded)
    two = Index.open(tmp_path / "two", create=True)
    report = two.add_from([_ListSource(_docs(0, 39))], jobs=2, batch_docs=3)  # 13 commits of 3
    assert report.commits == 13 and rounds == [(2, True)]  # ten of 3 beside the fold of the other three
    one = Index.open(tmp_path / "one", create=True)
    one.add_from([_ListSource(_docs(0, 39))], jobs=1, batch_docs=3)
    assert rounds[1:] == [(2, False)]  # one process: the same merges, one after the other
    assert two._store.segment_count() == one._store.segment_count() == 2
    assert _answers(Index.open(two.path)) == _answers(Index.open(one.path))
    assert Index.open(two.path).check() == [] and len(two) == 39
    assert not [p.name for p in two.path.iterdir() if ".tmp" in p.name]

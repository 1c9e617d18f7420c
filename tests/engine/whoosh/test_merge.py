"""Segments merged by copying blocks: every document kept, the same answers, logarithmic counts."""

import pytest

from vnsearch import Document, Index
from vnsearch.engine.whoosh import merge as M
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


def test_segments_with_deletions_are_left_to_whoosh(unmerged):
    ix = unmerged
    ix.delete(["d1"])  # in the first segment
    reader = ix._store._ix.reader()
    try:
        marks = [M.mergeable(seg) for seg, _ in reader.leaf_readers()]
    finally:
        reader.close()
    assert marks.count(False) == 1 and not marks[0]
    ix._store.merge()
    fresh = Index.open(ix.path)
    assert len(fresh) == 3 * 10 + 12 * 11 + 45 - 1 and fresh.get("d1") is None
    assert fresh.check() == []


def test_a_failed_merge_leaves_the_index_as_it_was(unmerged, monkeypatch):
    ix = unmerged
    before = _answers(ix)
    files = sorted(p.name for p in ix.path.iterdir())
    calls = []

    def failing(r, field, base):
        calls.append(field)
        if len(calls) > 8:
            raise OSError(28, "No space left on device")
        return real(r, field, base)

    real = M._field_blocks
    monkeypatch.setattr(M, "_field_blocks", failing)
    with pytest.raises(OSError):
        ix._store.merge()
    fresh = Index.open(ix.path)
    assert fresh._store.segment_count() == 23 and _answers(fresh) == before
    assert sorted(p.name for p in ix.path.iterdir()) == files


def test_plan_groups_ten_of_a_size_class():
    segs = [("a", 5, True)] * 12 + [("b", 50, True)] * 9 + [("c", 7, False)] * 20 + [("d", 5000, True)] * 10
    groups = M.plan_merges(segs)
    assert [len(g) for g in groups] == [10, 10]  # ten of class 0, ten of class 3; nine of class 1 wait
    assert set(groups[0]) == {"a"} and set(groups[1]) == {"d"}
    assert M.plan_merges([("x", 0, True)] * 9) == []


def test_a_segment_another_writer_wrote_is_left_to_whoosh(unmerged, monkeypatch):
    ix = unmerged
    before = _answers(ix)
    real = M._rebased
    seen = []

    def foreign(raw, base):
        seen.append(1)
        if len(seen) > 50:
            raise M.NotBulkWritten("a posting block the bulk writer did not write")
        return real(raw, base)

    monkeypatch.setattr(M, "_rebased", foreign)
    ix._store.merge()  # no error: the group is skipped, Whoosh merges what it merges
    fresh = Index.open(ix.path)
    ids = lambda answers: [(q, total, [h[0] for h in hits]) for q, total, hits in answers]  # noqa: E731
    assert ids(_answers(fresh)) == ids(before)  # Whoosh's merge moves scores a little, not matches
    assert fresh.check() == [] and fresh._store.segment_count() < 23

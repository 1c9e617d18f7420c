"""The word model: built from the term dictionary, saved by the writer per commit, mapped by searchers."""

import math
import random

import pytest

from vnsearch import Document, Index
from vnsearch.search import vocabulary as V
from vnsearch.search.vocabulary import FILE, Vocabulary, saved_segments

FREQS = {"lên": 50, "mặt_trăng": 7, "mặt": 30, "trăng": 9, "trang": 20, "lên_mặt": 4, "hà_nội": 12, "hạ": 3,
         "nội": 8, "hà": 5, "hả_nơi": 12, "a_b_c_d_e": 40, "x__y": 9}


def test_lookups_follow_the_frequencies():
    v = Vocabulary.build(FREQS, segments="s3")
    total = sum(df for t, df in FREQS.items() if t not in ("a_b_c_d_e", "x__y"))  # 5 syllables, empty part
    assert v.total == total
    assert v.word(("mặt", "trăng")) == pytest.approx(math.log(7 / total))
    assert v.word(("a", "b", "c", "d", "e")) is None and v.word(("x", "", "y")) is None
    assert v.form(("mat", "trang"))[0] == "mặt trăng"
    assert v.form(("ha", "noi"))[0] == "hà nội"  # a tie: the first met wins, as the term order has it
    assert v.form(("khong",)) is None
    assert v.restore(["len", "mat", "trang"]) == ["lên", "mặt trăng"]
    assert v.segment(["lên", "mặt", "trăng"]) == ["lên", "mặt_trăng"]
    assert v.restore(["zzz"]) == ["zzz"]  # unknown: kept as typed


def test_saved_and_mapped_back_answer_the_same(tmp_path):
    rng = random.Random(5)
    syl = ["ha", "hà", "hạ", "noi", "nội", "mưa", "lũ", "bão", "to", "tô", "tố"]
    freqs = {"_".join(rng.choice(syl) for _ in range(rng.randint(1, 4))): rng.randint(1, 99) for _ in range(400)}
    built = Vocabulary.build(freqs, segments="s7")
    built.save(tmp_path)
    assert saved_segments(tmp_path) == "s7"
    mapped = Vocabulary.load(tmp_path, "s7")
    assert mapped is not None and mapped.damage() is None
    for _ in range(300):
        q = [rng.choice(syl) for _ in range(rng.randint(1, 6))]
        assert mapped.restore(q) == built.restore(q)
        assert mapped.segment(q) == built.segment(q)
    assert Vocabulary.load(tmp_path, "s7 s8") is None  # a model of other segments is not used


@pytest.mark.parametrize("damage", ["missing", "empty", "garbage", "cut", "other magic"])
def test_an_unreadable_file_is_not_used(tmp_path, damage):
    Vocabulary.build(FREQS, segments="s2").save(tmp_path)
    f = tmp_path / FILE
    data = f.read_bytes()
    if damage == "missing":
        f.unlink()
    elif damage == "empty":
        f.write_bytes(b"")
    elif damage == "garbage":
        f.write_bytes(bytes(range(256)) * 10)
    elif damage == "cut":
        f.write_bytes(data[: len(data) - 40])
    else:
        f.write_bytes(b"VNVOCAB1" + data[8:])  # an older layout
    assert Vocabulary.load(tmp_path, "s2") is None
    assert saved_segments(tmp_path) in (None, "s2")


def test_the_writer_saves_the_model_of_each_commit_and_searches_use_it(tmp_path, monkeypatch):
    ix = Index.open(tmp_path / "ix", create=True)
    ix.add([Document("a", "Trăng", "Con người lên mặt trăng năm 1969."),
            Document("b", "Trang", "Trang sách mở ra trước mặt.")])
    snap = ix._get_snapshot()
    assert saved_segments(ix.path) == snap.segments
    built, build = [], V.Vocabulary.build

    def counting(*args):
        built.append(1)
        return build(*args)

    monkeypatch.setattr(V.Vocabulary, "build", staticmethod(counting))
    fresh = Index.open(ix.path)
    assert fresh.restore_accents("len mat trang") == "lên mặt trăng"
    assert not built  # read from the file, not built
    fresh.delete(["b"])  # a commit that only deletes: the same segments, the saved model holds
    assert saved_segments(ix.path) == fresh._get_snapshot().segments and not built
    assert fresh.restore_accents("len mat trang") == "lên mặt trăng" and not built
    fresh.add([Document("c", "Mới", "Mặt trăng tròn.")])  # a new segment: a new model saved with it
    assert saved_segments(ix.path) == fresh._get_snapshot().segments != snap.segments
    assert built == [1]
    (ix.path / FILE).write_bytes(b"junk")  # unreadable: searches build one, and say nothing
    third = Index.open(ix.path)
    assert third.restore_accents("len mat trang") == "lên mặt trăng"
    assert built == [1, 1]
    assert third.check() == []  # a file that cannot be read is not used, so it harms nothing


def test_check_reports_a_damaged_model(tmp_path):
    ix = Index.open(tmp_path / "ix", create=True)
    ix.add([Document("a", "Trăng", "Con người lên mặt trăng năm 1969.")])
    f = ix.path / FILE
    data = bytearray(f.read_bytes())
    data[-20] ^= 0x40  # a flipped bit in the arrays
    f.write_bytes(bytes(data))
    problems = Index.open(ix.path).check()
    assert len(problems) == 1 and FILE in problems[0] and "damaged" in problems[0]


def test_a_rebuild_saves_the_model_of_the_swapped_in_index(tmp_path):
    from vnsearch.ingest.sources import open_source

    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.txt").write_text("Trăng\nCon người lên mặt trăng.", encoding="utf-8")
    ix = Index.open(tmp_path / "ix", create=True)
    ix.add_sources([str(folder)])
    Index.rebuild(ix.path, [open_source(str(folder))])
    assert saved_segments(ix.path) == Index.open(ix.path)._get_snapshot().segments
    assert not (ix.path / ".vnsearch-rebuild").exists()


def test_near_finds_what_whooshs_terms_within_finds(tmp_path):
    """Typo candidates from the saved syllables: the same set as Whoosh's Damerau-Levenshtein
    walk over the term dictionary (a swap is one edit), with the same document frequencies."""
    ix = Index.open(tmp_path / "ix", create=True)
    words = ["ngày", "nay", "này", "nga", "ngà", "ngay", "hôm", "hơn", "hòm", "tháng", "thắng", "thanh", "thành",
             "mourinho", "chelsea", "giá", "vàng", "gia", "vang", "vâng", "ab", "ba", "x"]
    rng = random.Random(3)
    ix.add([Document(f"d{i}", "Tin", " ".join(rng.choice(words) for _ in range(12))) for i in range(60)])
    ix.add([Document(f"e{i}", "Tin", " ".join(rng.choice(words) for _ in range(12))) for i in range(40)])
    snap = ix._get_snapshot()
    v = Vocabulary.load(ix.path, snap.segments)
    assert v is not None
    for typed in ["nya", "ngya", "hmo", "thnag", "mourino", "chelsae", "gai", "vnag", "b", "a", "xx", "zzz", "tahnh"]:
        for d in (1, 2):
            got = dict(v.near(typed, d, prefix=1))
            assert set(got) == set(snap.terms_within("folded", typed, d, prefix=1)), (typed, d)
            assert all(df == snap.doc_frequency("folded", t) for t, df in got.items())
    from vnsearch.search.suggest import nearest

    assert nearest(snap, "nya", v) == "nay"  # a swap first
    assert nearest(snap, "mourino", v) == "mourinho"  # then one edit


def test_a_model_that_cannot_be_saved_fails_nothing(tmp_path, monkeypatch):
    def full(self, folder):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(V.Vocabulary, "save", full)
    ix = Index.open(tmp_path / "ix", create=True)
    report = ix.add([Document("a", "Trăng", "Con người lên mặt trăng.")])
    assert report.added == 1 and saved_segments(ix.path) is None
    assert ix.restore_accents("mat trang") == "mặt trăng"  # built in memory instead
    assert not list(ix.path.glob("*.tmp"))


def test_a_save_cut_short_leaves_no_file_behind(tmp_path, monkeypatch):
    Vocabulary.build(FREQS, segments="s1").save(tmp_path)

    def full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(V.os, "fsync", full)
    with pytest.raises(OSError):
        Vocabulary.build(FREQS, segments="s2").save(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == [FILE] and saved_segments(tmp_path) == "s1"

import json
import os
import signal
import subprocess
import sys
import time
import unicodedata
from datetime import datetime

import pytest

from vnsearch import Document, Index, QueryError
from vnsearch.errors import IndexLockedError, IndexNotFoundError, IndexVersionError
from vnsearch.text.normalize import fold
from vnsearch.ingest.sources import FieldMap
from vnsearch.engine.whoosh.storage import LOCK, WriteLock, read_meta, write_meta

from conftest import BAOMOI, CORPUS, read_baomoi


@pytest.fixture(scope="module")
def news_index(tmp_path_factory):
    """The seed articles plus 500 baomoi articles (seeds only when the data is absent)."""
    path = tmp_path_factory.mktemp("news") / "index"
    ix = Index.open(path, create=True)
    ix.add_sources([str(CORPUS)], jobs=1)
    if BAOMOI.exists():
        src = tmp_path_factory.mktemp("src") / "b.jsonl"
        import json

        with open(src, "w", encoding="utf-8") as f:
            for r in read_baomoi(500):
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
        ix.add_sources([str(src)], fields=FieldMap(id="name"), jobs=2)
    return ix


def ids(res):
    """Hits' ids; a folder's documents (named by their absolute paths) by their file names."""
    return [h.id.rsplit("/", 1)[-1] if h.id.startswith("/") else h.id for h in res.hits]


def test_counts(news_index):
    assert len(news_index) == (502 if BAOMOI.exists() else 2)


def test_multi_syllable_word_unquoted(news_index):
    res = news_index.search("Sư đoàn")
    assert res.parsed == "sư_đoàn"
    assert ids(res)[0].startswith("000_")


def test_query_without_diacritics_finds_accented(news_index):
    accented = news_index.search("phối hợp hoạt động", limit=5)
    plain = news_index.search("phoi hop hoat dong", limit=5)
    assert plain.total > 0
    assert set(ids(plain)) & set(ids(accented))


def test_tone_placement_variants_match(news_index):
    a = news_index.search("thuỷ lợi hoà bình")
    b = news_index.search("thủy lợi hòa bình")
    assert ids(a) == ids(b)
    assert a.parsed == b.parsed


def test_phrase(news_index):
    res = news_index.search('"Sư đoàn 320"')
    assert ids(res) == ["000_57dfbb89b4543d5f.txt"]


def test_title_filter(news_index):
    assert ids(news_index.search("title:Pleiku")) == ["000_57dfbb89b4543d5f.txt"]
    assert ids(news_index.search("title:tổng kết")) == ["004_dfb1a9a1891b3a08.txt"]


def test_date_range(news_index):
    assert ids(news_index.search("date:[2023-07 TO 2023-08] Pleiku")) == ["000_57dfbb89b4543d5f.txt"]
    assert news_index.search("Pleiku", since=datetime(2024, 1, 1)).total == 0
    assert news_index.search("Pleiku", until=datetime(2023, 12, 31)).total == 1
    assert ids(news_index.search("date:2023-07")) == ["000_57dfbb89b4543d5f.txt"]


@pytest.mark.parametrize("query", ["date:abc Pleiku", "date:[2023 TO abc]", "date:[abc TO 2023]"])
def test_bad_dates_are_errors_not_empty_results(news_index, query):
    with pytest.raises(QueryError, match="not a date"):
        news_index.search(query)


def test_no_hits_gets_suggestion(news_index):
    res = news_index.search("Pleikuu")
    assert res.total == 0
    assert res.suggestion == "pleiku"


def test_accent_restoration_suggestion(news_index):
    res = news_index.search("su doan")
    assert res.total > 0
    assert news_index.suggest("su doan") == "sư đoàn"


def test_highlights_slice_stored_text(news_index):
    res = news_index.search("phối hợp Pleiku", limit=5)
    assert res.hits
    for hit in res.hits:
        body = news_index.get(hit.id)["body"]
        for frag in hit.fragments:
            assert body[frag.start : frag.end] == frag.text
            for a, b in frag.highlights:
                words = fold(frag.text[a:b]).split()
                assert words and all(w in ("phoi", "hop", "pleiku") for w in words)


def test_bad_query_is_a_query_error(news_index):
    with pytest.raises(QueryError) as e:
        news_index.search('"unterminated')
    assert e.value.position == 0


def test_paging_and_sorting(news_index):
    first = news_index.search("hợp tác", limit=3, page=1)
    second = news_index.search("hợp tác", limit=3, page=2)
    assert not set(ids(first)) & set(ids(second))
    by_date = news_index.search("Pleiku OR CHQS", sort="date")
    assert by_date.hits[0].date is not None


@pytest.fixture
def small(tmp_path):
    return Index.open(tmp_path / "ix", create=True)


def test_exact_accents_rank_first(small):
    small.add([
        Document("flower", "Hoa", "Vườn hoa đẹp nhất thành phố, hoa nở quanh năm."),
        Document("peace", "Hòa", "Hòa bình và hòa hợp dân tộc, hòa nhập cộng đồng."),
    ])
    assert ids(small.search("hòa"))[0] == "peace"
    assert ids(small.search("hoa"))[0] == "flower"
    assert set(ids(small.search("hoa"))) == {"flower", "peace"}


def test_accentless_query_ranks_restored_accents_first(small):
    small.add([
        Document("moon", "Mặt trăng", "Con người đặt chân lên mặt trăng năm 1969. Mặt trăng quay quanh Trái Đất."),
        Document("moon2", "Ngắm trăng", "Đêm nay ngắm mặt trăng tròn, mặt trăng sáng."),
        Document("white", "Tường", "Bức tường mặt trắng, áo trắng."),
    ])
    assert small.restore_accents("len mat trang") == "lên mặt trăng"  # not the greedy "lên mặt" + "trang"
    res = small.search("mat trang")
    assert res.parsed == "mặt_trăng"
    assert set(ids(res)[:2]) == {"moon", "moon2"} and "white" in ids(res)  # restoration ranks, never filters
    assert small.restore_accents("mặt trăng") is None  # typed accents are kept as they are
    assert small.restore_accents('"mat trang"') is None  # and so is syntax
    assert small.restore_accents("mat trang?") == "mặt trăng"  # a question mark is not syntax


def test_nfd_and_long_documents_highlight(small):
    long_body = "Văn bản dài không liên quan. " * 3000 + "Cuối cùng là Hà Nội."
    nfd = unicodedata.normalize("NFD", "Thủ đô Hà Nội mùa thu")
    small.add([Document("long", "Dài", long_body), Document("nfd", "NFD", nfd)])
    for doc_id in ("long", "nfd"):
        res = small.search("Hà Nội", limit=5)
        hit = next(h for h in res.hits if h.id == doc_id)
        spans = [f.text[a:b] for f in hit.fragments for a, b in f.highlights]
        assert "Hà Nội" in spans
    assert len(long_body) > 32 * 1024


def test_incremental_folder(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.txt").write_text("Tiêu đề A\nNội dung về công nghệ.", encoding="utf-8")
    (folder / "b.txt").write_text("Tiêu đề B\nNội dung về kinh tế.", encoding="utf-8")
    ix = Index.open(tmp_path / "ix", create=True)
    r = ix.add_sources([str(folder)], jobs=1)
    assert (r.added, r.updated, r.unchanged, r.removed) == (2, 0, 0, 0)
    r = ix.add_sources([str(folder)], jobs=1)
    assert (r.added, r.updated, r.unchanged, r.removed) == (0, 0, 2, 0)
    (folder / "a.txt").write_text("Tiêu đề A\nNội dung về nông nghiệp.", encoding="utf-8")
    (folder / "b.txt").unlink()
    (folder / "c.md").write_text("Tiêu đề C\nBáo cáo.", encoding="utf-8")
    r = ix.add_sources([str(folder)], jobs=1)
    assert (r.added, r.updated, r.unchanged, r.removed) == (1, 1, 0, 1)
    assert len(ix) == 2
    assert ids(ix.search("nông nghiệp")) == ["a.txt"]
    assert ix.search("công nghệ").total == 0


def test_missing_index_and_version(tmp_path):
    with pytest.raises(IndexNotFoundError):
        Index.open(tmp_path / "nothing")
    ix = Index.open(tmp_path / "ix", create=True)
    meta = read_meta(ix.path)
    meta["schema_version"] = 999
    write_meta(ix.path, meta)
    with pytest.raises(IndexVersionError, match="rebuild|Rebuild"):
        Index.open(tmp_path / "ix")


def test_second_writer_waits_then_names_the_lock(small):
    with WriteLock(small.path):
        t0 = time.monotonic()
        with pytest.raises(IndexLockedError) as e:
            small.add([Document("x", "x", "y")], lock_timeout=0.5)
        assert time.monotonic() - t0 >= 0.5
    assert LOCK in str(e.value)
    assert small.search("x").total == 0  # searches never wait for the lock
    small.add([Document("x", "x", "y")])
    assert len(small) == 1


KILL_SCRIPT = """
import sys
from vnsearch import Index
from vnsearch.ingest.sources import FieldMap
ix = Index.open(sys.argv[1], create=True)
ix.add_sources([sys.argv[2]], fields=FieldMap(id="name"), jobs=2, batch_docs=100)
"""


def test_sigkill_mid_run_keeps_index_and_rerun_completes(tmp_path):
    import json

    n = 1200
    src = tmp_path / "b.jsonl"
    records = read_baomoi(n)
    with open(src, "w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    path = tmp_path / "ix"
    proc = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, str(path), str(src)], start_new_session=True)
    deadline = time.time() + 120
    # kill once at least one batch is committed, mid-run
    while time.time() < deadline:
        if (path / "vnsearch.json").exists() and any(p.name.endswith(".toc") and p.name != "_MAIN_0.toc" for p in path.iterdir()):
            break
        time.sleep(0.05)
    time.sleep(0.3)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    ix = Index.open(path)
    kept = len(ix)
    assert 0 < kept < n
    assert ix.search("Việt Nam").total > 0
    r = ix.add_sources([str(src)], fields=FieldMap(id="name"), jobs=2)
    assert r.unchanged == kept
    ix.reload()
    assert len(ix) == n


def test_field_value_with_spaces(small):
    small.add([Document("ghi chú/a b.txt", "Tiêu đề", "nội dung"), Document("b.txt", "Khác", "nội dung")])
    assert ids(small.search('id:"ghi chú/a b.txt"')) == ["ghi chú/a b.txt"]
    assert ids(small.search('nội dung id:"ghi chú/a b.txt"')) == ["ghi chú/a b.txt"]


# -- honest query handling (issue 14, first items) -------------------------------------------
@pytest.fixture
def football(tmp_path):
    ix = Index.open(tmp_path / "ix", create=True)
    ix.add([Document("c1", "Chelsea thắng", "Bóng đá Anh: Chelsea thắng trận, Mourinho vui."),
            Document("m1", "Man Utd hòa", "Bóng đá Anh: Man Utd hòa, khán giả buồn."),
            Document("v1", "Xổ số", "Vietlott công bố kết quả xổ số hôm nay."),
            Document("q1", "Phát biểu", "Ông Nguyễn Đức Chung nói về Hà Nội.")])
    return ix


def test_minus_excludes_like_not(football):
    assert ids(football.search("bóng đá -Chelsea")) == ["m1"]
    assert ids(football.search("bóng đá NOT Chelsea")) == ["m1"]
    # in a long query (OR of its words) too: an exclusion is never "or anything without it"
    long = football.search("bóng đá Anh trận khán giả -Chelsea")
    assert set(ids(long)) == {"m1"}
    assert football.search("-5 độ").query == "-5 độ"  # a minus before a number is text


def test_curly_and_angle_quotes_are_quotes(football):
    for q in ("“ông Nguyễn Đức Chung”", "«Nguyễn Đức Chung»", "„Nguyễn Đức Chung”"):
        res = football.search(q)
        assert ids(res) == ["q1"] and res.parsed.startswith('"')
    for q in ("phim «Nguyễn Đức Chung", "Chung” nói"):  # a lone one is punctuation, not an error
        assert ids(football.search(q)) == ["q1"]


def test_the_or_fallback_is_said(football):
    from click.testing import CliRunner
    from vnsearch.cli import main

    res = football.search("vietlott Bitcoin")
    assert res.fallback and ids(res) == ["v1"]
    assert not football.search("vietlott xổ số").fallback
    r = CliRunner().invoke(main, ["--index", str(football.path), "search", "vietlott Bitcoin"])
    assert "No document holds every word" in r.output
    r = CliRunner().invoke(main, ["--index", str(football.path), "search", "vietlott Bitcoin", "--json"])
    assert json.loads(r.output)["fallback"] is True


def test_an_unknown_word_gets_a_suggestion_even_when_others_match(football):
    res = football.search("Mourino Chelsea")
    assert res.total >= 1 and res.suggestion == "mourinho chelsea"


@pytest.mark.parametrize("q", ["", "   ", "\t\n"])
def test_an_empty_query_is_an_error(football, q):
    from click.testing import CliRunner
    from vnsearch.cli import main

    with pytest.raises(QueryError, match="empty"):
        football.search(q)
    r = CliRunner().invoke(main, ["--index", str(football.path), "search", q])
    assert r.exit_code == 2 and "empty" in r.output


# -- accents as typed (issue 14, first rule) ---------------------------------------------------
@pytest.fixture
def tones(tmp_path):
    ix = Index.open(tmp_path / "ix", create=True)
    ix.add([Document("fire", "Tin", "Nhà bị cháy lúc nửa đêm."),
            Document("run", "Tin", "Anh ấy chạy bộ mỗi sáng."),
            Document("city", "Tin", "Thủ đô Hà Nội mùa thu."),
            Document("pot", "Tin", "Cái xoong ở hà nơi khác."),
            Document("dn", "Tin", "Du lịch Đà Nẵng rất đẹp."),
            Document("da", "Tin", "Anh đã năng động hơn."),
            Document("peace", "Tin", "Hòa bình cho mọi người.")])
    return ix


def test_a_word_typed_with_diacritics_matches_those_diacritics(tones):
    from vnsearch.cli.render import snippet

    res = tones.search("cháy")
    assert ids(res) == ["fire"] and res.total == 1
    assert [snippet(h.fragments)[0][a:b] for h in res.hits for a, b in snippet(h.fragments)[1]] == ["cháy"]
    assert ids(tones.search("chạy")) == ["run"]
    assert sorted(ids(tones.search("chay"))) == ["fire", "run"]  # no diacritic: every variant
    assert ids(tones.search("Hà Nội")) == ["city"]  # not "hà nơi"
    assert "city" in ids(tones.search("ha noi")) and not tones.search("Hà Nội").accents_ignored
    assert ids(tones.search('"Đà Nẵng"')) == ["dn"]  # not "đã năng"
    assert ids(tones.search("hoà bình")) == ["peace"]  # tone placement does not matter
    assert sorted(ids(tones.search("cháy OR chay"))) == ["fire", "run"]  # decided per word


def test_when_nothing_has_the_diacritics_as_typed_any_are_used_and_said(tones):
    from click.testing import CliRunner
    from vnsearch.cli import main

    res = tones.search("Hà Nồi")  # nobody wrote nồi here
    assert res.accents_ignored and "city" in ids(res)
    r = CliRunner().invoke(main, ["--index", str(tones.path), "search", "Hà Nồi", "--json"])
    assert json.loads(r.output)["accents_ignored"] is True
    r = CliRunner().invoke(main, ["--index", str(tones.path), "search", "Hà Nồi"])
    assert "any diacritics" in r.output


def test_short_queries_read_the_same_in_any_case(tmp_path):
    ix = Index.open(tmp_path / "ix", create=True)
    ix.add([Document("pm", "Thủ tướng Nguyễn Xuân Phúc", "Thủ tướng Nguyễn Xuân Phúc tiếp đoàn khách quốc tế."),
            Document("xuan", "Đầu xuân", "Đầu xuân của Công an huyện Phú Xuyên, nguyễn liệu mới."),
            Document("pm2", "Tin", "Ông Nguyễn Xuân Phúc phát biểu tại hội nghị.")])
    forms = ("Nguyễn Xuân Phúc", "nguyễn xuân phúc", "NGUYỄN XUÂN PHÚC")
    results = [ix.search(q) for q in forms]
    assert len({r.parsed for r in results}) == 1 and results[0].parsed == "nguyễn_xuân_phúc"
    assert len({tuple(ids(r)) for r in results}) == 1
    assert set(ids(results[0])[:2]) == {"pm", "pm2"}


def test_two_swapped_letters_are_one_typo(tmp_path):
    ix = Index.open(tmp_path / "ix", create=True)
    ix.add([Document("n", "Giá vàng", "Giá vàng hôm nay tăng mạnh."),
            *[Document(f"m{i}", "Tin", "Nga và nhà nông hôm qua.") for i in range(3)]])  # nga, nha: commoner
    res = ix.search("giá vàng hôm nya")
    assert res.suggestion == "giá vàng hôm nay"


def test_optimize_merges_into_one_segment_a_shard_and_keeps_every_answer(tmp_path):
    from click.testing import CliRunner

    from vnsearch.cli.commands import main
    from vnsearch.search.vocabulary import saved_segments

    docs = [Document(id=f"d{i}", title=f"Tin {i}", body=f"Hà Nội mưa lớn {i}. " * (1 + i % 4)
                     + ("Công nghệ thông tin. " if i % 3 else "Thủy điện xả lũ. ")) for i in range(90)]
    one = Index.open(tmp_path / "one", create=True, shards=1)
    for i in range(0, 90, 30):  # three commits: three segments
        one.add(docs[i : i + 30])
    queries = ["Hà Nội", "cong nghe thong tin", "thủy điện xả lũ", "mưa lớn 17", "\"thông tin\""]
    before = {q: [(h.id, h.score) for h in one.search(q, limit=100).hits] for q in queries}
    out = one.optimize()
    assert (out["segments_before"], out["segments_after"]) == (3, 1)
    assert {q: [(h.id, h.score) for h in one.search(q, limit=100).hits] for q in queries} == before
    assert saved_segments(one.path) == one._get_snapshot().segments  # the word model follows
    assert one.check() == [] and one.optimize()["segments_after"] == 1

    two = Index.open(tmp_path / "two", create=True, shards=2)
    two.add(docs[:50])
    two.add(docs[50:])
    two.delete([f"d{i}" for i in range(0, 90, 9)])
    res = json.loads(CliRunner().invoke(main, ["--index", str(two.path), "optimize", "--json"]).output)
    assert res["segments_after"] == 2  # one a shard
    folder = tmp_path / "docs"
    folder.mkdir()
    for i in range(3):
        (folder / f"{i}.txt").write_text(f"Tin {i}\n\nHà Nội mưa lớn.\n", encoding="utf-8")
    for _ in range(2):  # the second run adds nothing: nothing to merge, and no harm
        out = CliRunner().invoke(main, ["--index", str(two.path), "index", "--optimize", "--json", str(folder)])
        assert out.exit_code == 0, out.output
    assert Index.open(two.path).stats()["segments"] == 2
    two = Index.open(two.path)
    snap = two._get_snapshot()
    assert snap.n == 83 and len(two) == 83  # the deleted documents are gone, not just hidden
    assert two.search("Hà Nội", limit=100).total == 83 and two.check() == []

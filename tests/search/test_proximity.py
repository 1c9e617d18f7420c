"""Proximity and coverage: words side by side in the query rank documents holding them side by side,
and a short query's documents holding more of its words rank above those repeating fewer."""

import pytest

from vnsearch import Document, Index
from vnsearch.query.plan import Ranking
from vnsearch.query.plan import Adjacent, Planner, parse


def ids(res):
    return [h.id for h in res.hits]


@pytest.fixture(scope="module")
def news(tmp_path_factory):
    ix = Index.open(tmp_path_factory.mktemp("prox") / "ix", create=True)
    ix.add([
        Document("company", "Tin", "Công ty Phượng Hoàng. Công ty Phượng Hoàng là công ty lớn, ông Phượng nói "
                                   "công ty sẽ mở rộng, công ty Phượng Hoàng."),
        Document("player", "Tin", "Trong trận đấu tối qua, cầu thủ Công Phượng đã ghi một bàn thắng đẹp mắt cho "
                                  "đội nhà trước hàng nghìn khán giả."),
        Document("repeat", "Tin", "Giá vàng, giá vàng, giá vàng: giá vàng hôm nay ra sao, giá vàng thế nào."),
        Document("all", "Tin", "Sáng nay ở Hà Nội, người mua vàng miếng SJC thấy giá đã tăng so với hôm qua."),
        *[Document(f"x{i}", "Tin", f"Thời tiết ngày {i} nắng nhẹ, gió nhẹ, giá rau ổn định.") for i in range(20)],
    ])
    return ix


def _scores(ix, q, **ranking):
    res = Index.open(ix.path, ranking=Ranking(**ranking)).search(q)
    return {h.id: h.score for h in res.hits}, ids(res)


APART = {"short_queries_side_by_side": False, "words_side_by_side": False}  # matching as a bag


def test_a_name_side_by_side_outranks_its_syllables_apart(news):
    assert _scores(news, "cong phuong", **APART)[1][0] == "player"
    assert _scores(news, "Công Phượng", **APART)[1][0] == "player"
    # without the rule, the article repeating "Công ty ... Phượng" wins: the rule decides
    assert _scores(news, "cong phuong", proximity=0.0, **APART)[1][0] == "company"


def test_a_short_query_finds_its_syllables_side_by_side_first(news):
    for q in ("Công Phượng", "công phượng", "cong phuong"):
        res = news.search(q)
        assert ids(res) == ["player"] and res.total == 1, q
    # nothing has them side by side: anywhere, as before
    assert set(ids(news.search("Phượng công"))) == {"company", "player"}


def test_a_word_of_several_syllables_is_found_side_by_side(tmp_path):
    ix = Index.open(tmp_path / "ix", create=True)
    ix.add([Document("a", "Tin", "Thành phố Hồ Chí Minh mưa lớn."),
            Document("b", "Tin", "Hồ nước ở phố cổ, thành cổ Chí Linh, ông Minh.")])
    res = ix.search("thành phố hồ chí minh mưa")  # long enough to be read by pyvi, ORed word by word
    assert ids(res)[0] == "a"
    assert all(h.id != "b" or h.score < res.hits[0].score / 2 for h in res.hits)


def test_a_short_query_weighs_documents_by_the_share_of_its_words_they_hold(news):
    q = "giá vàng SJC Hà Nội tăng"
    on, order = _scores(news, q, proximity=0.0)
    off, _ = _scores(news, q, proximity=0.0, coverage=0.0)
    assert order[0] == "all" and on["all"] == pytest.approx(off["all"])  # holds every word: unchanged
    assert on["repeat"] < 0.8 * off["repeat"]  # lacks the rarest words: weighs less
    long_q = q + " người mua miếng thấy đã"  # a long query (a question) is left alone
    assert _scores(news, long_q, proximity=0.0)[0]["repeat"] == pytest.approx(
        _scores(news, long_q, proximity=0.0, coverage=0.0)[0]["repeat"])


def test_the_pairs_scored_are_side_by_side_in_the_query_not_across_punctuation():
    near = Planner(Ranking()).proximity(parse("Công Phượng ghi bàn, đội nhà thắng"))
    assert near == Adjacent((("cong", "phuong"), ("phuong", "ghi"), ("ghi", "ban"), ("doi", "nha"),
                             ("nha", "thang")), 2.0)
    assert Planner(Ranking()).proximity(parse('"Công Phượng" ghi')) is None  # syntax: not free text
    long = " ".join(["mưa"] + ["to"] * 12)
    assert Planner(Ranking()).proximity(parse(long)) is None  # over proximity_max_syllables


def test_quotes_make_even_one_word_exact(news):
    for q in ('"Công Phượng"', "“công phượng”", '"cong phuong"'):
        res = news.search(q)
        assert ids(res) == ["player"] and res.total == 1, q

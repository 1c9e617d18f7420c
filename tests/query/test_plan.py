"""From a parsed query to a plan: fields, weights, operators, dates, filters."""

from datetime import datetime

import pytest

from vnsearch.errors import QueryError
from vnsearch.query import plan as P
from vnsearch.query.plan import Planner, Ranking, date_span, parse, uses_and


BAG = Ranking(proximity=0.0)  # without the proximity clause, to look at what matches


def _plan(text, **kw):
    return Planner(BAG, **kw).plan(parse(text))


def test_a_word_typed_with_diacritics_must_match_them():
    p = _plan("cháy")
    assert p == P.Maybe(P.Term("syllables", "cháy", 0.25), P.Term("words", "cháy", 1.0))


def test_a_word_typed_without_any_matches_any_diacritics():
    p = _plan("chay")
    assert p.required == P.Term("folded", "chay", 0.25)
    assert P.Term("words", "chay", 1.0) in p.optional.items


def test_guessed_accents_weigh_less_and_never_restrict():
    p = Planner(BAG, exact=0.3).plan(parse("cháy"))
    assert p.required == P.Term("folded", "chay", 0.25)  # matching on folded syllables, not the guess
    assert P.Term("words", "cháy", 0.3) in p.optional.items


def test_side_by_side_words_follow_the_operator_policy():
    short, long = parse("giá vàng"), parse("giá vàng hôm nay tăng mạnh ở hà nội")
    assert uses_and(short, Ranking()) and not uses_and(long, Ranking())
    assert isinstance(Planner(BAG, use_and=True).plan(short), P.And)
    assert isinstance(Planner(BAG, use_and=False).plan(short), P.Or)
    near = Planner(Ranking(), use_and=True).plan(short)
    assert isinstance(near, P.Maybe) and near.optional == P.Adjacent((("gia", "vang"),), 2.0)


def test_an_exclusion_among_ors_is_a_without():
    p = Planner(BAG, use_and=False).plan(parse("bóng đá trận -Chelsea"))
    assert isinstance(p, P.AndNot) and isinstance(p.positive, P.Or) and "chelsea" in repr(p.negative)


def test_a_word_typed_twice_counts_once():
    p = Planner(BAG, use_and=False).plan(parse("gì gì là gì"))
    assert len(p.items) == 2


def test_phrases_fields_and_patterns():
    assert _plan('"hòa bình"') == P.Phrase("syllables", ("hòa", "bình"), 1, 0.5)
    assert _plan('"hoa binh"~3') == P.Or((P.Phrase("syllables", ("hoa", "binh"), 3, 0.25),
                                          P.Phrase("folded", ("hoa", "binh"), 3, 0.25)))
    assert _plan("title:huế") == P.Term("title", "huế")
    assert _plan("id:abc") == P.Term("id", "abc")
    assert _plan("cô*") == P.Expand("syllables", "wildcard", "cô*")
    assert _plan("*") == P.Every()
    assert _plan("nghiêng~9") == P.Expand("folded", "fuzzy", "nghieng", maxdist=2)


def test_dates_name_their_whole_period():
    assert date_span("2023") == (datetime(2023, 1, 1), datetime(2023, 12, 31, 23, 59, 59, 999999))
    assert date_span("2024-02") == (datetime(2024, 2, 1), datetime(2024, 2, 29, 23, 59, 59, 999999))
    assert date_span("2023-07-01")[1] == datetime(2023, 7, 1, 23, 59, 59, 999999)
    assert _plan("date:>2023") == P.Dates(datetime(2024, 1, 1), None)
    assert _plan("date:<2023") == P.Dates(None, datetime(2022, 12, 31, 23, 59, 59, 999999))
    assert _plan("date:[2023-01 TO 2023-06]") == P.Dates(datetime(2023, 1, 1),
                                                          datetime(2023, 6, 30, 23, 59, 59, 999999))
    for bad in ("date:hôm-qua", "date:2023-13", "date:[x TO 2023]"):
        with pytest.raises(QueryError, match="not a date"):
            _plan(bad)


def test_filters_add_no_score():
    p = Planner(BAG).plan(parse("mưa"), since=datetime(2023, 1, 1), filters={"source": "a"})
    assert isinstance(p, P.And) and p.items[1:] == (P.Filter(P.Dates(datetime(2023, 1, 1), None)),
                                                    P.Filter(P.Term("source", "a")))


def test_what_to_highlight_leaves_out_what_is_excluded():
    p = _plan("mưa NOT nắng")
    leaves = list(P.positive_leaves(p))
    assert leaves and all("nắng" not in repr(x) and "nang" not in repr(x) for x in leaves)


def test_node_hashes_are_remembered_and_never_pickled():
    """A node's hash is computed once (plans are deduplicated and memoized by node) and stays in
    its process: a plan sent to a cluster worker hashes its strings there, with that process's seed."""
    import pickle

    def node():
        return P.Or((P.Maybe(P.Term("words", "hà_nội"), P.Adjacent((("ha", "noi"),), 0.5)),
                     P.Term("words", "thủ_đô")), coverage=0.5)

    a, b = node(), node()
    assert a == b and hash(a) == hash(b) and hash(a) == hash(a)
    assert "_hash" in a.__dict__  # remembered
    assert {a: 1}[b] == 1
    data = pickle.dumps(a)
    assert b"_hash" not in data
    c = pickle.loads(data)
    assert c == a and hash(c) == hash(a) and {c: 2}[a] == 2
    assert P.Or((P.Term("words", "a"),)) != P.Or((P.Term("words", "b"),))

"""Scores read at given documents only equal the whole evaluation's there, to the last bit; an AND read
from its rarest item matches and scores as the intersection of every item evaluated whole."""


import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from conftest import XQUAD, read_baomoi, real_queries
from vnsearch import Document, Index
from vnsearch.engine.whoosh.postings import PostingCache
from vnsearch.engine.whoosh.reader import Snapshot
from vnsearch.query import plan as P
from vnsearch.search import matches as M
from vnsearch.search.scorer import Scorer

DOCS = [
    Document(id=f"d{i}", title=f"Bản tin {i}",
             body=("Hà Nội mưa lớn. " * (1 + i % 5)) + ("Công nghệ thông tin phát triển. " if i % 3 == 0 else "")
             + ("Thuỷ điện Hoà Bình xả lũ. " if i % 7 == 0 else "") + f"Số {i}.",
             date=f"2024-0{1 + i % 9}-1{i % 10}" if i % 2 else None)
    for i in range(300)
]


@pytest.fixture(scope="module")
def ix(tmp_path_factory):
    ix = Index.open(tmp_path_factory.mktemp("restricted") / "ix", create=True)
    ix.add(DOCS[:120])
    ix.add(DOCS[120:])  # two segments
    ix.delete(["d3", "d200"])
    return ix


class WholeAnd(Scorer):
    """The reference: every item of an AND evaluated whole, then intersected (as before restriction)."""

    def _and(self, p):
        items = [i for i in p.items if i is not P.NOTHING]
        dates = [i.child for i in items if isinstance(i, P.Filter) and isinstance(i.child, P.Dates)]
        items = [i for i in items if not (isinstance(i, P.Filter) and isinstance(i.child, P.Dates))]
        if not items:
            items, dates = [P.Filter(d) for d in dates], []
        parts = []
        for item in items:
            part = self.evaluate(item)
            if not len(part[0]):
                return M.none()
            parts.append(part)
        ids, score = self._dated(*M.intersection(parts, self.n), dates)
        if p.boost != 1.0:
            score *= p.boost
        return ids, score


def _scorers(ix):
    snap = Snapshot(ix._store._ix, PostingCache())
    return Scorer(snap), WholeAnd(snap)


HA, NOI, CONG, THUY = (P.Term("folded", w) for w in ("ha", "noi", "cong", "thuy"))
WORD = P.Term("words", "hà_nội", 1.5)
PAIR = P.Filter(P.Term("pairs", "x"))
PLANS = [
    WORD,
    P.Term("id", "d7"),
    P.And((HA, NOI, CONG)),
    P.And((HA, P.Filter(P.Dates(None, None)), THUY), 2.0),
    P.Maybe(P.And((HA, NOI)), P.Or((WORD, P.Term("syllables", "mưa", 0.25)))),
    P.Or((CONG, THUY), coverage=0.5),
    P.Or((CONG, THUY, P.Term("words", "xả_lũ")), best=True),
    P.Or((CONG, THUY), 3.0),
    P.AndNot(HA, P.Or((CONG,))),
    P.And((P.Not(CONG), THUY)),
    P.And((P.Every(), THUY)),
    P.Maybe(P.Or((CONG, THUY)), P.Adjacent((("ha", "noi"), ("thuy", "dien")), 2.0)),
    P.And((P.Phrase("syllables", ("thủy", "điện")), HA)),
    P.And((P.Expand("folded", "wildcard", "th*"), CONG)),
    P.And((P.Dates(None, None), CONG)),
    P.And((P.Filter(P.Dates(None, None)),)),
    P.Or((P.And((CONG, P.Term("folded", "nowhere"))), THUY)),
]


@pytest.mark.parametrize("plan", PLANS, ids=range(len(PLANS)))
@given(st.lists(st.integers(0, 299), unique=True, max_size=300))
@settings(max_examples=25, deadline=None)
def test_scores_at_equal_the_whole_evaluation(ix, plan, docs):
    sc, _ = _scorers(ix)
    ids = np.array(sorted(docs), dtype=np.intp)
    whole_ids, whole_scores = sc.evaluate(plan)
    found, score = sc.scores_at(plan, ids)
    expect = np.isin(ids, whole_ids)
    assert found.tolist() == expect.tolist()
    lookup = dict(zip(whole_ids.tolist(), whole_scores.tolist()))
    assert score[found].tolist() == [lookup[i] for i in ids[found].tolist()]  # bit for bit
    assert not score[~found].any()


@pytest.mark.parametrize("plan", PLANS, ids=range(len(PLANS)))
def test_and_from_its_rarest_item_equals_the_intersection(ix, plan):
    sc, ref = _scorers(ix)
    a, b = sc.evaluate(plan), ref.evaluate(plan)
    assert a[0].tolist() == b[0].tolist()
    assert a[1].tolist() == b[1].tolist()


def test_the_rarest_item_drives(ix):
    sc, _ = _scorers(ix)
    assert sc.size(THUY) < sc.size(HA)
    assert sc.size(P.And((HA, THUY))) == sc.size(THUY)
    assert sc.size(P.Or((CONG, THUY))) == sc.size(CONG) + sc.size(THUY)


def test_real_queries_score_as_before(news):
    """Questions (ORs of words, each an AND of syllables) and title keywords (ANDs), with and without
    accents, as `Index` plans them: the same matches and scores as every AND item evaluated whole."""
    ix, records = news
    queries = real_queries(records)
    sc, ref = _scorers(ix)
    compared = 0
    for q in queries:
        for op in (None, "and"):
            plan = ix.build_query(q, operator=op).query
            a, b = sc.evaluate(plan), ref.evaluate(plan)
            assert a[0].tolist() == b[0].tolist(), q
            assert a[1].tolist() == b[1].tolist(), q
            compared += len(a[0]) > 0
    assert compared > 300

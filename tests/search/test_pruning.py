"""The pruned top k of an OR (`search/pruning.py`) equals scoring every match: the same hits, the
same scores to the last bit, the same ties, the same exact hit count."""

import random

import pytest

from conftest import real_queries
from vnsearch import Document, Index
from vnsearch.engine.whoosh.postings import PostingCache
from vnsearch.engine.whoosh.reader import Snapshot
from vnsearch.query import plan as P
from vnsearch.search import pruning
from vnsearch.search.pruning import bound, dated_top, lower_count, matched, pruned_top
from vnsearch.search.scorer import Scorer

COMMON = "là của có được và những một các cho trong"
RARE = ["thủy điện", "hòa bình", "công nghệ", "xả lũ", "bóng đá", "giá vàng", "học sinh", "bệnh viện",
        "ngân hàng", "chứng khoán", "đường sắt", "nông dân"]


def _docs(n=400, seed=7):
    """Every document full of common words, a few rare ones each, some repeated (ties and tf > 1);
    dated on one of a few days, or not at all (ties of dates)."""
    rnd = random.Random(seed)
    docs = []
    for i in range(n):
        words = COMMON.split() * rnd.randint(1, 3) + rnd.sample(RARE, rnd.randint(0, 3)) * rnd.randint(1, 2)
        rnd.shuffle(words)
        date = rnd.choice([None, "2023-01-05", "2023-02-10", "2023-02-11", "2024-07-01"])
        docs.append(Document(id=f"d{i}", title=f"Tin {i}", body=" ".join(words) + ".", date=date))
    return docs


@pytest.fixture(scope="module")
def ix(tmp_path_factory):
    ix = Index.open(tmp_path_factory.mktemp("pruning") / "ix", create=True)
    docs = _docs()
    ix.add(docs[:250])
    ix.add(docs[250:])  # two segments
    ix.delete(["d5", "d77", "d300"])
    return ix


def _scorer(ix) -> Scorer:
    sc = Scorer(Snapshot(ix._store._ix, PostingCache()), **_params(ix))
    sc.prune_min_postings = 0  # prune however small the lists
    return sc


def _params(ix) -> dict:
    r = ix.ranking
    return dict(k1=r.k1, b=r.b, idf_floor=r.idf_floor)


def _same(sc, plan, k):
    """Pruned and exhaustive answers of one plan (None: the plan was not pruned)."""
    sc.remember()
    try:
        pruned = pruned_top(sc, plan, k, 0)
        whole = sc.top(*sc.evaluate(plan), k)
    finally:
        sc.forget()
    if pruned is not None:
        assert pruned[0] == whole[0] and pruned[2] is True  # the exact hit count
        assert pruned[1] == whole[1]  # document numbers and scores, bit for bit, ties by number
    return pruned is not None


def _questions(seed: int, count: int) -> list[str]:
    rnd = random.Random(seed)
    vocab = COMMON.split() + RARE
    return [" ".join(rnd.sample(vocab, rnd.randint(3, 12))) for _ in range(count)]


@pytest.mark.parametrize("k", [1, 3, 10, 20])
def test_pruned_top_equals_scoring_every_match(ix, k):
    sc = _scorer(ix)
    pruned = 0
    for q in _questions(k, 60):
        for accents in (True, False):
            pruned += _same(sc, ix.build_query(q, operator="or", accents=accents).query, k)
    assert pruned >= 20  # most of these ORs have common words to prune


def test_no_document_is_scored_exactly_twice(ix, monkeypatch):
    """The documents a pruned search scores with the whole plan (thresholds, the last candidates)
    are each scored once: those scored for a threshold are kept with their scores."""
    sc = _scorer(ix)
    asked: list[list[int]] = []
    whole_plan = None
    real = Scorer.scores_at

    def scores_at(self, p, ids):
        if p is whole_plan:
            asked.append(ids.tolist())
        return real(self, p, ids)

    monkeypatch.setattr(Scorer, "scores_at", scores_at)
    pruned = 0
    for q in _questions(5, 40):
        whole_plan = ix.build_query(q, operator="or").query
        asked.clear()
        if _same(sc, whole_plan, 3):
            pruned += 1
            every = [d for ids in asked for d in ids]
            assert len(every) == len(set(every)) and len(asked) >= 2
    assert pruned >= 10


def test_weak_items_are_bounded_and_matched_exactly(ix):
    """Bounds are at least every score of the item; `matched` gives the documents evaluation does."""
    sc = _scorer(ix)
    plan = ix.build_query("là thủy điện của hòa bình giá vàng", operator="or").query
    items = plan.required.items if isinstance(plan, P.Maybe) else plan.items
    for item in items:
        ids, scores = sc.evaluate(item)
        assert scores.max(initial=0.0) <= bound(sc, item)
        assert matched(sc, item).tolist() == ids.tolist()


def test_capped_counts_are_lower_bounds_past_the_cap(ix):
    """Past `count_to` matches the count may be a lower bound, never more than the true count and
    never below the cap; below it, or asked for none, it is exact; the hits are the same either way."""
    sc = _scorer(ix)
    capped = 0
    for q in _questions(5, 60):
        plan = ix.build_query(q, operator="or").query
        sc.remember()
        try:
            whole = sc.top(*sc.evaluate(plan), 10)
            for count_to in (1, 100, whole[0], whole[0] + 1, None):
                found = pruned_top(sc, plan, 10, 0, count_to)
                if found is None:
                    continue
                total, top, exact = found
                assert top == whole[1]
                if exact:
                    assert total == whole[0]
                else:
                    capped += 1
                    assert count_to is not None and count_to <= total <= whole[0], (q, count_to, total)
                if count_to is None or count_to > whole[0]:
                    assert exact
        finally:
            sc.forget()
    assert capped >= 20


def test_lower_counts_leave_out_deleted_documents(ix):
    """A term in every document: its lower count is the live documents, not its postings."""
    sc = _scorer(ix)
    live = int(sc.snap.live.sum())
    assert sc.deleted == 3 and live == sc.n - 3
    for word in ("là", "của"):
        term = ix.build_query(word, operator="or").query
        while not isinstance(term, P.Term):
            term = term.required if isinstance(term, P.Maybe) else term.items[0]
        assert len(matched(sc, term)) == sc.n  # in every document, the deleted ones too
        assert lower_count(sc, term) == live


def test_search_says_when_its_count_is_a_lower_bound(ix, monkeypatch):
    """`Index.search` counts exactly up to `COUNT_TO`; past it `total_exact` may be False (the
    same hits), and `exact_count=True` always counts every match."""
    import vnsearch.index as index_module

    sc = ix._get_scorer()
    monkeypatch.setattr(sc, "prune_min_postings", 0)
    monkeypatch.setattr(index_module, "COUNT_TO", 50)
    q = "là của có được và những một các cho thủy điện"  # long enough to be read as a plain OR
    capped, exact = ix.search(q, highlight=False), ix.search(q, highlight=False, exact_count=True)
    assert exact.total_exact and not capped.total_exact
    assert 50 <= capped.total <= exact.total
    assert [(h.id, h.score) for h in capped.hits] == [(h.id, h.score) for h in exact.hits]
    monkeypatch.setattr(index_module, "COUNT_TO", pruning.COUNT_TO)
    assert ix.search(q, highlight=False).total_exact  # 397 documents: far below the real cap


@pytest.mark.parametrize("k", [1, 3, 10, 50])
def test_date_sorted_tops_score_only_the_newest(ix, k):
    """Sorted by date, only the matches dated at least the k-th newest date are scored: the same
    hits, scores, ties and count as scoring every match; `matched` finds every plan's documents."""
    sc = _scorer(ix)
    dated = 0
    for q in _questions(k + 100, 40) + ["thủy điện", "hòa bình giá vàng", "công nghệ OR bóng đá", "là -xả"]:
        for operator in ("or", "and"):
            plan = ix.build_query(q, operator=operator).query
            sc.remember()
            try:
                assert matched(sc, plan).tolist() == sc.evaluate(plan)[0].tolist(), q
                found = dated_top(sc, plan, k)
                whole = sc.top(*sc.evaluate(plan), k, by_date=True)
                assert found is None or found == (*whole, True), (q, k)
                assert sc.best(plan, k, by_date=True) == (*whole, True)
                dated += found is not None
            finally:
                sc.forget()
    assert dated >= 40  # most: the newest date holds a fifth of the documents


def test_date_sorted_without_dates_is_sorted_by_score(tmp_path):
    """No document dated: sorted by date is the order by score, which pruning may give."""
    from dataclasses import replace

    undated = Index.open(tmp_path / "ix", create=True)
    undated.add([replace(d, date=None) for d in _docs(200)])
    sc = _scorer(undated)
    assert not sc.has_dates
    for q in _questions(3, 30):
        plan = undated.build_query(q, operator="or").query
        sc.remember()
        try:
            assert sc.best(plan, 10, by_date=True) == (*sc.top(*sc.evaluate(plan), 10, by_date=True), True), q
        finally:
            sc.forget()


def test_search_results_unchanged_by_pruning(ix, monkeypatch):
    """Through `Index.search`: pruning on or off, the same hits, scores and totals."""
    sc = ix._get_scorer()
    queries = _questions(99, 30)
    monkeypatch.setattr(sc, "prune_min_postings", 0)
    on = [ix.search(q, limit=10, highlight=False) for q in queries]
    monkeypatch.setattr(sc, "prune_min_postings", None)
    off = [ix.search(q, limit=10, highlight=False) for q in queries]
    for a, b in zip(on, off):
        assert a.total == b.total
        assert [(h.id, h.score) for h in a.hits] == [(h.id, h.score) for h in b.hits]


def test_real_questions_pruned_as_scored_whole(news):
    """XQuAD questions and title keywords over 500 real articles: pruned tops equal the exhaustive ones."""
    ix, records = news
    sc = Scorer(Snapshot(ix._store._ix, PostingCache()), **_params(ix))
    pruned = 0
    for q in real_queries(records):
        for k in (1, 10):
            pruned += _same(sc, ix.build_query(q, operator="or").query, k)
    assert pruned > 150

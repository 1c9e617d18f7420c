"""The array scorer agrees with Whoosh's own matchers on what matches, and ranks by BM25 with Lucene's idf."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from whoosh import query as Q

from conftest import whoosh_written
from vnsearch import Document, Index
from vnsearch.engine.whoosh.codec import read_postings
from vnsearch.engine.whoosh.postings import PostingCache
from vnsearch.engine.whoosh.reader import Snapshot
from vnsearch.query import plan as P
from vnsearch.search.scorer import Scorer, phrase_frequency

DOCS = [
    Document(id=f"d{i}", title=f"Bản tin {i}",
             body=("Hà Nội mưa lớn. " * (1 + i % 5)) + ("Công nghệ thông tin phát triển. " if i % 3 == 0 else "")
             + ("Thuỷ điện Hoà Bình xả lũ. " if i % 7 == 0 else "") + f"Số {i}.")
    for i in range(400)  # 'hà' and 'nội' span several 128-posting blocks
]


@pytest.fixture(scope="module")
def ix(tmp_path_factory):
    path = tmp_path_factory.mktemp("scorer") / "ix"
    ix = Index.open(path, create=True)
    ix.add(DOCS[:150])
    ix.add(DOCS[150:])  # two segments
    ix.delete(["d3", "d200"])
    return ix


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The same documents, segments and deletions written by Whoosh: its searcher is the reference
    (Whoosh cannot read vnsearch's packed lists)."""
    ref = whoosh_written(tmp_path_factory.mktemp("scorer") / "whoosh", [DOCS[:150], DOCS[150:]])
    w = ref.writer()
    for i in ("d3", "d200"):
        w.delete_by_term("id", i)
    w.commit(merge=False)
    with ref.searcher() as s:
        yield s


def _snap(ix, cache=None):
    return Snapshot(ix._store._ix, cache or PostingCache())


def _scorer(ix, **kw):
    return Scorer(_snap(ix), **kw)


def test_small_fields_postings_read_back_like_whoosh_matchers(ix):
    """The small fields (id, path, source) keep Whoosh's W3 blocks: read as Whoosh's matchers read them."""
    s = ix._get_snapshot()._searcher
    for seg, _offset in s.reader().leaf_readers():
        for field in ("id", "path", "source"):
            for term in list(seg.lexicon(field)):
                ids, w = read_postings(seg, field, term)
                m = seg._terms.matcher(field, term, seg.schema[field].format)  # deleted documents too
                expect = []
                while m.is_active():
                    expect.append((m.id(), m.weight()))
                    m.next()
                assert list(zip(ids.tolist(), w.tolist())) == expect, (field, term)


# each plan node beside the Whoosh query that means the same, whose own matchers are the reference
QUERIES = [
    (P.Term("words", "hà_nội"), Q.Term("words", "hà_nội")),
    (P.Or((P.Term("words", "công_nghệ"), P.Term("syllables", "thủy"))),
     Q.Or([Q.Term("words", "công_nghệ"), Q.Term("syllables", "thủy")])),
    (P.And((P.Term("folded", "ha"), P.Term("folded", "noi"), P.Term("folded", "cong"))),
     Q.And([Q.Term("folded", "ha"), Q.Term("folded", "noi"), Q.Term("folded", "cong")])),
    (P.Maybe(P.Term("folded", "thuy"), P.Term("words", "thủy_điện")),
     Q.AndMaybe(Q.Term("folded", "thuy"), Q.Term("words", "thủy_điện"))),
    (P.AndNot(P.Term("folded", "mua"), P.Term("syllables", "công")),
     Q.AndNot(Q.Term("folded", "mua"), Q.Term("syllables", "công"))),
    (P.Phrase("syllables", ("hòa", "bình")), Q.Phrase("syllables", ["hòa", "bình"])),
    (P.Phrase("syllables", ("hà", "mưa"), slop=3), Q.Phrase("syllables", ["hà", "mưa"], slop=3)),
    (P.Expand("syllables", "wildcard", "th*"), Q.Prefix("syllables", "th")),
    (P.Expand("syllables", "wildcard", "t?n"), Q.Wildcard("syllables", "t?n")),
    (P.Expand("folded", "fuzzy", "thuy", maxdist=1), Q.FuzzyTerm("folded", "thuy", maxdist=1, prefixlength=1)),
    (P.Expand("syllables", "range", low="số", high="thủy"), Q.TermRange("syllables", "số", "thủy")),
    (P.Expand("syllables", "range", low="số", high="thủy", low_excl=True, high_excl=True),
     Q.TermRange("syllables", "số", "thủy", startexcl=True, endexcl=True)),
    (P.Not(P.Term("syllables", "thủy")), Q.Not(Q.Term("syllables", "thủy"))),
    (P.Term("id", "d7"), Q.Term("id", "d7")),
    (P.And((P.Term("folded", "ha"), P.Filter(P.Term("syllables", "điện")))),
     Q.And([Q.Term("folded", "ha"), Q.ConstantScoreQuery(Q.Term("syllables", "điện"), 0.0)])),
    (P.Every(), Q.Every()),
    (P.Term("words", "không_có_từ_này"), Q.Term("words", "không_có_từ_này")),
]


@pytest.mark.parametrize("plan, whoosh_query", QUERIES, ids=[repr(p) for p, _ in QUERIES])
def test_matches_equal_whoosh(ix, reference, plan, whoosh_query):
    sc = _scorer(ix)
    ids, score = sc.evaluate(plan)
    total, top = sc.top(ids, score, 1000)
    ours = {d for d, _s in top}
    theirs = set(reference.docs_for_query(whoosh_query))
    assert ours == theirs and total == len(theirs)
    assert total > 0 or plan == P.Term("words", "không_có_từ_này")


def test_term_scores_are_bm25_with_lucene_idf(ix):
    sc = _scorer(ix)
    view = sc.snap
    ids, scores = sc.term_scores("words", "công_nghệ")
    df, n = len(ids), view.n
    idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
    avg = view.total_length("words") / n
    d = int(ids[0])
    tf = view.postings("words", "công_nghệ")[1][0]
    dl = view.lengths("words")[d]
    assert dl == view._searcher.doc_field_length(d, "words")
    expect = idf * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * dl / avg))
    assert scores[0] == pytest.approx(expect)


def test_rare_words_outweigh_common_ones(ix):
    sc = _scorer(ix)
    _, common = sc.term_scores("syllables", "mưa")  # every document
    _, rare = sc.term_scores("syllables", "thủy")
    assert common.max() < 0.1 < rare.min()


def test_top_orders_by_score_then_docnum_and_skips_deleted(ix):
    sc = _scorer(ix)
    ids, score = sc.evaluate(P.Term("folded", "ha"))
    total, top = sc.top(ids, score, 20)
    assert total == 398
    keys = [(-s, d) for d, s in top]
    assert keys == sorted(keys)
    deleted = {sc.snap.doc_number(i) for i in ("d3", "d200")}
    assert not deleted & {d for d, _ in sc.top(ids, score, 1000)[1]}


def test_top_by_date_puts_undated_last(tmp_path):
    from datetime import datetime

    ix = Index.open(tmp_path / "ix", create=True)
    ix.add([Document("a", "A", "mưa to", date=None), Document("b", "B", "mưa to", date=datetime(2020, 1, 1)),
            Document("c", "C", "mưa to", date=datetime(2023, 5, 1))])
    assert [h.id for h in ix.search("mưa", sort="date").hits] == ["c", "b", "a"]


def test_posting_cache_drops_least_recently_used(ix):
    cache = PostingCache(max_bytes=6_000)  # 'ha' alone: 400 postings of 12 bytes in two segments
    view = _snap(ix, cache)
    view.postings("folded", "ha")
    held = cache._size
    assert 400 * 12 < held <= 6_000
    view.postings("folded", "noi")
    assert cache._size <= 6_000 and len(cache._items) < 4  # the oldest went
    ids, _ = view.postings("folded", "ha")  # decoded again, same answer
    assert len(ids) == 400 and np.all(np.diff(ids) > 0)


def test_caches_keep_to_the_budget_in_bytes(ix):
    from vnsearch.limits import Limits

    small = Index.open(ix.path, limits=Limits(cache_mb=1, search_mb=1))
    for q in ("hà nội mưa", "công nghệ", "thủy điện hòa bình", "số 7", "bản tin", "ha noi", "mưa lớn"):
        small.search(q)
        scorer = small._get_scorer()
        assert small._store._cache._size <= (1 << 20) * 2 // 3 or len(small._store._cache._items) == 1
        assert scorer._terms_size <= (1 << 20) // 3 or len(scorer._terms) == 1
    assert small._store._cache.max_bytes == (1 << 20) * 2 // 3
    assert scorer.cache_bytes == (1 << 20) // 3 and scorer.memo_bytes == 1 << 20
    scorer.remember()
    for i in range(300):  # within one search, matches are remembered up to the budget only (~2 MB here)
        scorer.evaluate(P.Or((P.Term("folded", "ha"), P.Term("folded", "noi")), boost=1.0 + i))
    assert scorer._memo_size <= (1 << 20) + 400 * 16 + 200 and len(scorer._memo) < 300
    scorer.forget()


def test_idf_floor_keeps_common_words_weighty(ix):
    lucene = _scorer(ix)
    floored = _scorer(ix, idf_floor=1.0)
    assert lucene.term_scores("syllables", "mưa")[1].max() < 0.1
    assert floored.term_scores("syllables", "mưa")[1].min() > 0.5


@pytest.mark.parametrize("n", [1, 2, 3, 4, 130])
@pytest.mark.parametrize("compress", [False, True])
def test_block_prefix_read_matches_full_unpickle(n, compress):
    import pickle
    import struct
    import zlib

    from vnsearch.engine.whoosh.codec import _ids_and_weights

    ids = tuple(range(5, 5 + 300 * n, 300))
    tricky = struct.unpack(">d", b"\x3f\xf0\x00\x00\x00\x00\x00\x28")[0]  # a float ending in the MARK byte
    for weights in (None, 2.0, tuple([tricky] * n), tuple(float(i % 7 + 1) for i in range(n))):
        for values in (tuple(b"\x01\x02" * (i + 1) for i in range(n)), (b"",) * n, None):
            data = pickle.dumps((ids, weights, values), 2)
            raw = zlib.compress(data, 3) if compress else data
            assert _ids_and_weights(raw, 3 if compress else 0, n) == (ids, weights)


def test_phrases_are_scored_on_the_bm25_scale_of_words(tmp_path):
    import math

    ix = Index.open(tmp_path / "ix", create=True)
    ix.add([Document("a", "Tin", "Sư đoàn 320 họp mặt. Sư đoàn 320 của quân đội."),
            Document("b", "Tin", "Sư đoàn khác và con số 320 ở xa nhau trong câu này."),
            Document("c", "Tin", "Không có gì liên quan.")])
    sc = _scorer(ix, k1=2.0, b=1.0, idf_floor=0.25)
    ids, score = sc.evaluate(P.Phrase("syllables", ("sư", "đoàn", "320")))
    a = sc.snap.doc_number("a")
    assert ids.tolist() == [a]
    n, avg = sc.n, sc._avg_length("syllables")
    idf = sum(math.log(1 + (n - df + 0.5) / (df + 0.5)) + 0.25 for df in (2, 2, 2))
    dl = sc.snap.lengths("syllables")[a]
    tf = 2  # the phrase occurs twice in a
    assert score[0] == pytest.approx(idf * tf * 3.0 / (tf + 2.0 * dl / avg))
    # quoted and unquoted: the same scale (the unquoted words also score the word field)
    quoted = ix.search('"Sư đoàn 320"').hits[0].score
    bare = ix.search("Sư đoàn 320").hits[0].score
    assert 1 / 4 < quoted / bare < 4


@pytest.mark.parametrize("positions, slop, expected", [
    ([[0, 5, 9], [1, 6], [2, 8]], 1, 1),  # only 0 1 2 in a row
    ([[0, 5], [1, 6], [2, 7]], 1, 2),
    ([[0], [2], [3]], 1, 0),
    ([[0], [2], [3]], 2, 1),  # 2 is within two positions of 0
    ([[0, 1], [3]], 3, 2),  # two spans: 0..3 and 1..3
    ([[4], [2]], 5, 0),  # in order only
    ([[], [1]], 1, 0),
])
def test_phrase_frequency(positions, slop, expected):
    assert phrase_frequency([np.array(p, dtype=np.int64) for p in positions], slop) == expected


def test_doc_frequency_counts_like_whoosh_before_and_after_decoding(ix):
    view = _snap(ix)
    reader = view._searcher.reader()
    terms = [("folded", "ha"), ("folded", "thuy"), ("words", "công_nghệ"), ("syllables", "điện"),
             ("folded", "khong_co"), ("nope", "x")]
    expect = [reader.doc_frequency(f, t) if f in reader.schema else 0 for f, t in terms]
    assert [view.doc_frequency(f, t) for f, t in terms] == expect  # from the term dictionary
    assert [view.doc_frequency(f, t) for f, t in terms] == expect  # remembered
    for f, t in terms:
        view.postings(f, t)
    assert [view.doc_frequency(f, t) for f, t in terms] == expect  # from the decoded lists
    assert expect[0] == 400 and expect[4] == 0


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 30), st.integers(0, 700), st.integers(0, 300), st.integers(0, 2**32 - 1),
       st.sampled_from([1, 3, 10, 1000, 10**9]))
def test_matches_reaching_the_kth_score_are_those_of_one_partition(k, per_hit, extra, seed, distinct):
    """The chunked threshold keeps exactly what partitioning every score keeps, ties included
    (lists long enough for the chunked path, with one, few or all distinct scores)."""
    from vnsearch.search.scorer import _at_least_kth

    n = k * per_hit + extra + k + 1  # per_hit >= 256 takes the chunked path
    rng = np.random.default_rng(seed)
    score = rng.integers(0, distinct, n) * 0.5
    ids = np.arange(n) * 3
    keep = score >= np.partition(score, n - k)[n - k]
    got = _at_least_kth(ids, score, k)
    assert np.array_equal(got[0], ids[keep]) and np.array_equal(got[1], score[keep])

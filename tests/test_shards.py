"""An index split into shards finds and scores what one index of the same documents does; documents
live in the shard their id routes to, through updates, deletions, re-runs and rebuilds."""

import json
from collections import Counter

import pytest
from click.testing import CliRunner

from conftest import CORPUS, XQUAD, read_baomoi
from vnsearch import Document, Index
from vnsearch.cli.commands import main
from vnsearch.engine.shards import ShardedSnapshot, shard_name, shard_of
from vnsearch.errors import IndexCorruptError, IndexVersionError, VnsearchError
from vnsearch.ingest.sources import FieldMap, open_source
from vnsearch.search.scorer import Scorer

WORDS = ["Hà Nội", "mưa lớn", "công nghệ", "thông tin", "thuỷ điện", "Hoà Bình", "xả lũ", "bóng đá", "giá vàng",
         "tăng mạnh", "chính phủ", "thủ tướng", "học sinh", "thi cử"]
DOCS = [Document(id=f"doc-{i}", title=f"Bản tin {WORDS[i % len(WORDS)]}",
                 body=". ".join(WORDS[(i * j) % len(WORDS)] for j in range(1, 2 + i % 9)) + f". Số {i}.",
                 date=f"20{10 + i % 14}-0{1 + i % 9}-1{i % 10}" if i % 4 else None)
        for i in range(400)]
QUERIES = ["Hà Nội", "ha noi", "mưa lớn Hà Nội", "thuy dien hoa binh", "\"công nghệ thông tin\"", "giá vàng tăng mạnh",
           "bóng đá thủ tướng học sinh thi cử", "thông*", "chinh phu~", "Hà Nội -mưa", "title:bóng", "date:2015",
           "công nghệ OR xả lũ", "hoà bình"]


def same_results(a, b, **kw) -> int:
    """Assert two results agree: totals, scores to the last bit, and the documents (order within equal
    scores aside); the number of hits."""
    assert a.total == b.total, kw
    assert [h.score for h in a.hits] == [h.score for h in b.hits], kw
    if a.hits:
        # equal scores at either end of a page may be cut at different documents
        last, first = a.hits[-1].score, a.hits[0].score if a.offset else float("inf")
        inner = lambda r: {h.id for h in r.hits if last < h.score < first}  # noqa: E731
        assert inner(a) == inner(b), kw
        if kw.get("sort") != "date":
            assert Counter(h.score for h in a.hits) == Counter(h.score for h in b.hits)
    return len(a.hits)


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    one = Index.open(tmp_path_factory.mktemp("one") / "ix", create=True, shards=1)
    three = Index.open(tmp_path_factory.mktemp("three") / "ix", create=True, shards=3)
    for ix in (one, three):
        ix.add(DOCS[:250])
        ix.add(DOCS[250:], jobs=2)
    return one, three


def test_routing_is_stable_and_spreads():
    # fixed values: changing the hash would send updates of existing documents to the wrong shard
    assert shard_of("doc-0", 1) == 0
    pinned = {"a": shard_of("a", 5), "Hà Nội/2024.txt": shard_of("Hà Nội/2024.txt", 5)}
    assert pinned == {"a": 3, "Hà Nội/2024.txt": 2}
    spread = Counter(shard_of(f"id{i}", 4) for i in range(4000))
    assert min(spread.values()) > 900


def test_each_shard_folds_its_part_of_a_run(tmp_path):
    from vnsearch.index import _ListSource

    ix = Index.open(tmp_path / "ix", create=True, shards=2)
    docs = [Document(f"d{i}", f"Tin {i}", f"Hà Nội mưa lớn {i}. Giá vàng hôm nay.") for i in range(80)]
    report = ix.add_from([_ListSource(docs)], jobs=1, batch_docs=20)  # four commits a shard
    assert report.commits >= 4 and [s.segment_count() for s in ix._store.shards] == [1, 1]
    assert ix.search("Hà Nội", limit=100).total == 80 and ix.check() == []


def test_each_document_lives_in_its_shard(pair):
    _one, three = pair
    assert three.shard_count == 3 and len(three) == len(DOCS)
    snap = three._get_snapshot()
    assert isinstance(snap, ShardedSnapshot)
    for i, shard in enumerate(snap.shards):
        ids = set(shard.existing())
        assert ids and all(shard_of(d, 3) == i for d in ids)
    assert three.get("doc-17") == _one.get("doc-17") and three.get("doc-17")["title"] == DOCS[17].title
    assert three.stats()["shards"] == 3 and three.stats()["documents"] == len(DOCS)


@pytest.mark.parametrize("sort", ["score", "date"])
def test_shards_score_as_one_index(pair, sort):
    one, three = pair
    hits = 0
    for q in QUERIES:
        hits += same_results(one.search(q, sort=sort), three.search(q, sort=sort), q=q, sort=sort)
        hits += same_results(one.search(q, limit=5, page=3), three.search(q, limit=5, page=3), q=q)
    assert hits > 100
    assert one.search("thông*").hits[0].fragments == three.search("thông*").hits[0].fragments  # expansions highlighted
    assert one.suggest("thuy dien hoa bnh") == three.suggest("thuy dien hoa bnh")
    assert one.restore_accents("thuy dien") == three.restore_accents("thuy dien")


def test_threads_equal_one_scorer_over_all_shards(pair):
    """Each shard scored in its thread with the collection's statistics equals one scorer reading
    every shard through the joined snapshot."""
    _one, three = pair
    snap = three._get_snapshot()
    whole = Scorer(snap, k1=three.ranking.k1, b=three.ranking.b, idf_floor=three.ranking.idf_floor)
    threaded = three._get_scorer()
    for q in QUERIES:
        plan = three.build_query(q).query
        a, b = whole.evaluate(plan), threaded.evaluate(plan)
        assert a[0].tolist() == b[0].tolist(), q
        assert a[1].tolist() == b[1].tolist(), q


def test_updates_deletions_and_reruns_keep_the_routing(tmp_path):
    ix = Index.open(tmp_path / "ix", create=True, shards=3)
    ix.add(DOCS[:60])
    changed = Document(id="doc-5", title="Bản tin mới", body="Nội dung hoàn toàn mới về thủy điện.")
    rep = ix.add([changed] + DOCS[6:60])
    assert (rep.updated, rep.unchanged, len(ix)) == (1, 54, 60)
    assert ix.get("doc-5")["title"] == "Bản tin mới"
    assert ix.search("nội dung hoàn toàn mới").hits[0].id == "doc-5"
    assert ix.delete(["doc-5", "doc-7", "nowhere"]) == 2
    assert len(ix) == 58 and ix.get("doc-7") is None
    assert ix.check() == []


def test_folders_rerun_and_rebuild(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    for i, d in enumerate(DOCS[:40]):
        (folder / f"{i:03}.txt").write_text(f"{d.title}\n\n{d.body}\n", encoding="utf-8")
    path = tmp_path / "ix"
    ix = Index.open(path, create=True, shards=2)
    assert ix.add_sources([str(folder)], jobs=1).added == 40
    (folder / "003.txt").unlink()
    rep = Index.open(path).add_sources([str(folder)], jobs=1)
    assert (rep.removed, rep.unchanged) == (1, 39)
    before = Index.open(path).search("Hà Nội", limit=50)
    rep = Index.rebuild(path, [open_source(str(folder))])
    assert rep.added == 39
    after = Index.open(path)
    assert after.shard_count == 2 and len(after) == 39
    # the same documents (the scores moved: the deleted document no longer counts in the statistics)
    assert {h.id for h in before.hits} == {h.id for h in after.search("Hà Nội", limit=50).hits}
    assert not any(p.name.startswith(".vnsearch-rebuild") for p in path.rglob("*"))


def test_missing_or_old_shards_and_count_mismatch_are_one_line_errors(tmp_path):
    path = tmp_path / "ix"
    Index.open(path, create=True, shards=2).add(DOCS[:10])
    with pytest.raises(VnsearchError, match="has 2 shards"):
        Index.open(path, create=True, shards=3)
    meta = json.loads((path / shard_name(1) / "vnsearch.json").read_text())
    (path / shard_name(1) / "vnsearch.json").write_text(json.dumps({**meta, "schema_version": 2}))
    with pytest.raises(IndexVersionError, match=f"shard-1: .*version 2.*--index {path} index --rebuild"):
        Index.open(path)
    (path / shard_name(1) / "vnsearch.json").rename(path / shard_name(1) / "moved.json")
    with pytest.raises(IndexCorruptError, match="shard 1 of 2 is missing.*--rebuild"):
        Index.open(path)


def test_cli_creates_and_searches_shards(tmp_path):
    r = CliRunner()
    ix = str(tmp_path / "ix")
    res = r.invoke(main, ["--index", ix, "index", "--shards", "3", "-q", str(CORPUS)])
    assert res.exit_code == 0, res.output
    st = json.loads(r.invoke(main, ["--index", ix, "stats", "--json"]).output)
    assert st["shards"] == 3 and st["documents"] == 2
    out = json.loads(r.invoke(main, ["--index", ix, "search", "Sư đoàn 320", "--json"]).output)
    assert out["total"] >= 1 and out["hits"][0]["id"].rsplit("/", 1)[-1].startswith("000_")
    res = r.invoke(main, ["--index", ix, "index", "--shards", "2", "-q", str(CORPUS)])
    assert res.exit_code != 0 and "has 3 shards" in res.output and "Traceback" not in res.output


@pytest.fixture(scope="module")
def news_pair(tmp_path_factory):
    """500 real articles and the XQuAD paragraphs in one index and in three shards (skips without
    ../shared/data)."""
    records = read_baomoi(500)
    src = tmp_path_factory.mktemp("src") / "news.jsonl"
    with open(src, "w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps({"name": r["name"], "text": r["text"]}, ensure_ascii=False) + "\n")
        if (XQUAD / "corpus.jsonl").exists():
            for line in (XQUAD / "corpus.jsonl").read_text(encoding="utf-8").splitlines():
                d = json.loads(line)
                f.write(json.dumps({"name": d["id"], "text": d["title"] + "\n" + d["text"]}, ensure_ascii=False) + "\n")
    pair = []
    for n in (1, 3):
        ix = Index.open(tmp_path_factory.mktemp(f"news{n}") / "ix", create=True, shards=n)
        ix.add_sources([str(src)], fields=FieldMap(id="name"), jobs=2)
        pair.append(ix)
    return pair, records


def test_real_queries_rank_as_one_index(news_pair):
    """100 XQuAD questions and 100 title keywords (as typed, lower case, without accents): the same
    totals, top-10 scores to the last bit and documents as one index."""
    (one, three), records = news_pair
    from vnsearch.text.normalize import fold

    queries = []
    path = XQUAD / "queries-dev.tsv"
    if path.exists():
        queries += [line.split("\t", 1)[1] for line in path.read_text(encoding="utf-8").splitlines()[:100]]
    titles = [r["text"].split("\n", 1)[0] for r in records[:100]]
    keywords = [" ".join(t.split()[:3]) for t in titles]
    queries += keywords + [k.lower() for k in keywords[:50]] + [fold(k) for k in keywords[50:]]
    hits = sum(same_results(one.search(q), three.search(q), q=q) for q in queries)
    assert hits > 1000 and len(one) == len(three)


def test_pruned_shards_rank_as_one_index(pair, monkeypatch):
    """Each shard's own pruned top k, joined, gives one index's hits, scores and exact totals."""
    import vnsearch.search.scorer as scorer_module

    one, three = pair
    pruned = []

    def counted(*args):
        found = real(*args)
        pruned.append(found is not None)
        return found

    real = scorer_module.pruned_top
    monkeypatch.setattr(scorer_module, "pruned_top", counted)
    for sc in three._get_scorer().parts:
        monkeypatch.setattr(sc, "prune_min_postings", 0)
    questions = [" ".join(WORDS[i:i + n]) for n in (4, 6, 9) for i in range(0, len(WORDS) - n)]
    hits = 0
    for q in QUERIES + questions:
        for limit in (3, 10):
            hits += same_results(one.search(q, limit=limit), three.search(q, limit=limit), q=q, limit=limit)
    assert hits > 300 and sum(pruned) > 20
    sharded = three._get_scorer()  # and to the document number, ties included, as scoring every match
    for q in questions:
        plan = three.build_query(q).query
        for k in (1, 3, 10):
            sharded.remember()
            try:
                assert sharded.best(plan, k) == (*sharded.top(*sharded.evaluate(plan), k), True), (q, k)
            finally:
                sharded.forget()


@pytest.mark.parametrize("k", [1, 10, 40])
def test_date_sorted_shards_send_only_their_newest(pair, k):
    """Sorted by date, each shard answers with its own newest k (pruned, `dated_top`), joined by
    date, score and document number: the same hits, scores and totals as ordering every match."""
    _one, three = pair
    sc = three._get_scorer()
    for q in QUERIES:
        plan = three.build_query(q).query
        sc.remember()
        try:
            whole = sc.top(*sc.evaluate(plan), k, by_date=True)
            assert sc.best(plan, k, by_date=True) == (*whole, True), q
        finally:
            sc.forget()

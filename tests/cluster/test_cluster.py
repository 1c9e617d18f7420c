"""A real Dask cluster on localhost (scheduler and worker processes over TCP): a collection in 3
shards indexed and searched there gives a single index's results; workers killed mid-run or
mid-session cost nothing or a clear error, never a hang."""

import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from conftest import XQUAD, read_baomoi
from vnsearch import Index
from vnsearch.cli.repl import Repl
from vnsearch.ingest.sources import FieldMap
from vnsearch.text.normalize import fold

pytestmark = pytest.mark.slow
N = 2500


@pytest.fixture(scope="module")
def cluster():
    distributed = pytest.importorskip("distributed")
    c = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                 silence_logs=50)
    yield c
    c.close()


@pytest.fixture(scope="module")
def articles(tmp_path_factory):
    records = read_baomoi(N)
    path = tmp_path_factory.mktemp("cl") / "articles.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path, records


@pytest.fixture(scope="module")
def indexes(cluster, articles, tmp_path_factory):
    path, _ = articles
    root = tmp_path_factory.mktemp("ix")
    cix = Index.open(root / "cluster", create=True, shards=3, cluster=cluster.scheduler_address)
    rep = cix.add_sources([str(path)], fields=FieldMap(id="name"))
    assert rep.added == N
    single = Index.open(root / "single", create=True, shards=1)
    single.add_sources([str(path)], fields=FieldMap(id="name"), jobs=2)
    yield cix, single
    cix.close()


def same_up_to_ties(a, b) -> bool:
    """The same documents in the same order, except that documents of equal score may come in
    another order (by shard, then document number), and a tie at the cut may keep other ones."""
    if not a:
        return not b
    last = a[-1].score
    groups = lambda hits: [(round(h.score, 9), h.id) for h in hits if h.score > last + 1e-9]  # noqa: E731
    return sorted(groups(a)) == sorted(groups(b))


def queries(records) -> list[str]:
    out = []
    for r in records[:: N // 30][:30]:  # title keywords, as typed and without accents
        words = r["text"].split("\n", 1)[0].split()[:3]
        out += [" ".join(words), fold(" ".join(words)).lower()]
    if (XQUAD / "queries-dev.tsv").exists():
        qs = [line.split("\t", 1)[1].strip() for line in (XQUAD / "queries-dev.tsv").read_text().splitlines()[:20]]
        out += qs + [fold(q) for q in qs]
    out += ['"thành phố"', "title:Đà Nẵng", "bóng* đá", "giá vàng -tăng"]
    return out


def test_every_document_and_the_same_results_as_one_index(indexes, articles):
    cix, single = indexes
    _, records = articles
    assert len(cix) == N and cix.shard_count == 3 and cix.stats()["shards"] == 3
    assert cix.search("*", limit=1).total == N
    qs = queries(records)
    assert len(qs) >= 60
    for q in qs:
        a, b = cix.search(q, limit=10), single.search(q, limit=10)
        assert a.total == b.total, q
        assert [h.score for h in a.hits] == pytest.approx([h.score for h in b.hits], rel=1e-9, abs=1e-12), q
        assert same_up_to_ties(a.hits, b.hits), q
        assert a.phases is not None and a.phases["rounds"] >= 2 + bool(a.hits)
        for x, y in zip(a.hits, b.hits):  # read and highlighted on the workers: shown the same
            if x.id == y.id:
                assert (x.title, x.path, x.date, x.fragments, x.title_highlights) == \
                    (y.title, y.path, y.date, y.fragments, y.title_highlights), q
    assert cix.check() == []


def test_sorted_by_date_as_one_index(indexes, articles):
    """Sorted by date, each worker sends its shards' newest k with their dates: the same page as one
    index (these articles are undated, so this is the round trip through the workers; the order of
    dated hits across shards is `tests/test_shards.py`'s)."""
    cix, single = indexes
    _, records = articles
    for q in queries(records)[:24]:
        a, b = cix.search(q, limit=10, sort="date"), single.search(q, limit=10, sort="date")
        assert a.total == b.total, q
        assert [h.date for h in a.hits] == [h.date for h in b.hits], q
        assert [h.score for h in a.hits] == pytest.approx([h.score for h in b.hits], rel=1e-9, abs=1e-12), q


def test_location_spelling_and_json_phases(cluster, indexes):
    cix, _ = indexes
    host = cluster.scheduler_address.removeprefix("tcp://")
    ix = Index.open(f"dask://{host}{cix.path.resolve()}")
    try:
        res = ix.search("Đà Nẵng")
        assert res.total > 0 and set(res.phases) >= {"statistics_ms", "scores_ms", "rounds"}
    finally:
        ix.close()
    r = subprocess.run([sys.executable, "-m", "vnsearch", "--cluster", host, "--index", str(cix.path), "search",
                        "Đà Nẵng", "--json"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "took_ms_phases" in json.loads(r.stdout)


def test_a_worker_killed_while_indexing(cluster, articles, tmp_path):
    """Analysis tasks run again elsewhere; a shard's commit is never run twice: if the killed
    worker was committing, the run stops in one line and the same command finishes the job."""
    from vnsearch.errors import IndexWriteError

    path, _ = articles
    ix = Index.open(tmp_path / "ix", create=True, shards=3, cluster=cluster.scheduler_address)
    try:
        pids = ix._cluster.client.run(os.getpid)
        result = {}

        def run():
            try:
                result["rep"] = ix.add_sources([str(path)], fields=FieldMap(id="name"), batch_docs=300)
            except IndexWriteError as e:
                result["error"] = str(e)

        t = threading.Thread(target=run)
        t.start()
        time.sleep(2.0)
        os.kill(sorted(pids.values())[0], signal.SIGKILL)  # the nanny starts a new worker
        t.join(300)
        assert not t.is_alive()
        if "error" in result:
            assert "run the same command again" in result["error"]
        else:
            assert result["rep"].added == N
        again = ix.add_sources([str(path)], fields=FieldMap(id="name"))
        assert again.added + again.unchanged == N and again.updated == 0
        assert len(Index.open(tmp_path / "ix")) == N and Index.open(tmp_path / "ix").check() == []
        assert ix.search("*", limit=1).total == N
    finally:
        ix.close()


def test_a_worker_killed_during_a_session(cluster, indexes):
    import io

    from rich.console import Console

    cix, single = indexes
    buf = io.StringIO()
    repl = Repl(cix, Console(file=buf, width=100, color_system=None), limit=5, pager=False)
    repl.handle("Đà Nẵng")
    before = [h.id for h in repl.result.hits]
    pids = cix._cluster.client.run(os.getpid)
    os.kill(sorted(pids.values())[-1], signal.SIGKILL)
    t0 = time.monotonic()
    repl.handle("Đà Nẵng")
    assert time.monotonic() - t0 < 120
    out = buf.getvalue()
    # the dead worker's shards were searched by the one left (the data is on a shared path)
    assert [h.id for h in repl.result.hits] == before and "error" not in out and "Traceback" not in out


def test_a_shard_that_cannot_be_searched_is_named(cluster, indexes, monkeypatch):
    from vnsearch.cluster import ClusterError

    cix, _ = indexes
    cix.reload()
    scorer = cix._get_scorer()
    monkeypatch.setattr(scorer, "paths", [*scorer.paths[:2], "/nonexistent/shard-2"])
    with pytest.raises(ClusterError, match="shard 2 failed on worker tcp://"):
        cix.search("Đà Nẵng hôm nay")


def test_unreachable_scheduler_is_one_line_within_the_timeout(tmp_path):
    env = {**os.environ, "VNSEARCH_CLUSTER_TIMEOUT": "2"}
    t0 = time.monotonic()
    r = subprocess.run([sys.executable, "-m", "vnsearch", "--cluster", "127.0.0.1:9", "--index", str(tmp_path / "ix"),
                        "search", "Đà Nẵng"], capture_output=True, text=True, timeout=60, env=env)
    assert time.monotonic() - t0 < 20
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "127.0.0.1:9" in r.stderr

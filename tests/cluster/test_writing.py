"""A cluster's merges, against a stand-in for Dask's client: a worker killed mid-merge is one line,
its half-written segment is removed, and every committed batch stays searchable."""

from concurrent.futures import Future

import pytest

from vnsearch import Document, Index
from vnsearch.cluster.writing import ClusterPool, merge_shard
from vnsearch.errors import IndexWriteError


class _Cluster:
    def __init__(self, client):
        self.client = client

    def owner(self, shard):
        return f"tcp://worker-{shard}"


class _Client:
    """Runs each merge here; the merge of `killed` leaves a half-written segment and dies."""

    def __init__(self, killed):
        self.killed = killed

    def submit(self, fn, path, *args, **kwargs):
        f = Future()
        if path == self.killed:
            with open(f"{path}/MAIN_halfwrittenmerge0.seg", "wb") as out:
                out.write(b"\0" * 100)
            f.set_exception(RuntimeError("KilledWorker: the worker running the merge died"))
        else:
            f.set_result(fn(path, *args))
        return f


def test_a_merge_killed_on_a_worker_is_one_line_and_leaves_no_half_segment(tmp_path):
    ix = Index.open(tmp_path / "ix", create=True, shards=2)
    for part in range(2):
        ix.add([Document(f"d{part}-{i}", f"Tin {i}", f"Hà Nội mưa lớn {i}.") for i in range(10)])
    paths = [str(s.path.resolve()) for s in ix._store.shards]
    pool = ClusterPool(_Cluster(_Client(killed=paths[1])))
    with pytest.raises(IndexWriteError, match="the merge of .* failed on the cluster .*KilledWorker.* run the same command again to merge"):
        pool.merge(paths, 64, [20, 20])
    fresh = Index.open(ix.path)
    assert [s.segment_count() for s in fresh._store.shards] == [1, 2]  # shard 0 folded; shard 1 as it was
    assert not list((tmp_path / "ix").rglob("MAIN_halfwrittenmerge0.seg"))
    assert fresh.check() == [] and fresh.search("Hà Nội", limit=100).total == 20
    assert merge_shard(paths[1], 64, 20) and Index.open(ix.path)._store.segment_count() == 2

"""How a search round meets a worker that is gone, against a stand-in for Dask's client: the
scheduler can list a killed worker for a while, and a round sent there waits for the connection
timeout (a real cluster showed it under load: the retry went back to the dead worker)."""

import pytest

from vnsearch.cluster import Cluster, ClusterError, _run_shards


class _Worker:
    def __init__(self, address):
        self.address = address


class FakeClient:
    """Lists `listed` workers; a worker in `dead` answers with a connection error."""

    def __init__(self, listed, dead=()):
        self.listed, self.dead, self.sent = list(listed), set(dead), []

    def scheduler_info(self):
        return {"workers": {w: {"nthreads": 1} for w in self.listed}}

    def run(self, fn, *args, workers, on_error):
        assert on_error == "return"
        self.sent.append(sorted(workers))
        return {w: OSError(f"Timed out trying to connect to {w}") if w in self.dead else fn(*args, dask_worker=_Worker(w))
                for w in workers}


def cluster_with(client) -> Cluster:
    from concurrent.futures import ThreadPoolExecutor

    c = Cluster.__new__(Cluster)
    c.address, c.client, c.call_timeout, c._gone = "tcp://fake:1", client, 5.0, {}
    c._waiter = ThreadPoolExecutor(1)
    return c


def where(shard):
    return shard * 10


def test_a_gone_worker_s_shards_go_to_the_others_and_later_rounds_leave_it_out():
    client = FakeClient(["tcp://a:1", "tcp://b:1"], dead={"tcp://b:1"})
    c = cluster_with(client)
    calls = [(s, (s,)) for s in range(4)]
    assert c.on_shards(where, calls, "test") == [0, 10, 20, 30]
    # the first round went to both; only b's shards (1, 3) went again, and only to a
    assert client.sent == [["tcp://a:1", "tcp://b:1"], ["tcp://a:1"]]
    client.sent.clear()
    assert c.on_shards(where, calls, "test") == [0, 10, 20, 30]
    assert client.sent == [["tcp://a:1"]]  # the scheduler still lists b: not asked again
    assert c.owner(1) == "tcp://a:1"
    assert c.on_shards(where, [], "test") == [] and client.sent == [["tcp://a:1"]]  # nothing to ask: no round


def test_every_worker_gone_is_one_clear_error():
    client = FakeClient(["tcp://a:1", "tcp://b:1"], dead={"tcp://a:1", "tcp://b:1"})
    c = cluster_with(client)
    with pytest.raises(ClusterError, match="no worker left to search the shards of the test round"):
        c.on_shards(where, [(0, (0,)), (1, (1,))], "test")


def test_a_worker_that_fails_the_retry_too_is_named():
    class Flaky(FakeClient):  # a answers the first round, then is gone too
        def run(self, fn, *args, workers, on_error):
            if len(self.sent) == 1:
                self.dead.add("tcp://a:1")
            return super().run(fn, *args, workers=workers, on_error=on_error)

    c = cluster_with(Flaky(["tcp://a:1", "tcp://b:1"], dead={"tcp://b:1"}))
    with pytest.raises(ClusterError, match=r"round over shards 1 failed on the cluster \(worker tcp://a:1: OSError"):
        c.on_shards(where, [(0, (0,)), (1, (1,))], "test")


def test_a_shard_s_own_error_is_named_not_retried():
    client = FakeClient(["tcp://a:1"])
    c = cluster_with(client)

    def broken(shard):
        raise ValueError("bad shard")

    with pytest.raises(ClusterError, match="shard 0 failed on worker tcp://a:1: ValueError: bad shard"):
        c.on_shards(broken, [(0, (0,))], "test")
    assert len(client.sent) == 1
    assert _run_shards(where, {"tcp://a:1": [(0, 5, (5,))]}, dask_worker=_Worker("tcp://b:1")) == []

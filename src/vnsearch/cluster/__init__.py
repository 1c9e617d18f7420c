"""Beyond one machine: searching and indexing an index's shards on a Dask cluster.

The collection is an ordinary (sharded) vnsearch index on a path every worker and
the client can reach.  The client plans each query as for a local index; each
shard's part of the two rounds a sharded search makes (`search/sharded.py`:
statistics, then scores with the collection's statistics) runs on the worker
that owns the shard, in parallel; extraction, normalization, segmentation and
inversion of documents run on the workers through a Dask executor.  The results
are those of one index holding the same documents, by construction (the same
code, the same statistics).  Only this package imports ``distributed``.
"""

from __future__ import annotations

import os
import re
import time
from concurrent.futures import ThreadPoolExecutor

from vnsearch.errors import StaleShard, VnsearchError

__all__ = ["Cluster", "ClusterError", "split_location", "connect_timeout"]


#: seconds a worker a round could not reach is left out, while the scheduler still lists it
GONE_FOR = 60.0


class ClusterError(VnsearchError):
    """The cluster cannot be reached, or a shard did not answer: one line naming what."""


_LOCATION = re.compile(r"^dask://([^/]+)(/.*)$")


def split_location(text: str) -> tuple[str, str] | None:
    """("tcp://host:port", "/path/of/the/index") for ``dask://host:port/path/of/the/index``, else None."""
    m = _LOCATION.match(str(text))
    return (f"tcp://{m.group(1)}", m.group(2)) if m else None


def connect_timeout() -> float:
    try:
        return float(os.environ.get("VNSEARCH_CLUSTER_TIMEOUT", "10"))
    except ValueError:
        raise VnsearchError("VNSEARCH_CLUSTER_TIMEOUT must be a number of seconds") from None


class Cluster:
    """A connection to a Dask scheduler, and which worker owns which shard."""

    def __init__(self, address: str, timeout: float | None = None, call_timeout: float | None = None):
        from distributed import Client

        self.address = address if "://" in address else f"tcp://{address}"
        timeout = connect_timeout() if timeout is None else timeout
        self.call_timeout = call_timeout or float(os.environ.get("VNSEARCH_CLUSTER_CALL_TIMEOUT", "120"))
        self._gone: dict[str, float] = {}  # workers a round could not reach -> when
        self._waiter = ThreadPoolExecutor(1, thread_name_prefix="vnsearch-cluster")
        try:
            self.client = Client(self.address, timeout=timeout, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as e:
            self._waiter.shutdown(wait=False)
            raise ClusterError(f"cannot reach the Dask scheduler at {self.address} within {timeout:g} s "
                               f"({type(e).__name__}: {str(e).splitlines()[0][:200]})") from None
        if not self.workers():
            deadline = time.monotonic() + timeout
            while not self.workers() and time.monotonic() < deadline:
                time.sleep(0.1)
            if not self.workers():
                self.close()
                raise ClusterError(f"the Dask scheduler at {self.address} has no workers")

    def workers(self) -> list[str]:
        """The workers the scheduler lists, less those this client found gone within `GONE_FOR`
        seconds (the scheduler can list a killed worker for a while: a round sent there waits for
        the connection timeout)."""
        listed = sorted(self.client.scheduler_info().get("workers", {}))
        now = time.monotonic()
        self._gone = {w: t for w, t in self._gone.items() if w in listed and now - t < GONE_FOR}
        return [w for w in listed if w not in self._gone]

    def threads(self) -> int:
        """Worker threads in the cluster: how many tasks run at once."""
        return max(1, sum(w.get("nthreads", 1) for w in self.client.scheduler_info().get("workers", {}).values()))

    def owner(self, shard: int) -> str | None:
        """The worker a shard's searches and writes go to first (its caches stay warm there); any
        other takes over when it is gone."""
        return self._owners(shard + 1).get(shard)

    def on_shards(self, fn, calls: list[tuple[int, tuple]], what: str) -> list:
        """`fn(*args)` for each (shard, args), on the worker that owns the shard, all workers at once;
        the results in order.  A search round goes straight to the workers (`Client.run`: one
        message each way, ~1.5 ms here, where a scheduled task cost ~15 ms), so a worker that is
        gone is not replaced by the scheduler: its shards (only those) go to the workers left, once,
        and the next rounds leave it out; a shard that still fails or does not answer within the
        call timeout is named."""
        if not calls:
            return []
        out: list = [None] * len(calls)
        todo = list(range(len(calls)))
        for _ in range(2):
            owners = self._owners(max(calls[i][0] for i in todo) + 1)
            if not owners:
                raise ClusterError(f"no worker left to search the shards of the {what} round")
            try:
                gone = self._run(fn, calls, todo, owners, out)
            except (ClusterError, StaleShard):
                raise
            except Exception as e:  # the scheduler itself failed the call
                raise ClusterError(f"the {what} round failed on the cluster "
                                   f"({type(e).__name__}: {str(e)[:200]})") from None
            if not gone:
                return out
            now = time.monotonic()
            self._gone.update((w, now) for w in gone)
            todo = [i for i in todo if owners[calls[i][0]] in gone]
        shards = ", ".join(str(calls[i][0]) for i in todo)
        w, e = next(iter(gone.items()))
        raise ClusterError(f"the {what} round over shards {shards} failed on the cluster "
                           f"(worker {w}: {type(e).__name__}: {str(e)[:200]})")

    def _owners(self, count: int) -> dict[int, str]:
        workers = self.workers()
        return {i: workers[i % len(workers)] for i in range(count)} if workers else {}

    def _run(self, fn, calls, todo: list[int], owners: dict[int, str], out: list) -> dict[str, BaseException]:
        """Runs calls[i] for i in `todo` on their owners, filling `out`; returns the workers that could
        not be reached (their calls' answers stay None) with what went wrong."""
        from concurrent.futures import TimeoutError as Late

        mine: dict[str, list] = {}
        for i in todo:
            shard, args = calls[i]
            mine.setdefault(owners[shard], []).append((i, shard, args))
        # in a thread of its own, so that a round that never answers can be given up on
        job = self._waiter.submit(self.client.run, _run_shards, fn, mine, workers=sorted(mine), on_error="return")
        try:
            answers = job.result(timeout=self.call_timeout)
        except Late:
            # the stuck call keeps its thread: later rounds get a new one
            self._waiter.shutdown(wait=False)
            self._waiter = ThreadPoolExecutor(1, thread_name_prefix="vnsearch-cluster")
            late = sorted(calls[i][0] for i in todo)
            raise ClusterError(f"shards {', '.join(map(str, late))} did not answer within {self.call_timeout:g} s "
                               f"(VNSEARCH_CLUSTER_CALL_TIMEOUT); is a worker down?") from None
        gone: dict[str, BaseException] = {}
        for w in mine:
            results = answers.get(w, OSError("no answer"))
            if isinstance(results, OSError):  # unreachable (`_run_shards` returns its calls' own errors)
                gone[w] = results
                continue
            if isinstance(results, BaseException):
                raise ClusterError(f"shards {', '.join(str(s) for _, s, _ in mine[w])} failed on worker {w}: "
                                   f"{type(results).__name__}: {str(results)[:200]}")
            for i, result in results:
                if isinstance(result, _Failed):
                    if result.kind == "StaleShard":
                        raise StaleShard(result.message)
                    raise ClusterError(f"shard {calls[i][0]} failed on worker {w}: {result.kind}: {result.message}")
                out[i] = result
        return gone

    def close(self) -> None:
        self._waiter.shutdown(wait=False)
        try:
            self.client.close()
        except Exception:  # closing a connection that is already gone
            pass


def _run_shards(fn, mine: dict, dask_worker=None):
    """On a worker (Dask hands it over as `dask_worker`): its own shards' calls, those `Cluster._run`
    gave to its address."""
    out = []
    for i, _shard, args in mine.get(dask_worker.address, []):
        try:
            out.append((i, fn(*args)))
        except Exception as e:  # this shard's failure, named by the client; the others still answer
            out.append((i, _Failed(type(e).__name__, str(e)[:300])))
    return out


class _Failed:
    """A shard's call that raised on its worker: what the client reports (or, stale, retries)."""

    def __init__(self, kind: str, message: str):
        self.kind, self.message = kind, message

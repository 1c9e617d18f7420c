"""Indexing on the cluster: documents analyzed on any worker, each shard written by the worker
that owns it.

The client reads the sources, skips what is unchanged and routes each batch's documents
to their shards; `ClusterPool.submit` runs extraction and analysis as Dask tasks (re-run
elsewhere when a worker dies); `commit_segment` sends a shard's prepared chunks to its
owner, straight from the workers that prepared them, and that worker writes and commits
the shard's new segment on the shared path.  A commit is never run twice (a worker dying
after its commit landed would otherwise file the batch again): a failed commit ends the
run with a one-line error, and the same command finishes the job.  The client holds the
collection's write lock throughout, so each shard has one writer.
"""

from __future__ import annotations

from pathlib import Path

from vnsearch.errors import IndexWriteError


def write_segment(path: str, chunks: list, replace: list[bool], limitmb: int) -> int:
    """On a worker: one new segment of the shard at `path` from prepared chunks, committed."""
    from vnsearch import engine

    store = engine.Store.open(Path(path))
    w = store.segment_writer(limitmb=limitmb)
    try:
        pos = 0
        for docs, inverted in chunks:
            w.add_chunk(docs, inverted, replace[pos : pos + len(docs)])
            pos += len(docs)
        w.commit()
    except BaseException:
        w.cancel()
        raise
    return pos


def merge_shard(path: str, limitmb: int, written: int = 0) -> bool:
    """On a worker: the shard's tiered merge and fold (`Store.merge`), beside the other shards' merges."""
    from vnsearch import engine

    return engine.Store.open(Path(path)).merge(limitmb, written)


class ClusterPool:
    """The executor `Indexer` uses on a cluster: tasks on any worker, commits and merges on owners."""

    def __init__(self, cluster):
        self.cluster = cluster
        self.client = cluster.client

    def threads(self) -> int:
        return self.cluster.threads()

    def submit(self, fn, *args):
        return self.client.submit(fn, *args, pure=False, retries=2)

    def commit_segment(self, shard: int, path, futures: list, replace: list[bool], limitmb: int) -> int:
        owner = self.cluster.owner(shard)
        f = self.client.submit(write_segment, str(path), futures, replace, limitmb, pure=False, retries=0,
                               workers=[owner] if owner else None, allow_other_workers=True)
        try:
            return f.result(timeout=self.cluster.call_timeout * 10)
        except Exception as e:
            raise IndexWriteError(f"the commit of a batch to {path} failed on the cluster ({type(e).__name__}: "
                                  f"{str(e)[:200]}); what was committed before is kept: run the same command "
                                  f"again to finish") from None

    def merge(self, paths: list, limitmb: int, written: list[int]) -> bool:
        """Each shard's merge (`paths` in shard order) on its owner, all at once; `written`: the
        documents the run wrote to each shard (what its fold may copy)."""
        futures = [self.client.submit(merge_shard, str(p), limitmb, written[i], pure=False, retries=0,
                                      workers=[self.cluster.owner(i)], allow_other_workers=True)
                   for i, p in enumerate(paths)]
        merged, failed = False, []
        for p, f in zip(paths, futures):  # every merge ended before anything is cleaned up
            try:
                merged = bool(f.result()) or merged
            except Exception as e:  # a worker killed mid-merge: its half-written segment is left behind
                failed.append((p, e))
        if failed:
            from vnsearch import engine

            for p, _e in failed:
                engine.Store.open(Path(p)).remove_leftovers()
            p, e = failed[0]
            raise IndexWriteError(f"the merge of {p} failed on the cluster ({type(e).__name__}: {str(e)[:200]}); "
                                  f"every batch of this run was committed and is kept: run the same command again "
                                  f"to merge") from None
        return merged

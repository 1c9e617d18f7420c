"""Incremental, parallel, crash-safe indexing.

The main process reads sources, compares each document's content hash with
the index, and sends only new or changed documents to N worker processes
(`prepare`).  It files their postings with one Whoosh writer and commits
every batch, so a killed run loses at most the batch in flight and a re-run
picks up where it stopped (committed documents hash as unchanged).
"""

from __future__ import annotations

import errno
import multiprocessing
import os
import signal
import sys
import threading
from contextlib import contextmanager, nullcontext
import time
from collections import deque
from functools import partial
from concurrent.futures import BrokenExecutor, ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator

from vnsearch.errors import IndexWriteError
from vnsearch.limits import Limits

_DISK_FULL = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}
from vnsearch.ingest.prepare import prepare_chunk
from vnsearch.ingest.sources import PART, Document, FileItem, Skip, Source


def extract_file(item: FileItem, limits: Limits) -> list[Document] | Skip:
    """A worker's task: the documents in a file (text extraction is the costly part of a PDF or a page)."""
    return item.documents(limits)


@dataclass
class IndexReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    kept: int = 0  # documents not removed because their file or folder could not be read
    truncated: int = 0  # documents longer than the document limit, indexed in part
    skipped: list[Skip] = field(default_factory=list)
    notes: list[Skip] = field(default_factory=list)  # indexed, with something worth saying
    seconds: float = 0.0
    bytes: int = 0
    commits: int = 0
    merge_seconds: float = 0.0  # of `seconds`, spent merging small segments at the end
    interrupted: bool = False

    @property
    def indexed(self) -> int:
        return self.added + self.updated

    def skip_reasons(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for s in self.skipped:
            key = s.reason.split(" (")[0]
            out[key] = out.get(key, 0) + 1
        return out

    def to_dict(self) -> dict:
        return {
            "added": self.added, "updated": self.updated, "unchanged": self.unchanged,
            "removed": self.removed, "kept": self.kept, "truncated": self.truncated, "skipped": len(self.skipped),
            "skipped_reasons": self.skip_reasons(),
            "skipped_items": [{"where": s.where, "reason": s.reason} for s in self.skipped[:1000]],
            "notes": [{"where": s.where, "note": s.reason} for s in self.notes[:1000]],
            "seconds": round(self.seconds, 3), "merge_seconds": round(self.merge_seconds, 3), "bytes": self.bytes,
            "interrupted": self.interrupted,
        }


@dataclass
class Progress:
    """Handed to the progress callback after every batch and every 200 source items."""

    seen: int
    indexed: int
    bytes: int
    seconds: float
    report: IndexReport


def _worker_init() -> None:
    """Set up a worker: ignore Ctrl-C, and never outlive the indexing run that started it."""
    # Ctrl-C goes to the whole process group; only the parent decides what to do with it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = multiprocessing.parent_process()
    if parent is not None:
        # The parent's sentinel becomes ready when it dies, on every platform (SIGKILL and the
        # OOM killer included): end at once rather than keep computing for nobody.
        threading.Thread(target=_exit_with, args=(parent,), daemon=True, name="vnsearch-parent-watch").start()


def _submit(pool, fn, *args):
    """`pool.submit`, with the main script hidden from workers it spawns (`_main_module_hidden`)."""
    with _main_module_hidden():
        return pool.submit(fn, *args)


def _stop(pool: ProcessPoolExecutor) -> None:
    """End a local pool now (Ctrl-C, a failure): queued work cancelled, and running work too, which
    a plain shutdown would wait for (a merge can take a minute); what it wrote is never committed."""
    pool.shutdown(wait=False, cancel_futures=True)
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        process.terminate()


def _exit_with(parent) -> None:
    parent.join()
    os._exit(3)


@contextmanager
def _main_module_hidden():
    """While workers are started: a spawned process re-runs the parent's main script unless it is
    guarded by ``if __name__ == "__main__"``, so a plain script calling ``Index.add(jobs=2)``
    would index again in every worker (and fail).  Workers need nothing from that script (their
    work is `prepare_chunk`), so the script is hidden from the start-up while they spawn."""
    main = sys.modules.get("__main__")
    saved = {k: main.__dict__[k] for k in ("__file__", "__spec__") if main is not None and k in main.__dict__}
    try:
        if saved:
            main.__dict__.pop("__file__", None)
            main.__spec__ = None
        yield
    finally:
        if main is not None and saved:
            main.__dict__.update(saved)


def worker_pool(jobs: int) -> ProcessPoolExecutor:
    """Worker processes started fresh ("spawn"), so they inherit no file descriptor (the
    write lock included) and start the same way on every platform."""
    return ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn"), initializer=_worker_init)


def _size(doc: Document) -> int:
    return len(doc.body.encode("utf-8", "surrogatepass")) + len(doc.title.encode("utf-8", "surrogatepass"))


#: documents a worker inverts at once at most.  Each of a chunk's terms gets a block of its own, and
#: a block costs a header on disk and Python time wherever a list is read or merged: 4,000 rather
#: than 1,000 made the 58k collection index 14% faster into a 13% smaller index, merged 44% faster,
#: for ~250 MB more a worker and ~550 MB less in the writer (bench/README.md)
CHUNK_DOCS = 4000

#: documents a batch on a machine with less memory than `_LARGE_MEMORY`, and with it
_BATCH_DOCS, _LARGE_BATCH_DOCS, _LARGE_MEMORY = 4000, 16000, 16 * 2**30


def default_batch_docs() -> int:
    """Documents a batch when the caller names none.  Fewer, larger segments mean fewer
    commits and one tier of merges instead of two (bench/README.md), at about three times
    the indexing process's memory: larger batches where the machine has the memory."""
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # no sysconf (Windows) or no such name
        return _BATCH_DOCS
    return _LARGE_BATCH_DOCS if memory >= _LARGE_MEMORY else _BATCH_DOCS


class Indexer:
    """One indexing run over some sources, into an engine store the caller has locked."""

    def __init__(self, store, existing: dict[str, tuple[bytes, str]], jobs: int | None = None,
                 batch_docs: int | None = None, batch_bytes: int | None = None, limitmb: int = 256,
                 progress: Callable[[Progress], None] | None = None, limits: Limits | None = None,
                 executor=None):
        self.limits = limits or Limits()
        # what analyzes and writes on a cluster (`cluster.writing.ClusterPool`), else local processes
        self.executor = executor
        self.store = store
        # a sharded store (`engine/shards.py`) takes each document into the shard its id routes to
        self.stores = getattr(store, "shards", None) or [store]
        self.route = getattr(store, "route", None)
        self.existing = existing
        self.jobs = max(1, jobs or (executor.threads() if executor is not None else os.cpu_count()) or 1)
        self.batch_docs = batch_docs = batch_docs or default_batch_docs()
        # ~8 KB of text a document on top of the count: larger --batch-docs make larger batches
        # (fewer segments and merges: bench/README.md), and at least 32 MB
        self.batch_bytes = batch_bytes or max(32_000_000, batch_docs * 8_000)
        self.limitmb = limitmb
        self.progress = progress
        self.report = IndexReport()
        self.written = [0] * len(self.stores)  # documents this run committed to each shard (what its fold may copy)
        self.t0 = time.perf_counter()
        self.seen_items = 0
        self.keep: dict[str, list[str]] = {}  # source -> ids and id prefixes ("dir/") not to remove
        # file id -> ids of the documents inside it (an mbox's messages, attachments)
        self.parts: dict[str, list[str]] = {}
        for i in existing:
            if PART in i:
                self.parts.setdefault(i.split(PART, 1)[0], []).append(i)

    # -- reading sources ------------------------------------------------------
    def _pending(self, sources: Iterable[Source], seen: dict[str, str]) -> Iterator[tuple[Document, str, bool]]:
        """(document, hash, is_new) for what needs indexing; counts the rest."""
        rep = self.report
        for src in sources:
            for item in src:
                self.seen_items += 1
                if self.progress and self.seen_items % 200 == 0:
                    self._tick()
                if isinstance(item, Skip):
                    rep.skipped.append(item)
                    if item.keep is not None:
                        self.keep.setdefault(src.name, []).append(item.keep)
                    continue
                if isinstance(item, FileItem):
                    if self._duplicate(item.id, seen):
                        continue
                    h = item.content_hash()
                    ids = [i for i in (item.id, *self.parts.get(item.id, ())) if i in self.existing]
                    if ids and all(self.existing[i][0] == h.encode("ascii") for i in ids):
                        for i in ids:
                            seen[i] = item.source or "this run"
                        rep.unchanged += len(ids)
                        continue
                    seen[item.id] = item.source or "this run"
                    yield item, h, False
                    continue
                yield from self._checked(item, seen)

    def _checked(self, item: Document, seen: dict[str, str]):
        """(document, hash, is_new) unless it is a duplicate or unchanged (counted)."""
        rep = self.report
        self._noted(item)
        if self._duplicate(item.id, seen):
            return
        seen[item.id] = item.source or "this run"
        h = item.content_hash()
        old = self.existing.get(item.id)
        if old is not None and old[0] == h.encode("ascii"):
            rep.unchanged += 1
            return
        yield item, h, old is None

    def _extracted(self, pending, seen: dict[str, str], pool=None):
        """Files turned into documents, in order: by the worker pool (a few files ahead), or here."""
        window: deque = deque()
        self._window = window  # the files being extracted, named if a worker dies
        ahead = 4 * self.jobs
        for entry in pending:
            item = entry[0]
            fut = None
            if isinstance(item, FileItem) and pool is not None:
                fut = _submit(pool, extract_file, item, self.limits)
            window.append((entry, fut))
            while window and (len(window) > ahead or window[0][1] is None or window[0][1].done()):
                yield from self._expand(*window.popleft(), seen)
        while window:
            yield from self._expand(*window.popleft(), seen)

    def _expand(self, entry, fut, seen: dict[str, str]):
        item, h, _ = entry
        if not isinstance(item, FileItem):
            yield entry
            return
        found = fut.result() if fut is not None else extract_file(item, self.limits)
        rep = self.report
        if isinstance(found, Skip):
            rep.skipped.append(found)
            if found.keep is not None:
                self.keep.setdefault(item.source, []).append(found.keep)
            return
        for doc in found:
            if doc.id != item.id and self._duplicate(doc.id, seen):
                continue
            seen[doc.id] = item.source or "this run"
            self._noted(doc)
            yield doc, h, doc.id not in self.existing

    def _duplicate(self, doc_id: str, seen: dict[str, str]) -> bool:
        """True (and reported) when this run has read `doc_id` already: the first one is kept."""
        if doc_id not in seen:
            return False
        self.report.skipped.append(Skip(doc_id, f"duplicate id (first seen in {seen[doc_id]}); kept the first"))
        return True

    def _noted(self, doc: Document) -> None:
        """Cut a document past the document limit, and report that and any note of its source."""
        rep = self.report
        limit = self.limits.document_chars
        if len(doc.body) > limit:
            doc.body, doc.truncated = doc.body[:limit], True
        if doc.truncated:
            rep.truncated += 1
            rep.notes.append(Skip(doc.id, f"truncated: only the first {limit:,} characters were indexed "
                                          f"(VNSEARCH_MAX_DOCUMENT_CHARS, VNSEARCH_MAX_FILE_BYTES)"))
        if doc.note:
            rep.notes.append(Skip(doc.id, doc.note))

    def _batches(self, pending) -> Iterator[list[tuple[Document, str, bool]]]:
        batch, size = [], 0
        for item in pending:
            batch.append(item)
            size += len(item[0].body) + len(item[0].title)  # characters: close enough for batching
            if len(batch) >= self.batch_docs or size >= self.batch_bytes:
                yield batch
                batch, size = [], 0
        if batch:
            yield batch

    def _tick(self) -> None:
        r = self.report
        self.progress(Progress(self.seen_items, r.indexed, r.bytes, time.perf_counter() - self.t0, r))

    # -- writing --------------------------------------------------------------
    def _routed(self, batches) -> Iterator[tuple[int, list[tuple[Document, str, bool]]]]:
        """(shard, its part of the batch) for each batch: the whole batch when there is one shard."""
        for batch in batches:
            if self.route is None:
                yield 0, batch
                continue
            parts: dict[int, list] = {}
            for item in batch:
                parts.setdefault(self.route(item[0].id), []).append(item)
            yield from sorted(parts.items())

    def _commit(self, batch, chunks: list[tuple[list[dict], dict]], shard: int = 0) -> None:
        """File one batch (prepared chunks in order) as one new segment of `shard` and commit it."""
        w = self.stores[shard].segment_writer(limitmb=self.limitmb)
        try:
            pos = 0
            for docs, inverted in chunks:
                w.add_chunk(docs, inverted, [not is_new for _, _, is_new in batch[pos : pos + len(docs)]])
                pos += len(docs)
            w.commit()
        except BaseException:
            w.cancel()
            raise
        self._counted(batch, shard)

    def _counted(self, batch, shard: int) -> None:
        self.written[shard] += len(batch)
        rep = self.report
        for doc, _h, is_new in batch:
            if is_new:
                rep.added += 1
            else:
                rep.updated += 1
            rep.bytes += _size(doc)
        rep.commits += 1
        if self.progress:
            self._tick()

    def _parts(self, batch) -> list[tuple[list, int]]:
        """The batch cut into chunks for the workers, each with its first document number."""
        # enough chunks to keep every worker busy, none so big that a worker's memory balloons
        size = max(1, min(CHUNK_DOCS, -(-len(batch) // self.jobs)))
        return [([(d, h) for d, h, _ in batch[i : i + size]], i) for i in range(0, len(batch), size)]

    def run(self, sources: list[Source], gone: Iterable[str] = ()) -> IndexReport:
        """Index `sources`; then remove the documents of `gone` (ids, and folders' ids ending "/"
        or files' ids: everything under them) that this run did not read again."""
        seen: dict[str, str] = {}
        self.gone = list(gone)
        self._window: deque = deque()
        try:
            local = self.executor is None and self.jobs > 1  # a pool of this run's own
            with worker_pool(self.jobs) if local else nullcontext(self.executor) as pool:
                try:
                    if pool is None:
                        batches = self._routed(self._batches(self._extracted(self._pending(sources, seen), seen)))
                        for shard, batch in batches:
                            self._commit(batch, [prepare_chunk(p, base) for p, base in self._parts(batch)], shard)
                    else:
                        self._run_parallel(sources, seen, pool)
                    self._remove_missing(sources, seen)
                    self._merge_if_needed(pool if local else None)  # the workers write the end's merges side by side
                except BaseException:
                    if local:  # a cluster's executor is not this run's to stop
                        _stop(pool)
                    raise
        except KeyboardInterrupt:
            self.report.interrupted = True
        except BrokenExecutor:
            reading = ", ".join([e[0].path for e, f in self._window if f is not None][:3]) or "no file"
            raise IndexWriteError(
                f"a worker process died (killed, out of memory, or crashed inside a document reader) while "
                f"reading {reading}; {self.report.indexed:,} documents of this run were committed and are kept. "
                f"Run the same command again; if it dies again, --jobs 1 names the file in the traceback-free "
                f"error, or leave it out with --exclude") from None
        except OSError as e:
            if e.errno not in _DISK_FULL:
                raise
            self.store.remove_leftovers()
            raise IndexWriteError(
                f"the disk holding the index is full ({e.strerror}): {self.report.indexed:,} documents of this run "
                f"were committed and are kept, the unfinished segment was removed; free some space and run the "
                f"same command again") from None
        self.report.seconds = time.perf_counter() - self.t0
        return self.report

    def _run_parallel(self, sources: list[Source], seen: dict[str, str], pool) -> None:
        # Workers extract files and prepare batch N+1 while this process writes batch N.
        batches = self._routed(self._batches(self._extracted(self._pending(sources, seen), seen, pool)))
        inflight = None
        for shard, batch in batches:
            futures = [_submit(pool, prepare_chunk, p, base) for p, base in self._parts(batch)]
            if inflight is not None:
                self._finish(*inflight)
            inflight = (batch, futures, shard)
        if inflight is not None:
            self._finish(*inflight)

    def _finish(self, batch, futures, shard: int) -> None:
        remote = getattr(self.executor, "commit_segment", None)
        if remote is None:
            self._commit(batch, [f.result() for f in futures], shard)
            return
        # on a cluster: the shard's owner writes it, with the chunks straight from the workers
        remote(shard, self.stores[shard].path.resolve(), futures, [not is_new for _, _, is_new in batch], self.limitmb)
        self._counted(batch, shard)

    def _remove_missing(self, sources: list[Source], seen: dict[str, str]) -> None:
        """Delete documents of fully listed sources (folders) that this run did not see."""
        names = {s.name for s in sources if s.complete_listing}
        gone = [i for i, (_h, src) in self.existing.items() if src in names and i not in seen]
        if self.gone:
            prefixes = tuple(g if g.endswith("/") else g + PART for g in self.gone)
            exact = set(self.gone)
            gone += [i for i in self.existing if i not in seen and (i in exact or i.startswith(prefixes))]
            gone = sorted(set(gone))
        if self.keep:
            kept = [i for i in gone if self._kept(i, self.existing[i][1])]
            self.report.kept += len(kept)
            gone = sorted(set(gone) - set(kept))
        if gone:
            self.store.delete(gone)
            self.report.removed += len(gone)

    def _kept(self, doc_id: str, source: str) -> bool:
        """True when `doc_id` lies in a file or folder of `source` that could not be read."""
        return any(doc_id == k or (k.endswith("/") and doc_id.startswith(k)) or k == ""
                   or doc_id.startswith(k + PART) for k in self.keep.get(source, ()))

    def _merge_if_needed(self, pool=None) -> None:
        t0 = time.perf_counter()
        remote = getattr(self.executor, "merge", None)
        if remote is not None:  # on a cluster: each shard merged by its owner, all at once
            remote([s.path.resolve() for s in self.stores], self.limitmb, self.written)
        else:  # each shard folds at most what this run wrote to it (`engine/whoosh/merge.py`)
            submit = partial(_submit, pool) if pool is not None else None
            for store, written in zip(self.stores, self.written):
                store.merge(self.limitmb, written, submit)
        self.report.merge_seconds = time.perf_counter() - t0

"""An index split into shards: N ordinary index folders under one, each document in the shard its id
hashes to.

Sharding is the unit a search can score side by side (each shard in its own
thread, `search/sharded.py`) and what a cluster would spread over machines.  The split is vnsearch's, not the engine's: a shard is a normal index
folder (``shard-0`` ...), so everything an index does (crash-safe commits,
merges, checks) holds per shard, and only this module knows there are several.

* The top folder's metadata file says how many shards there are; the count is
  fixed when the index is created (routing depends on it).
* A document's shard is a stable hash of its id (BLAKE2b, not Python's
  per-process `hash`), so an update or a deletion finds the shard holding it.
* `ShardedStore` and `ShardedSnapshot` offer the single-folder `Store` and
  `Snapshot` interfaces over the shards: document numbers are the shards'
  own, shard after shard; frequencies, counts and lengths are summed, so a
  `Scorer` over a `ShardedSnapshot` scores as one index of every document.
"""

from __future__ import annotations

import hashlib
import heapq
import os
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from vnsearch import engine
from vnsearch.errors import IndexCorruptError, IndexVersionError, VnsearchError

MAX_SHARDS = 64


def shard_name(i: int) -> str:
    return f"shard-{i}"


def shard_of(doc_id: str, count: int) -> int:
    """The shard holding `doc_id` among `count`: the same in every process and on every machine."""
    if count <= 1:
        return 0
    digest = hashlib.blake2b(doc_id.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "little") % count


def default_shards() -> int:
    """Shards for a new index when none are asked for: one per two cores, at least one, at most
    eight.  On two cores shards made searches slower, not faster (bench/README.md): one there."""
    return max(1, min(8, (os.cpu_count() or 1) // 2))


def shard_count(path: Path) -> int:
    """How many shards the index at `path` has (1: an ordinary index)."""
    count = engine.read_meta(Path(path)).get("shards", 1)
    if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= MAX_SHARDS:
        raise IndexCorruptError(f"{path}/{engine.META} names {count!r} shards; rebuild with 'vnsearch index --rebuild'")
    return count


def create_store(path: Path, shards: int):
    """A new, empty index at `path`: one folder, or `shards` shard folders under it."""
    path = Path(path)
    if shards <= 1:
        return engine.Store.create(path)
    if shards > MAX_SHARDS:
        raise VnsearchError(f"at most {MAX_SHARDS} shards, not {shards}")
    engine.make_folder(path)
    if (path / engine.META).exists():
        raise IndexCorruptError(f"{path} already holds an index")
    stores = []
    for i in range(shards):
        folder = path / shard_name(i)
        # a creation killed before the top metadata was written left some shards: reuse those
        stores.append(engine.Store.open(folder) if (folder / engine.META).exists() else engine.Store.create(folder))
    write_top(path, shards)
    return ShardedStore(path, stores)


def write_top(path: Path, shards: int) -> None:
    """The top folder's metadata: the shard count and the shards' schema version (written last, so a
    folder without it holds no index yet)."""
    shard = engine.read_meta(path / shard_name(0))
    try:
        meta = engine.read_meta(path)
    except VnsearchError:
        meta = {"created": shard["created"], "updated": None, "sources": {}, "checksums": True}
    meta.update(schema_version=shard["schema_version"], shards=shards)
    engine.write_meta(path, meta)


def staging(path: Path, shards: int, source_names: list[str]) -> "ShardedStore":
    """A rebuild's stores: one staging folder in each shard folder (`engine.staging`), resumed as
    one is; `swap_in` moves them in shard by shard."""
    stores = []
    for i in range(shards):
        folder = path / shard_name(i)
        engine.make_folder(folder)
        engine.refuse_foreign(folder, "rebuild")
        stores.append(engine.Store.open(engine.staging(folder, source_names)))
    return ShardedStore(path, stores)


def swap_in(path: Path, built: "ShardedStore") -> None:
    """Each shard's rebuilt index into its folder, then the top metadata.  Each shard changes in one
    step; a reader opening the index between two shards' steps sees some shards rebuilt."""
    for i, store in enumerate(built.shards):
        engine.swap_in(path / shard_name(i), store.path)
    write_top(path, built.count)


def open_store(path: Path):
    """The store of the index at `path`, sharded or not (one-line errors for missing pieces)."""
    path = Path(path)
    if not path.is_dir():
        return engine.Store.open(path)  # its own message: no index there / not a folder
    count = shard_count(path)
    if count == 1:
        return engine.Store.open(path)
    stores = []
    for i in range(count):
        folder = path / shard_name(i)
        if not (folder / engine.META).exists():
            raise IndexCorruptError(f"{folder}: shard {i} of {count} is missing; rebuild the index with "
                                    f"'vnsearch --index {path} index --rebuild SOURCE...'")
        try:
            stores.append(engine.Store.open(folder))
        except IndexVersionError as e:  # the rebuild command names the whole index, not the shard
            raise IndexVersionError(f"{shard_name(i)}: {str(e).split(' Rebuild it:')[0]} Rebuild it: vnsearch "
                                    f"--index {path} index --rebuild SOURCE...") from None
    return ShardedStore(path, stores)


class ShardedStore:
    """The `Store` interface over shard stores; writes go to the shard each id routes to."""

    def __init__(self, path: Path, shards: list):
        self.path = Path(path)
        self.shards = shards
        self.count = len(shards)

    def route(self, doc_id: str) -> int:
        return shard_of(doc_id, self.count)

    def set_cache_bytes(self, n: int) -> None:
        for s in self.shards:
            s.set_cache_bytes(max(1, n // self.count))

    def snapshot(self) -> "ShardedSnapshot":
        snaps = []
        try:
            for s in self.shards:
                snaps.append(s.snapshot())
        except BaseException:
            for s in snaps:
                s.close()
            raise
        return ShardedSnapshot(snaps)

    def existing(self) -> dict[str, tuple[bytes, str]]:
        out: dict[str, tuple[bytes, str]] = {}
        for s in self.shards:
            out.update(s.existing())
        return out

    def delete(self, ids: Iterable[str]) -> int:
        routed: dict[int, list[str]] = {}
        for doc_id in ids:
            routed.setdefault(self.route(doc_id), []).append(doc_id)
        return sum(self.shards[i].delete(group) for i, group in sorted(routed.items()))

    def merge(self, limitmb: int = 256) -> bool:
        """Every shard's tiered merge.  A run folds each shard by what it wrote there: the indexer
        calls each shard's own `Store.merge` with its count."""
        return any([s.merge(limitmb) for s in self.shards])  # a list: every shard merges

    def optimize(self, limitmb: int = 256) -> bool:
        return any([s.optimize(limitmb) for s in self.shards])

    def segment_count(self) -> int:
        return sum(s.segment_count() for s in self.shards)

    def remove_leftovers(self) -> None:
        for s in self.shards:
            s.remove_leftovers()

    def check(self, checksums: bool) -> list[str]:
        return [f"{shard_name(i)}: {p}" for i, s in enumerate(self.shards) for p in s.check(checksums)]


class ShardedSnapshot:
    """The `Snapshot` interface over one snapshot of each shard: shard i's document d is number
    offsets[i] + d; what is counted or summed is counted over every shard."""

    def __init__(self, shards: list):
        self.shards = shards
        sizes = [s.n for s in shards]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        self.n: int = int(self.offsets[-1])
        self.generation = tuple(s.generation for s in shards)
        self.segments: str = " ".join(f"{i}/{key}" for i, s in enumerate(shards) for key in s.segments.split())
        self._arrays: dict[tuple[str, str], np.ndarray] = {}

    def is_current(self) -> bool:
        return all(s.is_current() for s in self.shards)

    def close(self) -> None:
        for s in self.shards:
            s.close()

    def _joined(self, kind: str, field: str, read) -> np.ndarray:
        arr = self._arrays.get((kind, field))
        if arr is None:
            arr = self._arrays[(kind, field)] = np.concatenate([read(s) for s in self.shards])
        return arr

    def _local(self, docnum: int) -> tuple[int, int]:
        i = int(np.searchsorted(self.offsets, docnum, side="right")) - 1
        return i, docnum - int(self.offsets[i])

    # -- fields and documents ---------------------------------------------------------
    def kind(self, field: str) -> str | None:
        return self.shards[0].kind(field)

    def has_positions(self, field: str) -> bool:
        return self.shards[0].has_positions(field)

    @property
    def live(self) -> np.ndarray:
        return self._joined("live", "", lambda s: s.live)

    def doc_count(self) -> int:
        return sum(s.doc_count() for s in self.shards)

    def stored(self, docnum: int, body: bool = True) -> dict:
        i, d = self._local(docnum)
        return self.shards[i].stored(d, body)

    def doc_number(self, doc_id: str) -> int | None:
        i = shard_of(doc_id, len(self.shards))
        d = self.shards[i].doc_number(doc_id)
        return None if d is None else int(self.offsets[i]) + d

    def lengths(self, field: str) -> np.ndarray:
        return self._joined("lengths", field, lambda s: s.lengths(field))

    def total_length(self, field: str) -> int:
        return sum(s.total_length(field) for s in self.shards)

    def column(self, field: str) -> np.ndarray:
        return self._joined("column", field, lambda s: s.column(field))

    def existing(self) -> dict[str, tuple[bytes, str]]:
        out: dict[str, tuple[bytes, str]] = {}
        for s in self.shards:
            out.update(s.existing())
        return out

    # -- terms ----------------------------------------------------------------------------
    def postings(self, field: str, term: str | bytes) -> tuple[np.ndarray, np.ndarray]:
        parts = [(ids + int(off), tf) for s, off in zip(self.shards, self.offsets)
                 for ids, tf in [s.postings(field, term)] if len(ids)]
        if not parts:
            return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.float32)
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])

    def doc_frequency(self, field: str, term: str) -> int:
        return sum(s.doc_frequency(field, term) for s in self.shards)

    def positions(self, field: str, term: str, docs: np.ndarray) -> list[np.ndarray]:
        docs = np.asarray(docs, dtype=np.int64)
        out: list[np.ndarray] = []
        for i, s in enumerate(self.shards):
            lo, hi = self.offsets[i], self.offsets[i + 1]
            mine = docs[(docs >= lo) & (docs < hi)] - lo
            if len(mine):
                out.extend(s.positions(field, term, mine))
        return out

    def terms(self, field: str, start: str = "", prefix: str = "") -> Iterator[str]:
        last = None
        for t in heapq.merge(*(s.terms(field, start, prefix) for s in self.shards)):
            if t != last:
                yield t
                last = t

    def terms_within(self, field: str, text: str, maxdist: int, prefix: int = 1) -> Iterator[str]:
        yield from sorted({t for s in self.shards for t in s.terms_within(field, text, maxdist, prefix)})

    def term_count(self, field: str) -> int:
        return sum(1 for _ in self.terms(field))

    def term_frequencies(self, field: str) -> dict[str, int]:
        out: dict[str, int] = {}
        for s in self.shards:
            for t, df in s.term_frequencies(field).items():
                out[t] = out.get(t, 0) + df
        return out

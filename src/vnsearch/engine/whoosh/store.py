"""An index folder through the engine seam: snapshots to read, segments to write, deletions,
merges and the integrity check.  `Index` and the indexer see only this class and `Snapshot`."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from vnsearch.engine.whoosh import storage
from vnsearch.engine.whoosh.bulkwriter import BulkWriter
from vnsearch.engine.whoosh.integrity import remove_leftovers, segment_files, verify_folder
from vnsearch.engine.whoosh.merge import (NotBulkWritten, commit_merged, merge_segments, mergeable, plan_fold,
                                          plan_merges, write_merged)
from vnsearch.engine.whoosh.codec import check_list
from vnsearch.engine.whoosh.postings import PostingCache
from vnsearch.engine.whoosh.reader import Snapshot
from vnsearch.engine.whoosh.schema import INVERTED_FIELDS
from vnsearch.engine.whoosh.writes import delete_ids, segment_count


class Store:
    """The engine's side of one index folder."""

    def __init__(self, path: Path, ix):
        self.path = Path(path)
        self._ix = ix
        self._cache = PostingCache()  # decoded postings, shared by this store's snapshots

    def set_cache_bytes(self, n: int) -> None:
        """How many bytes of decoded posting lists to keep between searches."""
        self._cache.max_bytes = n

    @classmethod
    def create(cls, path: Path) -> "Store":
        return cls(path, storage.create(Path(path)))

    @classmethod
    def open(cls, path: Path) -> "Store":
        return cls(path, storage.open_existing(Path(path)))

    def generation(self) -> int:
        return self._ix.latest_generation()

    def snapshot(self) -> Snapshot:
        """The latest commit, for reading."""
        return Snapshot(self._ix, self._cache)

    def existing(self) -> dict[str, tuple[bytes, str]]:
        s = self.snapshot()
        try:
            return s.existing()
        finally:
            s.close()

    # -- writing (the caller holds the write lock) ----------------------------------
    def segment_writer(self, limitmb: int = 256) -> BulkWriter:
        """A writer of one new segment from chunks `encode_chunk` prepared: ``add_chunk(docs, encoded,
        replace)``, then ``commit()`` (one commit) or ``cancel()``."""
        return BulkWriter(self._ix, limitmb=limitmb)

    def delete(self, ids: Iterable[str]) -> int:
        """Delete documents by id in one commit; how many existed."""
        return delete_ids(self._ix, ids)

    def merge(self, limitmb: int = 256, written: int = 0, submit=None) -> bool:
        """Keep the number of segments logarithmic and drop deleted documents: segments are merged
        ten of a size class at a time, a segment with many deletions alone; small segments are
        folded into one, copying at most `written` documents (what the run wrote: `merge.py`).
        `submit(fn, *args) -> Future`, when given, runs a round's merges side by side in other
        processes (the tier groups and the fold are disjoint), committed together.  True when
        anything was merged.  (Whoosh's own merge cannot read packed lists: never used.)"""
        merged = False
        fold = written > 0
        while True:
            reader = self._ix.reader()
            try:
                counts = [(seg, seg.doc_count(), seg.doc_count_all(), mergeable(seg))
                          for seg, _offset in reader.leaf_readers()]
                groups = plan_merges(counts)
                if fold:  # once, beside the first round's tier merges
                    fold = False
                    grouped = {id(seg) for group in groups for seg in group}
                    small = plan_fold([c for c in counts if id(c[0]) not in grouped], written)
                    groups += [small] if small else []
                if not groups or not self._merge_groups(groups, limitmb, submit):
                    return merged
                merged = True
            finally:
                reader.close()

    def _merge_groups(self, groups: list[list], limitmb: int, submit) -> bool:
        """Merge each group of segment readers into one segment; False when their lists are not
        packed (then nothing changed)."""
        try:
            if submit is None or len(groups) == 1:
                for group in groups:
                    merge_segments(self._ix, group, limitmb)
                return True
            ids = [[r.segment().segment_id() for r in group] for group in groups]
            futures = [submit(write_merged, str(self.path), group, limitmb) for group in ids]
            commit_merged(self._ix, ids, [f.result() for f in futures])
            return True
        except NotBulkWritten:  # lists not packed: left as they are
            self.remove_leftovers()
            return False
        except BaseException:
            self.remove_leftovers()  # the half-written segments: the index is as it was
            raise

    def optimize(self, limitmb: int = 256) -> bool:
        """Merge every segment into one (deleted documents dropped), as Lucene's force-merge: a
        search pays a term lookup and a list a segment, so a collection that is done growing reads
        fastest as one.  True when anything was merged."""
        def everything(counts):
            segs = [seg for seg, _live, _all, ok in counts if ok]
            return segs if len(segs) > 1 or (segs and segs[0].has_deletions()) else None

        reader = self._ix.reader()
        try:
            group = everything([(seg, seg.doc_count(), seg.doc_count_all(), mergeable(seg))
                                for seg, _offset in reader.leaf_readers()])
            return bool(group) and self._merge_groups([group], limitmb, None)
        finally:
            reader.close()

    def segment_count(self) -> int:
        return segment_count(self._ix)

    def remove_leftovers(self) -> None:
        """Remove files of a segment that was never committed (a full disk, a crash)."""
        remove_leftovers(self._ix.storage.folder, self._ix.indexname)

    # -- checking -------------------------------------------------------------------
    def check(self, checksums: bool) -> list[str]:
        """Read every file, term, posting and stored document; the problems found (empty: healthy).
        `checksums`: the index was written with checksum files (older ones were not)."""
        ix = self._ix
        try:
            segments = ix._segments()
        except Exception as e:  # noqa: BLE001 - a damaged table of contents
            return [f"cannot read the table of contents ({type(e).__name__}: {e})"]
        missing = [f for seg in segments for f in _needed_files(seg) if not ix.storage.file_exists(f)]
        if missing:
            return [f"missing segment file {f}" for f in missing]
        folder = str(self.path)
        files = [n for seg in segments for n in segment_files(folder, seg)]
        files.append(f"_{storage.INDEX_NAME}_{ix.latest_generation()}.toc")
        if not checksums:
            files = [n for n in files if (self.path / (n + ".sum")).exists()]
        problems = verify_folder(folder, files)
        if problems:
            return problems
        try:
            with ix.reader() as r:
                for _ in r.all_terms():  # the whole term dictionary
                    pass
                for seg, _offset in r.leaf_readers():  # and every posting of the big fields, block by block
                    for field in INVERTED_FIELDS:
                        for term, info in seg.iter_field(field):
                            n = check_list(seg, field, term)
                            if n != info.doc_frequency():
                                problems.append(f"{field}:{term.decode(errors='replace')} has {n} postings, "
                                                f"its term info says {info.doc_frequency()}")
                for d in r.all_doc_ids():
                    r.stored_fields(d)
                if r.doc_count_all() and r.schema["body"].column_type is not None:  # schema 5: the body's column
                    for seg, _offset in r.leaf_readers():
                        bodies = seg.column_reader("body")
                        for d in seg.all_doc_ids():
                            bodies[d]
        except Exception as e:  # noqa: BLE001 - whatever reading damaged files raises is the finding
            problems.append(f"cannot read the index ({type(e).__name__}: {e})")
        return problems


def _needed_files(seg) -> list[str]:
    """Names of the files a segment cannot do without."""
    if getattr(seg, "compound", False):
        return [seg.make_filename(".seg")]
    return [seg.make_filename(".trm"), seg.make_filename(".pst")]

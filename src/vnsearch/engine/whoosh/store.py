"""An index folder through the engine seam: snapshots to read, segments to write, deletions,
merges and the integrity check.  `Index` and the indexer see only this class and `Snapshot`."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from vnsearch.engine.whoosh import storage
from vnsearch.engine.whoosh.bulkwriter import BulkWriter
from vnsearch.engine.whoosh.integrity import remove_leftovers, segment_files, verify_folder
from vnsearch.engine.whoosh.merge import NotBulkWritten, merge_segments, mergeable, plan_fold, plan_merges
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

    def merge(self, limitmb: int = 256, written: int = 0) -> bool:
        """Keep the number of segments logarithmic and drop deleted documents: segments are merged
        ten of a size class at a time, a segment with many deletions alone; then small segments
        are folded into one, copying at most `written` documents (what the run wrote: `merge.py`).
        True when anything was merged.  (Whoosh's own merge cannot read packed lists: never used.)"""
        merged = False
        while self._merge_planned(lambda counts: (plan_merges(counts) or [None])[0], limitmb):
            merged = True
        if written > 0 and self._merge_planned(lambda counts: plan_fold(counts, written), limitmb):
            merged = True
        return merged

    def optimize(self, limitmb: int = 256) -> bool:
        """Merge every segment into one (deleted documents dropped), as Lucene's force-merge: a
        search pays a term lookup and a list a segment, so a collection that is done growing reads
        fastest as one.  True when anything was merged."""
        def everything(counts):
            segs = [seg for seg, _live, _all, ok in counts if ok]
            return segs if len(segs) > 1 or (segs and segs[0].has_deletions()) else None

        return self._merge_planned(everything, limitmb)

    def _merge_planned(self, plan, limitmb: int) -> bool:
        """Merge the group of segments `plan` picks from (segment, live, all, mergeable) of each
        segment, in one commit; False when it picks none or their lists are not packed."""
        reader = self._ix.reader()
        try:
            group = plan([(seg, seg.doc_count(), seg.doc_count_all(), mergeable(seg))
                          for seg, _offset in reader.leaf_readers()])
            if not group:
                return False
            try:
                merge_segments(self._ix, group, limitmb)
            except NotBulkWritten:  # lists not packed: left as they are
                self.remove_leftovers()
                return False
            except BaseException:
                self.remove_leftovers()  # the half-written segment: the index is as it was
                raise
            return True
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

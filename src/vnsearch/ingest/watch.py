"""Keeping an index current while files change: ``vnsearch watch`` and ``index --watch``.

watchfiles (MIT; Rust's notify underneath: inotify, FSEvents, ReadDirectoryChangesW)
reports changes in bursts: it waits until the folder has been quiet for a moment
(`debounce_ms`), so saving a document (write, rename, touch) or copying a folder
of a thousand files becomes one indexing commit, not a thousand.  Each burst goes
to `Index.refresh` with the source it belongs to.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from vnsearch.ingest.indexing import IndexReport
from vnsearch.ingest.sources import FileSource, FolderSource, Source, ignored_name

__all__ = ["watch", "Batch", "watched_paths"]


@dataclass
class Batch:
    """One burst of changes and what indexing it did (per source)."""

    source: str
    paths: list[str]
    report: IndexReport


def watched_paths(sources: Iterable[Source]) -> dict[str, Source]:
    """The path to watch for each source that has one (stdin has none)."""
    out = {}
    for s in sources:
        if isinstance(s, FolderSource):
            out[str(s.root.resolve())] = s
        elif isinstance(s, FileSource):
            out[str(s.path.resolve())] = s
        elif getattr(s, "path", None) and getattr(s, "stream", None) is None and os.path.exists(str(s.path)):
            out[os.path.abspath(str(s.path))] = s
    return out


def _owner(path: str, roots: dict[str, Source]) -> Source | None:
    best = None
    for root, src in roots.items():
        if path == root or path.startswith(root.rstrip(os.sep) + os.sep):
            if best is None or len(root) > len(best[0]):
                best = (root, src)
    return best[1] if best else None


def _not_hidden(_change, path: str) -> bool:
    return not ignored_name(os.path.basename(path))


def watch(index, sources: list[Source], on_batch: Callable[[Batch], None] | None = None,
          stop: threading.Event | None = None, debounce_ms: int = 800, jobs: int | None = 1,
          ready: Callable[[], None] | None = None) -> int:
    """Watch the sources' folders and files and index each burst of changes, until `stop` is set
    or Ctrl-C.  Returns how many bursts were indexed."""
    from watchfiles import watch as changes_of

    roots = watched_paths(sources)
    if not roots:
        raise ValueError("nothing to watch: give folders or files (standard input cannot be watched)")
    watch_on = sorted({r if os.path.isdir(r) else str(Path(r).parent) for r in roots})
    if ready is not None:
        ready()
    batches = 0
    for changes in changes_of(*watch_on, debounce=debounce_ms, step=50, stop_event=stop, raise_interrupt=False,
                              watch_filter=_not_hidden, recursive=True, ignore_permission_denied=True,
                              rust_timeout=1000, yield_on_timeout=False):
        by_source: dict[Source, list[str]] = {}
        for _change, path in changes:
            src = _owner(os.path.abspath(path), roots)
            if src is not None:
                by_source.setdefault(src, []).append(path)
        for src, paths in by_source.items():
            report = index.refresh(src, paths, jobs=jobs)
            batches += 1
            if on_batch is not None:
                on_batch(Batch(src.name, sorted(set(paths)), report))
            if report.interrupted:
                return batches
    return batches

"""The index directory: creating and opening it, its metadata file and the writer lock.

Whoosh keeps the postings; vnsearch keeps ``vnsearch.json`` beside them
(schema version, sources, last update), written atomically.  One indexing
run at a time holds ``vnsearch-write.lock`` (released by the operating
system even on SIGKILL); searches never take it.
"""

from __future__ import annotations

import errno
import json
import os
import time
from datetime import datetime, timezone
from pathlib import Path

from filelock import FileLock, Timeout
from whoosh import index as whoosh_index

from .errors import IndexCorruptError, IndexLockedError, IndexNotFoundError, IndexVersionError
from .mapped import MappedStorage
from .schema import SCHEMA_VERSION, build_schema

META = "vnsearch.json"
LOCK = "vnsearch-write.lock"
LOCK_OWNER = "vnsearch-write.owner"  # the pid of the run holding the lock, for messages
INDEX_NAME = "MAIN"


def now_iso() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def read_meta(path: Path) -> dict:
    try:
        with open(path / META, encoding="utf-8") as f:
            meta = json.load(f)
    except FileNotFoundError:
        raise IndexNotFoundError(f"{path}: not a vnsearch index (no {META})") from None
    except (OSError, ValueError) as e:
        raise IndexCorruptError(f"{path}/{META} is unreadable ({e}); rebuild with 'vnsearch index --rebuild'") from None
    if not isinstance(meta, dict):
        raise IndexCorruptError(f"{path}/{META} is not a vnsearch metadata file")
    return meta


def write_meta(path: Path, meta: dict) -> None:
    tmp = path / f".{META}.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(meta, f, ensure_ascii=False, indent=1, sort_keys=True)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path / META)


def check_version(path: Path, meta: dict) -> None:
    version = meta.get("schema_version")
    if version != SCHEMA_VERSION:
        raise IndexVersionError(
            f"{path} was written with index schema version {version}; this vnsearch reads version "
            f"{SCHEMA_VERSION}. Rebuild it: vnsearch --index {path} index --rebuild SOURCE..."
        )


def create(path: Path) -> whoosh_index.Index:
    """A new, empty index at `path` (the folder may exist, but must not hold an index)."""
    path.mkdir(parents=True, exist_ok=True)
    if (path / META).exists() or whoosh_index.exists_in(str(path), INDEX_NAME):
        raise IndexCorruptError(f"{path} already holds an index")
    ix = MappedStorage(str(path)).create_index(build_schema(), indexname=INDEX_NAME)
    write_meta(path, {"schema_version": SCHEMA_VERSION, "created": now_iso(), "updated": None, "sources": {}})
    return ix


def open_existing(path: Path) -> whoosh_index.Index:
    if not path.exists():
        raise IndexNotFoundError(f"no index at {path}; create one with: vnsearch --index {path} index SOURCE")
    if not path.is_dir():
        raise IndexNotFoundError(f"{path} is not a folder, so not an index")
    meta = read_meta(path)
    check_version(path, meta)
    try:
        return MappedStorage(str(path)).open_index(INDEX_NAME)
    except whoosh_index.EmptyIndexError:
        raise IndexCorruptError(
            f"{path}: the index's table of contents is missing; rebuild with 'vnsearch index --rebuild'"
        ) from None
    except Exception as e:  # Whoosh raises many kinds on damaged files
        raise IndexCorruptError(f"{path}: the index cannot be read ({type(e).__name__}: {e}); "
                                f"run 'vnsearch check' or rebuild with 'vnsearch index --rebuild'") from None


class WriteLock:
    """Exclusive lock for one indexing run: waits up to `timeout` seconds, then names the lock.

    A `filelock` lock (flock on POSIX, msvcrt on Windows): the operating
    system drops it when the owning process dies, however it dies.  Worker
    processes are spawned, not forked, so none of them inherits it.
    """

    def __init__(self, path: Path, timeout: float = 10.0):
        self.file = path / LOCK
        self.owner = path / LOCK_OWNER
        self.timeout = timeout
        self._lock: FileLock | None = None

    def __enter__(self) -> "WriteLock":
        lock = FileLock(str(self.file), timeout=max(0.0, self.timeout))
        try:
            lock.acquire(poll_interval=0.1)
        except Timeout:
            raise IndexLockedError(
                f"the index is locked by another indexing run{self._holder()} (lock {self.file}); "
                f"waited {self.timeout:g} s") from None
        except PermissionError:
            raise IndexLockedError(f"cannot write to {self.file.parent}: permission denied") from None
        except OSError as e:
            if e.errno == errno.EROFS:
                raise IndexLockedError(f"{self.file.parent} is on a read-only file system") from None
            raise IndexLockedError(f"cannot lock {self.file}: {e.strerror or e}") from None
        self._lock = lock
        try:
            self.owner.write_text(str(os.getpid()))
        except OSError:
            pass  # only used to name the holder in a message
        return self

    def _holder(self) -> str:
        try:
            pid = self.owner.read_text().strip()
        except OSError:
            return ""
        return f" (process {pid})" if pid.isdigit() else ""

    def __exit__(self, *exc) -> None:
        if self._lock is not None:
            try:
                self.owner.unlink()
            except OSError:
                pass
            self._lock.release()
            self._lock = None

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
import re
from datetime import datetime, timezone
from pathlib import Path

from filelock import FileLock, Timeout
from whoosh import index as whoosh_index
from whoosh.filedb.filestore import FileStorage

from vnsearch.errors import IndexCorruptError, IndexLockedError, IndexNotFoundError, IndexVersionError, VnsearchError
from vnsearch.engine.whoosh.integrity import clean_toc_sums, write_toc
from vnsearch.engine.whoosh.mapped import MappedStorage
from vnsearch.engine.whoosh.safepickle import UnsafeIndexFile, install as _restrict_unpickling
from vnsearch.engine.whoosh.schema import READABLE_VERSIONS, SCHEMA_VERSION, build_schema

META = "vnsearch.json"
_restrict_unpickling()  # index files are data: before any index is opened

LOCK = "vnsearch-write.lock"
LOCK_OWNER = "vnsearch-write.owner"  # the pid of the run holding the lock, for messages
INDEX_NAME = "MAIN"
STAGING = ".vnsearch-rebuild"  # where --rebuild builds the new index before swapping it in

#: every name vnsearch (or Whoosh for it) creates in an index folder; nothing else is ever removed
_OWNED = re.compile(
    r"^(?:vnsearch\.json|synonyms\.txt|vocabulary\.bin(?:\.\d+\.tmp)?|\.vnsearch\.json\.\d+\.tmp|vnsearch-write\.(?:lock|owner)|"
    rf"{INDEX_NAME}_WRITELOCK|_{INDEX_NAME}_\d+\.toc(?:\.sum)?(?:\.[\d.]+(?:tmp)?)?|"
    rf"{INDEX_NAME}_[0-9a-z]+\.[A-Za-z0-9_.]+|{re.escape(STAGING)}|shard-\d+|\.gitkeep)$")  # shard-N: engine/shards.py


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
    if version not in READABLE_VERSIONS:
        raise IndexVersionError(
            f"{path} was written with index schema version {version}; this vnsearch reads versions "
            f"{', '.join(map(str, READABLE_VERSIONS))}. Rebuild it: vnsearch --index {path} index --rebuild SOURCE..."
        )


def foreign_files(path: Path) -> list[str]:
    """Names in the index folder that vnsearch did not create."""
    try:
        return sorted(n for n in os.listdir(path) if not _OWNED.match(n))
    except (FileNotFoundError, NotADirectoryError):
        return []  # nothing there yet (creating it will say what is in the way)
    except OSError as e:
        raise VnsearchError(f"cannot read the index folder {path}: {e.strerror or e}") from None


def refuse_foreign(path: Path, doing: str) -> None:
    """Raise unless every file in `path` is vnsearch's own: removals never touch anything else."""
    other = foreign_files(path)
    if other:
        shown = ", ".join(other[:3]) + (f" and {len(other) - 3} more" if len(other) > 3 else "")
        raise IndexCorruptError(f"refusing to {doing} {path}: it holds files vnsearch did not create ({shown}); "
                                f"choose another --index or move them")


def discard(path: Path) -> None:
    """Remove an index folder vnsearch made (the rebuild's staging folder): only its own files."""
    if not path.is_dir():
        return
    refuse_foreign(path, "remove")
    for name in os.listdir(path):
        p = path / name
        if p.is_dir() and not p.is_symlink():
            discard(p)
        else:
            p.unlink(missing_ok=True)
    path.rmdir()


def staging(path: Path, source_names: list[str]) -> Path:
    """The folder a rebuild of `path` from these sources builds in: resumed when an interrupted
    rebuild of the same sources left one, otherwise made anew."""
    st = path / STAGING
    if st.exists():
        try:
            meta = read_meta(st)
            resumable = meta.get("rebuild_of") == source_names and meta.get("schema_version") == SCHEMA_VERSION
            if resumable:
                open_existing(st)
        except VnsearchError:
            resumable = False
        if not resumable:
            discard(st)
    if not st.exists():
        create(st)
        meta = read_meta(st)
        meta["rebuild_of"] = source_names
        write_meta(st, meta)
    return st


def swap_in(path: Path, built: Path) -> None:
    """Make the index built in `built` the index at `path`, in one step readers can see.

    Its segment files move in under their own (random) names, then a new table of contents
    naming only them is written atomically; the old index stays searchable until that
    moment, and its files are removed afterwards (readers that have them open keep them).
    """
    toc = whoosh_index.TOC.read(MappedStorage(str(built)), INDEX_NAME)
    gen = whoosh_index.TOC._latest_generation(FileStorage(str(path)), INDEX_NAME) + 1
    ids = {seg.segment_id() for seg in toc.segments}
    for name in os.listdir(built):
        if name.split(".", 1)[0] in ids:
            os.replace(built / name, path / name)
    main = MappedStorage(str(path))
    write_toc(main, toc.schema, toc.segments, gen, INDEX_NAME)
    meta = read_meta(built)
    meta.pop("rebuild_of", None)
    try:
        meta["created"] = read_meta(path).get("created", meta["created"])
    except VnsearchError:
        pass
    write_meta(path, meta)
    whoosh_index.clean_files(main, INDEX_NAME, gen, toc.segments)
    clean_toc_sums(str(path), INDEX_NAME)
    discard(built)


def make_folder(path: Path) -> None:
    """Create the index folder (and its parents), or say in one line why it cannot be."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise VnsearchError(f"cannot create the index folder {path}: a file is in the way") from None
    except OSError as e:
        raise VnsearchError(f"cannot create the index folder {path}: {e.strerror or e}") from None


def create(path: Path) -> whoosh_index.Index:
    """A new, empty index at `path` (the folder may exist, but must not hold an index)."""
    make_folder(path)
    if (path / META).exists():
        raise IndexCorruptError(f"{path} already holds an index")
    st = MappedStorage(str(path))
    if whoosh_index.exists_in(str(path), INDEX_NAME):
        _remove_unfinished_creation(path, st)
    # the first table of contents is sealed like every later one (Whoosh's create_index writes
    # it without a checksum file: a run killed before its first commit left an index that
    # check called damaged)
    write_toc(st, build_schema(), [], 0, INDEX_NAME)
    ix = st.open_index(INDEX_NAME)
    write_meta(path, {"schema_version": SCHEMA_VERSION, "created": now_iso(), "updated": None, "sources": {},
                      "checksums": True})
    return ix


def _remove_unfinished_creation(path: Path, st) -> None:
    """A table of contents without vnsearch's metadata is a creation killed before it finished,
    when it is the empty first one: removed.  Anything else is not ours to remove."""
    try:
        toc = whoosh_index.TOC.read(st, INDEX_NAME)
    except Exception:  # noqa: BLE001 - unreadable: certainly not an index worth keeping, but not ours
        toc = None
    if toc is None or toc.generation != 0 or toc.segments:
        raise IndexCorruptError(f"{path} already holds an index without vnsearch's {META}; choose another --index")
    for name in os.listdir(path):
        if re.match(rf"^_{INDEX_NAME}_0\.toc(?:\.sum)?$", name):
            (path / name).unlink()


def open_existing(path: Path) -> whoosh_index.Index:
    if not path.exists():
        raise IndexNotFoundError(f"no index at {path}; create one with: vnsearch --index {path} index SOURCE")
    if not path.is_dir():
        raise IndexNotFoundError(f"{path} is not a folder, so not an index")
    meta = read_meta(path)
    check_version(path, meta)
    st = MappedStorage(str(path))
    try:
        for attempt in range(20):
            gen = whoosh_index.TOC._latest_generation(st, INDEX_NAME)
            try:
                return st.open_index(INDEX_NAME)
            except FileNotFoundError:
                # a writer committed and removed the generation just listed: read the new one
                if attempt == 19 or whoosh_index.TOC._latest_generation(st, INDEX_NAME) == gen:
                    raise
    except UnsafeIndexFile as e:
        toc = f"_{INDEX_NAME}_{whoosh_index.TOC._latest_generation(st, INDEX_NAME)}.toc"
        raise IndexCorruptError(f"{path / toc}: refusing to read it: {e}") from None
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

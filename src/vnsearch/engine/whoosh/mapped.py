"""Whoosh's index files read where they lie, a part at a time, never copied whole.

Every read goes through `ViewFile.get` or the reader's `read`, which verify
the pages they touch against the file's checksums (`integrity.py`).

Whoosh's FileStorage maps a segment file and then wraps each of its parts in
a BufferFile, whose BytesIO copies the part: opening an index read all of it
into memory (a 765 MB index: 1.4 s and 1.5 GB resident before the first
search, ~10 s when the files were not in the page cache).  Here every file,
and every part of a compound segment file, is a view of one `ReadAt`, so a
search reads only the bytes it asks for.  `ReadAt` reads with `os.pread`,
not through a mapping: the kernel maps the cached pages around each page a
mapping touches ("fault-around"), and all of them count in the process's
resident memory until it exits, so a one-shot search over an index of many
segments held several times the pages it read.  Read bytes are the
caller's, freed when it is done with them.
"""

from __future__ import annotations

import mmap
import os

from whoosh.filedb.filestore import FileStorage
from whoosh.filedb.structfile import BufferFile

from vnsearch.engine.whoosh.integrity import Sums, load_sums


class ReadAt:
    """A file's bytes by offset, as `src[a:b]` (a copy) and `src.find`, read with `os.pread` (an
    mmap where the system has no pread)."""

    __slots__ = ("_file", "_fd", "_size", "__weakref__")

    def __init__(self, f, size: int):
        self._file = f  # kept open while any view of it lives; closed when the last one goes
        self._fd = f.fileno()
        self._size = size

    def __len__(self) -> int:
        return self._size

    def __getitem__(self, key: slice) -> bytes:
        start, stop, _step = key.indices(self._size)
        if stop <= start:
            return b""
        data = os.pread(self._fd, stop - start, start)
        if len(data) != stop - start:  # the file shrank under us: never hand back a short part
            raise OSError(f"{self._file.name}: {len(data)} bytes where {stop - start} were asked at {start:,}")
        return data

    def find(self, sub: bytes, start: int = 0, end: int | None = None) -> int:
        end = self._size if end is None else min(end, self._size)
        pos, window = start, 4096
        while pos < end:
            chunk = self[pos : min(end, pos + window)]
            at = chunk.find(sub)
            if at >= 0:
                return pos + at
            pos += max(1, len(chunk) - len(sub) + 1)
        return -1


def _source(path: str):
    """(a `ReadAt` of the file, or an mmap where there is no pread; its size)."""
    f = open(path, "rb", buffering=0)
    try:
        size = os.fstat(f.fileno()).st_size
        if hasattr(os, "pread"):
            return ReadAt(f, size), size
        with f:
            return (mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) if size else b""), size
    except BaseException:
        f.close()
        raise


class _Reader:
    """A read-only file object over bytes [start, start + length) of `src` (an mmap or bytes)."""

    __slots__ = ("_src", "_start", "_len", "_pos", "_sums")

    def __init__(self, src, start: int, length: int, sums: Sums | None = None):
        self._src = src
        self._start = start
        self._len = length
        self._pos = 0
        self._sums = sums

    def read(self, n: int | None = -1) -> bytes:
        p = self._pos
        end = self._len if n is None or n < 0 else min(self._len, p + n)
        if end <= p:
            return b""
        self._pos = end
        if self._sums is not None:
            return self._sums.read(self._start + p, self._start + end)
        return self._src[self._start + p : self._start + end]

    def readline(self, limit: int = -1) -> bytes:
        p = self._pos
        end = self._len if limit is None or limit < 0 else min(self._len, p + limit)
        nl = self._src.find(b"\n", self._start + p, self._start + end)
        return self.read((nl - self._start + 1 if nl >= 0 else end) - p)

    def peek(self, n: int = 1) -> bytes:
        # pickle.load peeks 128 KB ahead; the pickles Whoosh reads here are a few dozen bytes
        p = self._pos
        return self._src[self._start + p : self._start + min(self._len, p + min(max(n, 1), 256))]

    def seek(self, pos: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self._pos, os.SEEK_END: self._len}[whence]
        self._pos = max(0, base + pos)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def close(self) -> None:
        pass

    @property
    def closed(self) -> bool:
        return False


class ViewFile(BufferFile):
    """Whoosh's BufferFile over a range of a mapping, without BytesIO's copy."""

    def __init__(self, src, start: int, length: int, name: str | None = None, onclose=None,
                 sums: Sums | None = None):
        self._src = src
        self._start = start
        self._len = length
        self._name = name
        self._sums = sums
        self.file = _Reader(src, start, length, sums)
        self.onclose = onclose
        self.is_real = False
        self.is_closed = False

    def subset(self, position: int, length: int, name: str | None = None) -> "ViewFile":
        return ViewFile(self._src, self._start + position, length, name=name or self._name, sums=self._sums)

    def get(self, position: int, length: int) -> bytes:
        if self.is_closed:  # never an empty answer that reads as "no such list"
            raise ValueError(f"{self._name}: read after the file was closed")
        end = min(position + length, self._len)
        if end <= position:
            return b""
        if self._sums is not None:
            return self._sums.read(self._start + position, self._start + end)
        return self._src[self._start + position : self._start + end]

    def close(self) -> None:
        if self.is_closed:
            return
        self.is_closed = True
        if self.onclose:
            self.onclose(self)
        self._src = b""  # the file closes when no view of it is left


class MappedStorage(FileStorage):
    """A FileStorage whose opened files are views of an mmap (writing is Whoosh's own)."""

    def __init__(self, path: str, readonly: bool = False):
        # supports_mmap=False makes compound segments ask our file for subsets (views), not
        # map it again and wrap each part in a copying BufferFile
        super().__init__(path, supports_mmap=False, readonly=readonly)

    def open_file(self, name: str, onclose=None, **kwargs) -> ViewFile:
        """A view of the whole file, its pages verified against its checksums as they are read."""
        src, size = _source(self._fpath(name))
        return ViewFile(src, 0, size, name=name, onclose=onclose, sums=load_sums(self.folder, name, src))

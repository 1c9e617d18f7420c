"""Whoosh's index files read in place through mmap, never copied whole.

Every read goes through `ViewFile.get` or the reader's `read`, which verify
the pages they touch against the file's checksums (`integrity.py`).

Whoosh's FileStorage maps a segment file and then wraps each of its parts in
a BufferFile, whose BytesIO copies the part: opening an index read all of it
into memory (a 765 MB index: 1.4 s and 1.5 GB resident before the first
search, ~10 s when the files were not in the page cache).  Here every file,
and every part of a compound segment file, is a view of one mapping, so a
search reads only the pages it touches.
"""

from __future__ import annotations

import mmap
import os

from whoosh.filedb.filestore import FileStorage
from whoosh.filedb.structfile import BufferFile

from vnsearch.engine.whoosh.integrity import Sums, load_sums


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
            self._sums.verify(self._start + p, self._start + end)
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
        self._buf = memoryview(src)[start : start + length] if length else b""
        self._name = name
        self._sums = sums
        self.file = _Reader(src, start, length, sums)
        self.onclose = onclose
        self.is_real = False
        self.is_closed = False

    def subset(self, position: int, length: int, name: str | None = None) -> "ViewFile":
        return ViewFile(self._src, self._start + position, length, name=name or self._name, sums=self._sums)

    def get(self, position: int, length: int) -> bytes:
        if self._sums is not None:
            self._sums.verify(self._start + position, self._start + position + length)
        return bytes(self._buf[position : position + length])

    def close(self) -> None:
        if self.is_closed:
            return
        self.is_closed = True
        if self.onclose:
            self.onclose(self)
        self._buf = b""  # the mapping closes when no view is left


class MappedStorage(FileStorage):
    """A FileStorage whose opened files are views of an mmap (writing is Whoosh's own)."""

    def __init__(self, path: str, readonly: bool = False):
        # supports_mmap=False makes compound segments ask our file for subsets (views), not
        # map it again and wrap each part in a copying BufferFile
        super().__init__(path, supports_mmap=False, readonly=readonly)

    def open_file(self, name: str, onclose=None, **kwargs) -> ViewFile:
        """A view of the whole file, its pages verified against its checksums as they are read."""
        with open(self._fpath(name), "rb") as f:
            size = os.fstat(f.fileno()).st_size
            src = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
        return ViewFile(src, 0, size, name=name, onclose=onclose, sums=load_sums(self.folder, name, src))

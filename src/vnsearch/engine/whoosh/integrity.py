"""Checksums of index files, so damaged bytes are reported as damage, never answered from.

Every segment file and table of contents gets a sidecar ``NAME.sum``: the
CRC-32 of each page (16 KiB; 64 KiB in files written before 2026-11) and the file's size, written before the table of
contents that names the file (so a reader never sees a file without its
sums, except in indexes from before checksums).  Readers verify a page the
first time they touch it (`mapped.ViewFile`), so a search pays only for the
pages it reads; `vnsearch check` verifies every page.
"""

from __future__ import annotations

import mmap
import os
import re
import shutil
import struct
from contextlib import contextmanager
import zlib

import numpy as np
from whoosh.filedb.filestore import RamStorage
from whoosh.index import TOC, clean_files
from whoosh.writing import SegmentWriter

from vnsearch.errors import IndexCorruptError

# 16 KiB pages: a search verifies whole pages around the few bytes it reads (with 64 KiB ones, as
# written until 2026-11, the first search checked four times the bytes; those files still read)
PAGE_BITS = 14
PAGE = 1 << PAGE_BITS
SUFFIX = ".sum"
_MAGIC = b"VNSUM\x01"
_HEAD = struct.Struct("<6sIQ")  # magic, page size, file size


class DamagedFile(IndexCorruptError):
    """An index file whose bytes no longer match their checksums (or whose sums are unreadable)."""


def page_sums(data, page: int = PAGE) -> np.ndarray:
    """CRC-32 of each page of `data` (bytes, mmap or memoryview)."""
    mv = memoryview(data)
    return np.fromiter((zlib.crc32(mv[i : i + page]) for i in range(0, len(mv), page)), dtype="<u4",
                       count=-(-len(mv) // page))


def encode_sums(data, page: int = PAGE) -> bytes:
    return _HEAD.pack(_MAGIC, page, len(data)) + page_sums(data, page).tobytes()


class Sums:
    """A file's page checksums, and which pages this process has verified so far."""

    __slots__ = ("name", "src", "crcs", "ok", "bits")

    def __init__(self, name: str, src, raw: bytes):
        if len(raw) < _HEAD.size or (len(raw) - _HEAD.size) % 4:
            raise DamagedFile(f"{name}{SUFFIX}: checksum file cut short")
        magic, page, size = _HEAD.unpack_from(raw)
        crcs = np.frombuffer(raw, dtype="<u4", offset=_HEAD.size)
        bits = page.bit_length() - 1
        if (magic != _MAGIC or page != 1 << bits or not 12 <= bits <= 20
                or len(crcs) != -(-size // page)):
            raise DamagedFile(f"{name}{SUFFIX}: not a checksum file of this vnsearch")
        if size != len(src):
            raise DamagedFile(f"{name}: {len(src):,} bytes where {size:,} were written (cut short or extended)")
        self.name = name
        self.src = src
        self.crcs = crcs
        self.ok = bytearray(len(crcs))
        self.bits = bits  # the page size the file's sums were written with

    def verify(self, start: int, end: int) -> None:
        """Check the pages holding bytes [start, end) that are not checked yet."""
        if end <= start:
            return
        ok, bits = self.ok, self.bits
        if (end - 1) >> bits == start >> bits < len(ok) and ok[start >> bits]:
            return  # most reads: a few bytes of one page already checked
        p, last = start >> bits, min(end - 1, len(self.src) - 1) >> bits
        if ok.find(0, p, last + 1) < 0:
            return  # a long list's pages, all checked before (one C scan, not a loop)
        while p <= last:
            if not ok[p]:
                a, page = p << bits, 1 << bits
                if zlib.crc32(self.src[a : a + page]) != self.crcs[p]:
                    raise DamagedFile(f"{self.name}: damaged bytes between offsets {a:,} and {a + page:,} "
                                      f"(checksum mismatch)")
                ok[p] = 1
            p += 1

    def read(self, start: int, end: int) -> bytes:
        """Bytes [start, end) of the file, their pages verified: pages not checked yet are read
        whole once, checked and answered from, not read a second time for the answer."""
        if end <= start:
            return b""
        ok, bits = self.ok, self.bits
        p = start >> bits
        if (end - 1) >> bits == p < len(ok) and ok[p]:
            return self.src[start:end]  # most reads: a few bytes of one page already checked
        last = min(end - 1, len(self.src) - 1) >> bits
        if ok.find(0, p, last + 1) < 0:  # every page checked before: read just the bytes asked
            return self.src[start:end]
        a, page = p << bits, 1 << bits
        data = self.src[a : min((last + 1) << bits, len(self.src))]
        view = memoryview(data)
        for q in range(p, last + 1):
            if not ok[q]:
                o = (q - p) << bits
                if zlib.crc32(view[o : o + page]) != self.crcs[q]:
                    raise DamagedFile(f"{self.name}: damaged bytes between offsets {q << bits:,} and "
                                      f"{(q << bits) + page:,} (checksum mismatch)")
                ok[q] = 1
        return data[start - a : end - a] if (start - a or end - a != len(data)) else data

    def verify_all(self) -> None:
        self.verify(0, len(self.src))


def _atomic_write(path: str, data: bytes) -> None:
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


@contextmanager
def _mapped(path: str):
    """A file's bytes as a read-only mapping (segments run to hundreds of MB: never read whole)."""
    with open(path, "rb") as f:
        if os.fstat(f.fileno()).st_size == 0:
            yield b""
            return
        m = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        try:
            yield m
        finally:
            m.close()


def seal_file(folder: str, name: str) -> None:
    """Write `name`'s checksum sidecar (read back from disk: what readers will map)."""
    with _mapped(os.path.join(folder, name)) as data:
        sums = encode_sums(data)
    _atomic_write(os.path.join(folder, name + SUFFIX), sums)


def segment_files(folder: str, segment) -> list[str]:
    prefix = segment.segment_id() + "."
    return sorted(n for n in os.listdir(folder) if n.startswith(prefix) and not n.endswith((SUFFIX, ".tmp")))


def seal_segments(folder: str, segments) -> None:
    """Sums for every file of `segments` that has none yet (new segments: old ones keep theirs)."""
    have = set(os.listdir(folder))
    for seg in segments:
        for name in segment_files(folder, seg):
            if name + SUFFIX not in have:
                seal_file(folder, name)


def write_toc(storage, schema, segments, generation: int, indexname: str) -> None:
    """Whoosh's table of contents, its sums written first, then the file itself atomically."""
    ram = RamStorage()
    TOC(schema, segments, generation).write(ram, indexname)
    name = TOC._filename(indexname, generation)
    data = bytes(ram.files[name])
    folder = storage.folder
    _atomic_write(os.path.join(folder, name + SUFFIX), encode_sums(data))
    _atomic_write(os.path.join(folder, name), data)


def clean_toc_sums(folder: str, indexname: str) -> None:
    """Whoosh's clean-up removes old tables of contents; their sidecars go too."""
    pattern = TOC._pattern(indexname)
    names = set(os.listdir(folder))
    for n in names:
        if n.endswith(SUFFIX) and pattern.match(n[: -len(SUFFIX)]) and n[: -len(SUFFIX)] not in names:
            _remove(folder, n)


def remove_leftovers(folder: str, indexname: str) -> None:
    """After a failed write (a full disk): remove every file the last commit does not name
    (the unfinished segment, its sums, half-written tables of contents).  Call under the lock."""
    from whoosh.filedb.filestore import FileStorage

    storage = FileStorage(folder)
    toc = TOC.read(storage, indexname)
    clean_files(storage, indexname, toc.generation, toc.segments)
    clean_toc_sums(folder, indexname)
    temp = re.compile(rf"^_{re.escape(indexname)}_\d+\.toc(?:\.sum)?\.[\d.]+(?:tmp)?$")
    scratch = re.compile(rf"^{re.escape(indexname)}\.tmp\.[0-9a-f]{{32}}$")  # merges' own (`merge._private_temp`)
    for n in os.listdir(folder):
        if temp.match(n):
            _remove(folder, n)
        elif scratch.match(n):
            shutil.rmtree(os.path.join(folder, n), ignore_errors=True)


def _remove(folder: str, name: str) -> None:
    try:
        os.remove(os.path.join(folder, name))
    except OSError:
        pass


class SealedWriter(SegmentWriter):
    """Whoosh's segment writer, committing checksums with every segment and table of contents.

    Every vnsearch write (new segments, deletions, merges) goes through this class.
    """

    def _commit_toc(self, segments) -> None:
        folder = self.storage.folder
        seal_segments(folder, segments)
        write_toc(self.storage, self.schema, segments, self.generation, self.indexname)
        clean_files(self.storage, self.indexname, self.generation, segments)
        clean_toc_sums(folder, self.indexname)


def load_sums(folder: str, name: str, src) -> Sums | None:
    """The sums of file `name` mapped as `src`, or None for a file written without them."""
    try:
        with open(os.path.join(folder, name + SUFFIX), "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        return None
    return Sums(name, src, raw)


def verify_folder(folder: str, names: list[str]) -> list[str]:
    """Verify every page of these files; the problems found."""
    problems = []
    for name in names:
        try:
            with _mapped(os.path.join(folder, name)) as data:
                sums = load_sums(folder, name, data)
                if sums is None:
                    problems.append(f"{name}: no checksum file ({name}{SUFFIX})")
                else:
                    sums.verify_all()
                    sums.src = b""  # the mapping closes with this block
        except (DamagedFile, OSError) as e:
            problems.append(str(e) if isinstance(e, DamagedFile) else f"{name}: unreadable ({e.strerror or e})")
    return problems


__all__ = ["DamagedFile", "Sums", "SealedWriter", "seal_segments", "write_toc", "load_sums", "verify_folder",
           "segment_files"]

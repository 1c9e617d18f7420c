"""Document sources: folders, JSONL, CSV and standard input.

A source yields `Document`s and `Skip`s (bad input is counted and reported,
never raised).  Decoding handles UTF-8 with or without BOM, UTF-16 with BOM
and legacy encodings (Windows-1258 and others, detected by
charset-normalizer); binary files are skipped.
"""

from __future__ import annotations

import codecs
from contextlib import nullcontext
import csv
import fnmatch
import hashlib
import io
import json
import os
import re
import stat
import sys
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import IO, Iterable, Iterator, Union

from vnsearch.errors import VnsearchError
from vnsearch.limits import Limits

__all__ = [
    "Document", "Skip", "FieldMap", "Source", "FolderSource", "JsonlSource", "CsvSource",
    "decode_bytes", "parse_date", "open_source", "SourceError", "DocumentError", "visible_id",
]

DEFAULT_INCLUDE = ("*.txt", "*.md")


class SourceError(Exception):
    """A source that cannot be read at all (missing path, unreadable file)."""


class DocumentError(VnsearchError, ValueError):
    """A `Document` built with values vnsearch cannot index (the message says which)."""


@dataclass
class Document:
    """One document to index.  `date` takes a `datetime`, a `date` or a ``YYYY[-MM[-DD]]`` string."""

    id: str
    title: str
    body: str
    path: str = ""
    date: datetime | None = None
    source: str = ""
    #: something worth reporting about how the document was read (it is indexed all the same)
    note: str = field(default="", compare=False, repr=False)
    #: the text was longer than the document limit and was cut (see `Limits.document_chars`)
    truncated: bool = field(default=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        for name in ("id", "title", "body", "path", "source"):
            value = getattr(self, name)
            if not isinstance(value, str):
                if value is None and name != "id":
                    value = ""
                elif isinstance(value, (int, float)) and not isinstance(value, bool):
                    value = str(value)
                else:
                    raise DocumentError(f"document {self.id!r}: {name} must be text, not {type(value).__name__}")
            setattr(self, name, value)
        if not self.id:
            raise DocumentError("a document needs a non-empty id")
        self.id = visible_id(self.id)  # (lone surrogates in title and body become U+FFFD in normalize)
        if self.date is not None and not isinstance(self.date, datetime):
            d = as_datetime(self.date)
            if d is None:
                raise DocumentError(f"document {self.id!r}: date {self.date!r} is not a date "
                                    f"(use a datetime, a date or YYYY[-MM[-DD]])")
            self.date = d

    def content_hash(self) -> str:
        h = hashlib.blake2b(digest_size=16)
        for part in (self.title, self.body, self.path, self.date.isoformat() if self.date else ""):
            h.update(part.encode("utf-8", "surrogatepass"))
            h.update(b"\x00")
        return h.hexdigest()


@dataclass
class Skip:
    """Something a source could not turn into a document, and why.

    `keep` names what must not be removed because of it: a document id (a file that
    could not be read) or an id prefix ending in "/" (a folder that could not be read).
    """

    where: str
    reason: str
    keep: str | None = None


Item = Union[Document, Skip]

_SURROGATES = re.compile("[\ud800-\udfff]")


def _escape_surrogate(m: re.Match) -> str:
    c = ord(m.group())
    # U+DC80..U+DCFF are bytes a file name held that were not UTF-8 (Python's surrogateescape)
    return f"\\x{c - 0xDC00:02x}" if 0xDC80 <= c <= 0xDCFF else f"\\u{c:04x}"


def visible_id(text: str) -> str:
    """`text` with lone surrogates (undecodable file-name bytes, broken JSON escapes) spelled out,
    so every id is valid UTF-8 and two different broken names stay different."""
    return _SURROGATES.sub(_escape_surrogate, text) if _SURROGATES.search(text) else text


def as_datetime(value) -> datetime | None:
    """A `datetime` from a datetime, a date, or one of the date spellings `parse_date` reads."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=None) if value.tzinfo is None else \
            value.astimezone(timezone.utc).replace(tzinfo=None)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    return parse_date(value)

_DATE_MARKER = re.compile(r"^\s*date\s+(\d{4}-\d{2}(?:-\d{2})?)\b\s*")
_DATE_FORMATS = ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d", "%Y-%m", "%Y", "%d/%m/%Y", "%d-%m-%Y")


def parse_date(value) -> datetime | None:
    """A date from the common spellings (ISO, YYYY-MM, DD/MM/YYYY, epoch seconds); None if unreadable."""
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value, timezone.utc).replace(tzinfo=None)
        except (OverflowError, OSError, ValueError):
            return None
    if not isinstance(value, str):
        return None
    v = value.strip().replace("Z", "")
    try:
        d = datetime.fromisoformat(v)
        return d.replace(tzinfo=None)
    except ValueError:
        pass
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(v, fmt)
        except ValueError:
            continue
    return None


def decode_bytes(data: bytes) -> tuple[str | None, str]:
    """Text of a file's bytes and the encoding used, or (None, reason) for binary data."""
    if data.startswith(codecs.BOM_UTF8):
        return data[3:].decode("utf-8", "replace"), "utf-8-sig"
    if data.startswith(codecs.BOM_UTF16_LE) or data.startswith(codecs.BOM_UTF16_BE):
        return data.decode("utf-16", "replace"), "utf-16"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None:
        if "\x00" in text:
            return None, "binary file"
        return text, "utf-8"
    if b"\x00" in data[:8192]:
        return None, "binary file"
    # Mostly UTF-8 with a few bad bytes: keep it UTF-8 (a legacy guess would garble every accent).
    lenient = data.decode("utf-8", "replace")
    bad = lenient.count("\ufffd") - data.count("\ufffd".encode("utf-8"))
    if bad <= max(8, len(lenient) // 100):
        return lenient, "utf-8 (invalid bytes replaced)"
    from charset_normalizer import from_bytes

    best = from_bytes(data, cp_isolation=None).best()
    if best is None:
        return None, "binary file (no text encoding fits)"
    return str(best), best.encoding


def _split_title(text: str) -> tuple[str, str, datetime | None]:
    """Title (first non-empty line), body, and the date of a leading ``date YYYY-MM[-DD]`` marker."""
    date = None
    m = _DATE_MARKER.match(text)
    if m:
        date = parse_date(m.group(1))
        text = text[m.end():]
    stripped = text.lstrip()
    first, _, rest = stripped.partition("\n")
    return first.strip(), rest.strip("\n"), date


@dataclass
class FieldMap:
    """Where a record's id, title, text and date are (dotted paths reach into nested JSON)."""

    id: str = "id"
    title: str = "title"
    text: str = "text"
    date: str = "date"

    def get(self, record, path: str):
        cur = record
        for part in path.split("."):
            if isinstance(cur, dict) and part in cur:
                cur = cur[part]
            elif isinstance(cur, list) and part.isdigit() and int(part) < len(cur):
                cur = cur[int(part)]
            else:
                return None
        return cur

    def document(self, record, where: str, source: str, fallback_id: str) -> Item:
        if not isinstance(record, dict):
            return Skip(where, "not a JSON object")
        text = self.get(record, self.text)
        if text is None:
            return Skip(where, f"no '{self.text}' field")
        if not isinstance(text, str):
            if isinstance(text, (list, dict)):
                return Skip(where, f"'{self.text}' is not text")
            text = str(text)
        rid = self.get(record, self.id)
        rid = fallback_id if rid is None or rid == "" else str(rid)
        title = self.get(record, self.title)
        marker_date = None
        if title is None or title == "":
            title, text, marker_date = _split_title(text)
        elif not isinstance(title, str):
            title = str(title)
        if not text.strip() and not title.strip():
            return Skip(where, "empty record")
        raw_date = self.get(record, self.date)
        note = ""
        if raw_date is None or raw_date == "":
            date = marker_date
        else:
            date = parse_date(raw_date)
            if date is None:
                note = f"date {str(raw_date)[:40]!r} not understood; indexed without a date"
        return Document(id=rid, title=title, body=text, path=source, date=date, source=source, note=note)


class Source:
    """Something that yields documents; `name` identifies it across runs."""

    name: str = ""
    #: what one record or file may cost (`open_source` sets the configured ones)
    limits: Limits = Limits()
    #: True when documents missing from a re-run were deleted at the source
    complete_listing: bool = False

    def __iter__(self) -> Iterator[Item]:  # pragma: no cover - interface
        raise NotImplementedError


class FolderSource(Source):
    """Text files under a folder, recursively; ids are paths relative to the folder."""

    complete_listing = True

    def __init__(self, root: str | Path, include: Iterable[str] = DEFAULT_INCLUDE, exclude: Iterable[str] = ()):
        self.root = Path(root)
        if not self.root.is_dir():
            raise SourceError(f"{root}: not a folder")
        self.include = tuple(include) or DEFAULT_INCLUDE
        self.exclude = tuple(exclude)
        self.name = str(self.root.resolve())

    def _wanted(self, rel: str) -> bool:
        name = rel.rsplit("/", 1)[-1]
        if not any(fnmatch.fnmatch(name, p) or fnmatch.fnmatch(rel, p) for p in self.include):
            return False
        return not any(fnmatch.fnmatch(name, p) or fnmatch.fnmatch(rel, p) for p in self.exclude)

    def files(self) -> Iterator[tuple[str, Path]]:
        """(relative path, path) of wanted files, sorted, following no symlinked folder twice."""
        for rel, p, _problem in self.entries():
            if _problem is None:
                yield rel, p

    def entries(self) -> Iterator[tuple[str, Path, Skip | None]]:
        """Every wanted name under the folder, with a `Skip` for what cannot be read as a file:
        folders that could not be listed (their documents are kept), FIFOs, sockets, devices."""
        seen_dirs = set()
        unreadable: list[OSError] = []
        for dirpath, dirnames, filenames in os.walk(self.root, followlinks=True, onerror=unreadable.append):
            while unreadable:
                yield self._unlisted(unreadable.pop())
            try:
                st = os.stat(dirpath)
            except OSError as e:
                dirnames[:] = []
                e.filename = e.filename or dirpath
                yield self._unlisted(e)
                continue
            key = (st.st_dev, st.st_ino)
            if key in seen_dirs:  # a symlink loop or a folder reached twice
                dirnames[:] = []
                continue
            seen_dirs.add(key)
            dirnames.sort()
            for fn in sorted(filenames):
                p = Path(dirpath) / fn
                rel = p.relative_to(self.root).as_posix()
                if not self._wanted(rel):
                    continue
                try:
                    mode = os.stat(p).st_mode
                except FileNotFoundError:
                    yield rel, p, Skip(self.doc_id(rel), "vanished while indexing", keep=self.doc_id(rel))
                    continue
                except OSError as e:
                    yield rel, p, Skip(self.doc_id(rel), f"unreadable ({e.strerror or e})", keep=self.doc_id(rel))
                    continue
                if not stat.S_ISREG(mode):
                    yield rel, p, Skip(self.doc_id(rel), f"not a regular file ({_kind(mode)})")
                    continue
                yield rel, p, None
        while unreadable:
            yield self._unlisted(unreadable.pop())

    def _unlisted(self, e: OSError) -> tuple[str, Path, Skip]:
        """A folder the walk could not list: its documents stay in the index."""
        p = Path(e.filename or self.root)
        try:
            rel = p.relative_to(self.root).as_posix()
        except ValueError:
            rel = "."
        prefix = "" if rel == "." else self.doc_id(rel) + "/"
        why = "permission denied" if isinstance(e, PermissionError) else (e.strerror or str(e))
        return rel, p, Skip(prefix or str(self.root), f"folder could not be read ({why}); its documents were kept",
                            keep=prefix)

    def doc_id(self, rel: str) -> str:
        # NFC so a file name stored decomposed (macOS) is still the same document
        return visible_id(unicodedata.normalize("NFC", rel))

    def __iter__(self) -> Iterator[Item]:
        for rel, p, problem in self.entries():
            yield problem if problem is not None else self.read(rel, p)

    def read(self, rel: str, p: Path) -> Item:
        doc_id = self.doc_id(rel)
        limit = self.limits.document_chars
        try:
            data = read_regular_file(p, limit)
        except PermissionError:
            return Skip(doc_id, "permission denied", keep=doc_id)
        except FileNotFoundError:
            return Skip(doc_id, "vanished while indexing", keep=doc_id)
        except IsADirectoryError:
            return Skip(doc_id, "is a directory")
        except NotRegularFile as e:
            return Skip(doc_id, str(e))
        except OSError as e:
            return Skip(doc_id, f"unreadable ({e.strerror or e})", keep=doc_id)
        truncated = len(data) > limit
        if truncated:
            data = data[:limit]
        text, how = decode_bytes(data)
        if text is None:
            return Skip(doc_id, how)
        if not text.strip():
            return Skip(doc_id, "empty file")
        title, body, date = _split_title(text)
        return Document(id=doc_id, title=title, body=body, path=visible_id(str(p)), date=date, source=self.name,
                        truncated=truncated)


class SourceTooLarge(OSError):
    """A compressed source that expands far beyond its size (a decompression bomb)."""


class _Bounded(io.RawIOBase):
    """A binary stream that refuses to yield more than `cap` bytes."""

    def __init__(self, raw, cap: int, name: str):
        self.raw, self.cap, self.name, self.count = raw, cap, name, 0

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        n = self.raw.readinto(b)
        self.count += n or 0
        if self.count > self.cap:
            raise SourceTooLarge(f"stopped reading {os.path.basename(self.name)}: it expands past {self.cap:,} bytes "
                                 f"(VNSEARCH_MAX_GZIP_RATIO times its size; a decompression bomb?)")
        return n

    def close(self) -> None:
        self.raw.close()
        super().close()


class NotRegularFile(OSError):
    """A path that turned out not to be a regular file when opened (a FIFO, a device...)."""


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "FIFO"), (stat.S_ISSOCK, "socket"), (stat.S_ISCHR, "character device"),
                       (stat.S_ISBLK, "block device"), (stat.S_ISDIR, "folder")):
        if test(mode):
            return name
    return "special file"


def read_regular_file(p: Path, limit: int | None = None) -> bytes:
    """A file's bytes (at most `limit` + 1 of them), refusing anything but a regular file without
    blocking on it (a FIFO swapped in after the folder was listed would otherwise hang the run)
    and files that are mostly holes (a sparse file of zeros reads as gigabytes of nothing)."""
    fd = os.open(p, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotRegularFile(f"not a regular file ({_kind(st.st_mode)})")
        blocks = getattr(st, "st_blocks", None)
        if blocks is not None and st.st_size > (1 << 20) and blocks * 512 < st.st_size // 8:
            raise NotRegularFile("sparse file (mostly holes)")
        with os.fdopen(fd, "rb", closefd=False) as f:
            return f.read() if limit is None else f.read(limit + 1)
    finally:
        os.close(fd)


class _RecordSource(Source):
    def __init__(self, path: str | Path, fields: FieldMap | None = None, stream: IO[str] | None = None):
        self.path = str(path)
        self.fields = fields or FieldMap()
        self.stream = stream
        self.name = self.path if stream is None else "<stdin>"
        if stream is None and not os.path.isfile(self.path):
            raise SourceError(f"{path}: no such file")

    def _open(self) -> IO[str]:
        if self.stream is not None:
            return self.stream
        if self.path.endswith(".gz"):
            import gzip

            cap = max(16 << 20, os.path.getsize(self.path) * self.limits.gzip_ratio)
            return io.TextIOWrapper(io.BufferedReader(_Bounded(gzip.open(self.path, "rb"), cap, self.path)),
                                    encoding="utf-8", errors="replace", newline="")
        with open(self.path, "rb") as f:
            head = f.read(65536)
        text, enc = decode_bytes(head)
        if text is None or enc.startswith("utf-8"):
            enc = "utf-8-sig" if head.startswith(codecs.BOM_UTF8) else "utf-8"
        return open(self.path, encoding=enc, errors="replace", newline="")

    def _opened(self):
        """(label for skip reports, a context manager giving the text stream); stdin is never closed."""
        label = os.path.basename(self.path) if self.stream is None else "<stdin>"
        try:
            f = self._open()
        except OSError as e:
            raise SourceError(f"{self.path}: {e.strerror or e}") from None
        return label, (f if self.stream is None else nullcontext(f))


class JsonlSource(_RecordSource):
    """One JSON object a line; malformed lines are skipped with their line number."""

    def __iter__(self) -> Iterator[Item]:
        label, opened = self._opened()
        cap = self.limits.record_bytes
        with opened as f:
            lines = _lines(f, cap)
            while True:
                try:
                    n, line = next(lines)
                except StopIteration:
                    return
                except SourceTooLarge as e:
                    yield Skip(label, str(e))
                    return
                if line is None:
                    yield Skip(f"{label}:{n}", f"record larger than {cap:,} characters (VNSEARCH_MAX_RECORD_BYTES)")
                    continue
                where = f"{label}:{n}"
                try:
                    record = json.loads(line)
                except ValueError as e:
                    yield Skip(where, f"malformed JSON ({e.msg})" if hasattr(e, "msg") else "malformed JSON")
                    continue
                except RecursionError:
                    yield Skip(where, "malformed JSON (nested too deeply)")
                    continue
                yield self.fields.document(record, where, self.name, f"{label}:{n}")


def _lines(f: IO[str], cap: int, chunk: int = 1 << 20) -> Iterator[tuple[int, str | None]]:
    """(line number, line) of the non-blank lines of `f`, read in chunks; None for a line longer
    than `cap` characters, which is never held whole.  Runs of blank lines cost a count, not a
    loop (a compressed file of nothing but line breaks is a classic decompression bomb)."""
    n = 0
    partial: list[str] = []
    size = 0
    skipping = False  # inside a line longer than cap, whose text is dropped as it comes
    seen_text = False  # ... and which holds more than white space
    while True:
        text = f.read(chunk)
        if not text:
            if skipping and seen_text:
                yield n + 1, None
            elif partial and not "".join(partial).isspace():
                yield n + 1, "".join(partial)
            return
        if not skipping and not partial and text.isspace() and text.endswith("\n"):
            n += text.count("\n")
            continue
        parts = text.split("\n")
        last = parts.pop()
        for p in parts:
            n += 1
            if skipping:
                if seen_text or (p and not p.isspace()):
                    yield n, None
                skipping = seen_text = False
                continue
            if partial:
                p = "".join(partial) + p
                partial, size = [], 0
            if p and not p.isspace():
                yield n, (p if len(p) <= cap else None)
        if last:
            if skipping:
                seen_text = seen_text or not last.isspace()
            else:
                partial.append(last)
                size += len(last)
                if size > cap:
                    seen_text = any(not x.isspace() for x in partial)
                    skipping, partial, size = True, [], 0


class CsvSource(_RecordSource):
    """A CSV file with a header row; quoted newlines are part of their field."""

    def __iter__(self) -> Iterator[Item]:
        label, opened = self._opened()
        csv.field_size_limit(min(sys.maxsize, 2**31 - 1, self.limits.record_bytes))
        with opened as f:
            reader = csv.DictReader(f)
            try:
                for record in reader:
                    where = f"{label}:{reader.line_num}"
                    if None in record:  # more cells than header columns
                        record.pop(None)
                    yield self.fields.document(record, where, self.name, where)
            except csv.Error as e:
                yield Skip(f"{label}:{reader.line_num}", f"malformed CSV ({e}); the rest of the file was not read")


def open_source(spec: str, fields: FieldMap | None = None, include=DEFAULT_INCLUDE, exclude=(),
                stdin: IO[str] | None = None, limits: Limits | None = None) -> Source:
    """A source from a command-line argument: a folder, a .jsonl/.json(.gz), a .csv, or ``-`` (JSONL on stdin)."""
    src = _open_source(spec, fields, include, exclude, stdin)
    src.limits = limits or Limits.from_env()
    return src


def _open_source(spec: str, fields: FieldMap | None, include, exclude, stdin) -> Source:
    if spec == "-":
        return JsonlSource("<stdin>", fields, stream=stdin or sys.stdin)
    p = Path(spec)
    if p.is_dir():
        return FolderSource(p, include, exclude)
    if not p.exists():
        raise SourceError(f"{spec}: no such file or folder")
    low = p.name.lower()
    if low.endswith(".csv"):
        return CsvSource(p, fields)
    if low.endswith((".jsonl", ".jsonl.gz", ".ndjson", ".json")):
        return JsonlSource(p, fields)
    raise SourceError(f"{spec}: unknown kind of source (want a folder, .jsonl, .csv or -)")

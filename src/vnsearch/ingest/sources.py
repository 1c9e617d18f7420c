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
from vnsearch.ingest.formats import is_media, kind_of, sniff
from vnsearch.limits import Limits
from vnsearch.text.fields import pack_fields

__all__ = [
    "Document", "FileItem", "Skip", "FieldMap", "Source", "FolderSource", "FileSource", "JsonlSource", "CsvSource",
    "decode_bytes", "parse_date", "open_source", "SourceError", "DocumentError", "visible_id", "PART",
]

#: every file; those of no supported format are skipped and counted
DEFAULT_INCLUDE = ("*",)


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
    #: metadata searchable as ``name:value`` (author, category, tags...): names as `clean_fields` makes them
    fields: dict = field(default_factory=dict)
    #: the format it was read from: "pdf", "html", "txt", "jsonl"...
    kind: str = ""

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
        if not isinstance(self.fields, dict):
            raise DocumentError(f"document {self.id!r}: fields must be a mapping of names to values")
        if self.fields:
            from vnsearch.ingest.formats.metadata import clean_fields

            self.fields = clean_fields(self.fields)

    def content_hash(self) -> str:
        h = hashlib.blake2b(digest_size=16)
        extra = (pack_fields(self.fields), self.kind) if self.fields or self.kind else ()
        for part in (self.title, self.body, self.path, self.date.isoformat() if self.date else "", *extra):
            h.update(part.encode("utf-8", "surrogatepass"))
            h.update(b"\x00")
        return h.hexdigest()


#: what separates a file's id from a document inside it (an mbox message, an attachment): never in a path
PART = "//"
#: bumped when a reader changes what it extracts, so re-runs read such files again
READERS_VERSION = "1"


@dataclass
class FileItem:
    """A file not read yet: its bytes, hashed to tell whether it changed, and turned into documents
    (`documents`) where the work is done (the indexing workers)."""

    id: str
    path: str
    source: str
    kind: str
    data: bytes
    mtime: float | None = None  # given only when file times date undated documents
    truncated: bool = False

    def content_hash(self) -> str:
        h = hashlib.blake2b(digest_size=16)
        for part in (READERS_VERSION, self.kind, self.path, repr(self.mtime)):
            h.update(part.encode("utf-8", "surrogatepass"))
            h.update(b"\x00")
        h.update(self.data)
        return h.hexdigest()

    def documents(self, limits: Limits) -> list[Document] | Skip:
        """The documents the file holds, or why it holds none."""
        from vnsearch.ingest.formats import Unreadable, extract

        try:
            found = extract(self.kind, self.data, os.path.basename(self.path), limits)
        except Unreadable as e:
            return Skip(self.id, str(e))
        undated = datetime.fromtimestamp(self.mtime) if self.mtime is not None else None
        out = []
        for x in found:
            out.append(Document(id=f"{self.id}{PART}{x.part}" if x.part else self.id, title=x.title, body=x.body,
                                path=self.path, date=x.date or undated, source=self.source, note=x.note,
                                truncated=self.truncated, fields=x.fields, kind=x.kind or self.kind))
        return out


@dataclass
class Skip:
    """Something a source could not turn into a document, and why.

    `keep` names what must not be removed because of it: a document id (a file that
    could not be read) or an id prefix ending in "/" (a folder that could not be read).
    """

    where: str
    reason: str
    keep: str | None = None


Item = Union[Document, Skip, FileItem]

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

    def extra(self, record: dict) -> dict:
        """The record's other top-level fields (category, author...): kept as searchable metadata."""
        used = {self.id.split(".")[0], self.title.split(".")[0], self.text.split(".")[0], self.date.split(".")[0]}
        return {k: v for k, v in record.items() if k not in used}

    def document(self, record, where: str, source: str, fallback_id: str, kind: str = "") -> Item:
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
        return Document(id=rid, title=title, body=text, path=source, date=date, source=source, note=note,
                        fields=self.extra(record), kind=kind)


class Source:
    """Something that yields documents; `name` identifies it across runs."""

    name: str = ""
    #: what one record or file may cost (`open_source` sets the configured ones)
    limits: Limits = Limits()
    #: True when documents missing from a re-run were deleted at the source
    complete_listing: bool = False

    def __iter__(self) -> Iterator[Item]:  # pragma: no cover - interface
        raise NotImplementedError

    def options(self) -> dict:
        """How the source was opened (JSON values): what `reopen` needs to read it the same way again."""
        return {}


class FolderSource(Source):
    """Files under a folder, recursively, of every supported format; a document's id is its absolute
    path (so two folders' ``a.txt`` stay two documents).  Hidden files and folders are left out."""

    complete_listing = True

    def __init__(self, root: str | Path, include: Iterable[str] = DEFAULT_INCLUDE, exclude: Iterable[str] = (),
                 mtime_dates: bool = False):
        self.root = Path(root)
        if not self.root.is_dir():
            raise SourceError(f"{root}: not a folder")
        self.include = tuple(include) or DEFAULT_INCLUDE
        self.exclude = tuple(exclude)
        self.mtime_dates = mtime_dates
        self.name = visible_id(unicodedata.normalize("NFC", str(self.root.resolve())))

    def options(self) -> dict:
        return {"include": list(self.include), "exclude": list(self.exclude), "mtime_dates": self.mtime_dates}

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

    def entries(self, below: Path | None = None) -> Iterator[tuple[str, Path, Skip | None]]:
        """Every wanted name under the folder (or its subfolder `below`), with a `Skip` for what cannot
        be read as a file: folders that could not be listed (their documents are kept), FIFOs,
        sockets, devices."""
        seen_dirs = set()
        unreadable: list[OSError] = []
        for dirpath, dirnames, filenames in os.walk(below or self.root, followlinks=True, onerror=unreadable.append):
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
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for fn in sorted(filenames):
                if ignored_name(fn):
                    continue
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
        prefix = self.doc_id("" if rel == "." else rel).rstrip("/") + "/"
        why = "permission denied" if isinstance(e, PermissionError) else (e.strerror or str(e))
        return rel, p, Skip(prefix, f"folder could not be read ({why}); its documents were kept", keep=prefix)

    def doc_id(self, rel: str) -> str:
        # NFC so a file name stored decomposed (macOS) is still the same document
        rel = visible_id(unicodedata.normalize("NFC", rel))
        return f"{self.name.rstrip('/')}/{rel}" if rel else self.name

    def __iter__(self) -> Iterator[Item]:
        for rel, p, problem in self.entries():
            yield problem if problem is not None else self.read(rel, p)

    def read(self, rel: str, p: Path) -> Item:
        return read_file(p, self.doc_id(rel), self.name, self.limits, self.mtime_dates)

    def changes(self, paths: Iterable[str | Path]) -> tuple["Source", list[str]]:
        """What changed paths under the folder mean: a source of the files to read again (a folder
        moved in is read whole) and the ids of documents now gone (an id, or a folder's ids ending "/")."""
        items: list[Item] = []
        gone: list[str] = []
        done: set[str] = set()  # a folder moved in, and a file in it, are read once
        root = self.root.resolve()
        for raw in sorted({str(p) for p in paths}):
            p = Path(raw)
            try:
                rel = p.resolve().relative_to(root).as_posix() if p.exists() else \
                    Path(os.path.abspath(p)).relative_to(root).as_posix()
            except ValueError:
                continue
            if rel == "." or any(part.startswith(".") for part in rel.split("/")) or ignored_name(p.name):
                continue
            if p.is_dir():
                for r, q, problem in self.entries(p):
                    if r not in done:
                        items.append(problem or self.read(r, q))
                        done.add(r)
            elif p.is_file():
                if self._wanted(rel) and rel not in done:
                    items.append(self.read(rel, p))
                    done.add(rel)
            else:
                gone += [self.doc_id(rel), self.doc_id(rel) + "/"]
        return _Listed(self.name, items, self.limits), gone


def ignored_name(name: str) -> bool:
    """Hidden files, editors' backups and lock files, downloads in progress: never documents."""
    return name.startswith((".", "~$")) or name.endswith(("~", ".swp", ".tmp", ".part", ".crdownload"))


class _Listed(Source):
    """Items already read, under the name of the source they belong to (`FolderSource.changes`)."""

    def __init__(self, name: str, items: list, limits: Limits):
        self.name, self.items, self.limits = name, items, limits

    def __iter__(self) -> Iterator[Item]:
        return iter(self.items)


class FileSource(Source):
    """One file of a supported format named on the command line (``vnsearch index report.pdf``)."""

    def __init__(self, path: str | Path, mtime_dates: bool = False):
        self.path = Path(path)
        if not self.path.is_file():
            raise SourceError(f"{path}: no such file")
        self.mtime_dates = mtime_dates
        self.name = visible_id(unicodedata.normalize("NFC", str(self.path.resolve())))

    def options(self) -> dict:
        return {"mtime_dates": self.mtime_dates}

    def changes(self, paths) -> tuple[Source, list[str]]:
        if self.path.is_file():
            return self, []
        return _Listed(self.name, [], self.limits), [self.name]

    def __iter__(self) -> Iterator[Item]:
        yield read_file(self.path, self.name, self.name, self.limits, self.mtime_dates)


_TEXT_KINDS = ("txt", "md")


def read_file(p: Path, doc_id: str, source: str, limits: Limits, mtime_dates: bool = False) -> Item:
    """A file's bytes and format as a `FileItem` (its text is extracted later, in a worker), or why not.

    Text files longer than the file limit are read in part (and reported truncated); other
    formats past it are skipped, unread."""
    name = p.name
    if is_media(name):
        return Skip(doc_id, f"not a supported format ({os.path.splitext(name)[1].lower()})")
    limit = limits.file_bytes
    try:
        fd = _open_regular(p)
        try:
            st = os.fstat(fd)
            with os.fdopen(fd, "rb", closefd=False) as f:
                head = f.read(8192)
                kind = sniff(name, head)
                if kind is None and head.startswith(b"\xd0\xcf\x11\xe0") and kind_of(name) == "docx":
                    return Skip(doc_id, "encrypted Word document (or an old binary .doc): not read")
                if kind is None:
                    ext = os.path.splitext(name)[1].lower()
                    what = "binary file" if decode_bytes(head)[0] is None else "not a supported format"
                    return Skip(doc_id, f"{what} ({ext or 'no extension'}: not a format vnsearch reads)")
                if st.st_size > limit and kind not in _TEXT_KINDS:
                    return Skip(doc_id, f"larger than {limit:,} bytes (VNSEARCH_MAX_FILE_BYTES)")
                data = head + f.read(limit + 1 - len(head))
        finally:
            os.close(fd)
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
    if not data.strip():
        return Skip(doc_id, "empty file")
    path = visible_id(unicodedata.normalize("NFC", str(p.resolve())))
    return FileItem(id=doc_id, path=path, source=source, kind=kind, data=data,
                    mtime=st.st_mtime if mtime_dates else None, truncated=truncated)


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


def _open_regular(p: Path) -> int:
    """A file descriptor of `p`, refusing anything but a regular file without blocking on it (a
    FIFO swapped in after the folder was listed would otherwise hang the run) and files that are
    mostly holes (a sparse file of zeros reads as gigabytes of nothing)."""
    fd = os.open(p, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotRegularFile(f"not a regular file ({_kind(st.st_mode)})")
        blocks = getattr(st, "st_blocks", None)
        if blocks is not None and st.st_size > (1 << 20) and blocks * 512 < st.st_size // 8:
            raise NotRegularFile("sparse file (mostly holes)")
    except BaseException:
        os.close(fd)
        raise
    return fd


class _RecordSource(Source):
    def __init__(self, path: str | Path, fields: FieldMap | None = None, stream: IO[str] | None = None):
        self.path = str(path)
        self.fields = fields or FieldMap()
        self.stream = stream
        self.name = os.path.abspath(self.path) if stream is None else "<stdin>"
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

    def options(self) -> dict:
        return {"fields": dict(vars(self.fields))}

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
                yield self.fields.document(record, where, self.name, f"{label}:{n}", "jsonl")


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
                    yield self.fields.document(record, where, self.name, where, "csv")
            except csv.Error as e:
                yield Skip(f"{label}:{reader.line_num}", f"malformed CSV ({e}); the rest of the file was not read")


def open_source(spec: str, fields: FieldMap | None = None, include=DEFAULT_INCLUDE, exclude=(),
                stdin: IO[str] | None = None, limits: Limits | None = None, mtime_dates: bool = False) -> Source:
    """A source from a command-line argument: a folder, a .jsonl/.json(.gz), a .csv, ``-`` (JSONL
    on stdin), or one document file of a supported format."""
    src = _open_source(spec, fields, include, exclude, stdin, mtime_dates)
    src.limits = limits or Limits.from_env()
    return src


def reopen(name: str, kind: str, options: dict, limits: Limits | None = None) -> Source:
    """A source the index recorded (its name, kind and `Source.options`), opened as it was the last time."""
    if name == "<stdin>":
        raise SourceError("standard input cannot be read again")
    fields = FieldMap(**options["fields"]) if isinstance(options.get("fields"), dict) else None
    src = open_source(name, fields, tuple(options.get("include") or DEFAULT_INCLUDE), tuple(options.get("exclude") or ()),
                      limits=limits, mtime_dates=bool(options.get("mtime_dates")))
    if kind and type(src).__name__.replace("Source", "").lower() != kind:
        raise SourceError(f"{name}: was a {kind} source, is now a {type(src).__name__.replace('Source', '').lower()}")
    return src


def _open_source(spec: str, fields: FieldMap | None, include, exclude, stdin, mtime_dates: bool) -> Source:
    if spec == "-":
        return JsonlSource("<stdin>", fields, stream=stdin or sys.stdin)
    p = Path(spec)
    if p.is_dir():
        return FolderSource(p, include, exclude, mtime_dates)
    if not p.exists():
        raise SourceError(f"{spec}: no such file or folder")
    low = p.name.lower()
    if low.endswith(".csv"):
        return CsvSource(p, fields)
    if low.endswith((".jsonl", ".jsonl.gz", ".ndjson", ".json")):
        return JsonlSource(p, fields)
    if p.is_file():
        return FileSource(p, mtime_dates)
    raise SourceError(f"{spec}: not a file or folder")

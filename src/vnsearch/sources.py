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
import sys
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Iterable, Iterator, Union

__all__ = [
    "Document", "Skip", "FieldMap", "Source", "FolderSource", "JsonlSource", "CsvSource",
    "decode_bytes", "parse_date", "open_source", "SourceError",
]

DEFAULT_INCLUDE = ("*.txt", "*.md")


class SourceError(Exception):
    """A source that cannot be read at all (missing path, unreadable file)."""


@dataclass
class Document:
    id: str
    title: str
    body: str
    path: str = ""
    date: datetime | None = None
    source: str = ""

    def content_hash(self) -> str:
        h = hashlib.blake2b(digest_size=16)
        for part in (self.title, self.body, self.path, self.date.isoformat() if self.date else ""):
            h.update(part.encode("utf-8", "surrogatepass"))
            h.update(b"\x00")
        return h.hexdigest()


@dataclass
class Skip:
    """Something a source could not turn into a document, and why."""

    where: str
    reason: str


Item = Union[Document, Skip]

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
        raw_date = self.get(record, self.date)
        date = parse_date(raw_date) if raw_date is not None else marker_date
        return Document(id=rid, title=title, body=text, path=source, date=date, source=source)


class Source:
    """Something that yields documents; `name` identifies it across runs."""

    name: str = ""
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
        seen_dirs = set()
        for dirpath, dirnames, filenames in os.walk(self.root, followlinks=True):
            try:
                st = os.stat(dirpath)
            except OSError:
                dirnames[:] = []
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
                if self._wanted(rel):
                    yield rel, p

    def __iter__(self) -> Iterator[Item]:
        for rel, p in self.files():
            yield self.read(rel, p)

    def read(self, rel: str, p: Path) -> Item:
        try:
            data = p.read_bytes()
        except PermissionError:
            return Skip(rel, "permission denied")
        except FileNotFoundError:
            return Skip(rel, "vanished while indexing")
        except IsADirectoryError:
            return Skip(rel, "is a directory")
        except OSError as e:
            return Skip(rel, f"unreadable ({e.strerror or e})")
        text, how = decode_bytes(data)
        if text is None:
            return Skip(rel, how)
        if not text.strip():
            return Skip(rel, "empty file")
        title, body, date = _split_title(text)
        # ids are NFC so a file name stored decomposed (macOS) is still the same document
        return Document(id=unicodedata.normalize("NFC", rel), title=title, body=body, path=str(p), date=date,
                        source=self.name)


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

            return io.TextIOWrapper(gzip.open(self.path, "rb"), encoding="utf-8", errors="replace", newline="")
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
        with opened as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                where = f"{label}:{n}"
                try:
                    record = json.loads(line)
                except ValueError as e:
                    yield Skip(where, f"malformed JSON ({e.msg})" if hasattr(e, "msg") else "malformed JSON")
                    continue
                yield self.fields.document(record, where, self.name, f"{label}:{n}")


class CsvSource(_RecordSource):
    """A CSV file with a header row; quoted newlines are part of their field."""

    def __iter__(self) -> Iterator[Item]:
        label, opened = self._opened()
        csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
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
                stdin: IO[str] | None = None) -> Source:
    """A source from a command-line argument: a folder, a .jsonl/.json(.gz), a .csv, or ``-`` (JSONL on stdin)."""
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

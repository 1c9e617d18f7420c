"""Reading documents out of files: which format a file is, and its text, title, date and fields.

A format is chosen by content as well as by name (`sniff`): a PDF saved as
``.txt`` is read as a PDF, an extensionless UTF-8 file as text.  Each reader
lives in its own module and imports its library only when a file of its kind
turns up, so searching never pays for them.  Readers raise `Unreadable` with
the reason a user should see ("no text layer", "encrypted"); `extract` turns
anything else a damaged file makes a library raise into the same, and bounds
the time one file may take.
"""

from __future__ import annotations

import importlib
import os
import re
import signal
import threading
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from io import BytesIO

__all__ = ["Extracted", "Unreadable", "KINDS", "kind_of", "sniff", "extract", "READERS"]


@dataclass
class Extracted:
    """One document read out of a file (a file may hold several: an mbox, an e-mail's attachments)."""

    title: str
    body: str
    date: datetime | None = None
    #: metadata worth searching (author, category, tags, sender...), each a string
    fields: dict[str, str] = field(default_factory=dict)
    #: "" for the file itself; otherwise what tells this document apart inside the file
    part: str = ""
    #: the format it was read as ("pdf", "html", ...)
    kind: str = ""
    note: str = ""


class Unreadable(Exception):
    """A file that holds no document vnsearch can read; the message is the reason shown in the summary."""


#: format -> module of `vnsearch.ingest.formats` holding its `read(data, name, limits)`
READERS = {
    "txt": "plain", "md": "plain", "html": "web", "docx": "office", "odt": "office", "pdf": "pdf",
    "epub": "epub", "eml": "mail", "mbox": "mail", "rtf": "rtf",
}
KINDS = tuple(READERS)

_EXTENSIONS = {
    ".txt": "txt", ".text": "txt", ".md": "md", ".markdown": "md", ".html": "html", ".htm": "html",
    ".xhtml": "html", ".docx": "docx", ".odt": "odt", ".pdf": "pdf", ".epub": "epub", ".eml": "eml",
    ".mbox": "mbox", ".rtf": "rtf",
}
#: names that are surely not documents: skipped without opening them
_MEDIA = frozenset(
    ".jpg .jpeg .png .gif .bmp .tif .tiff .webp .heic .svg .ico .mp3 .m4a .wav .flac .ogg .mp4 .mov .avi .mkv "
    ".webm .zip .gz .tgz .bz2 .xz .7z .rar .tar .exe .dll .so .dylib .bin .iso .dmg .class .jar .pyc .o .a "
    ".woff .woff2 .ttf .otf .sqlite .db .doc .xls .xlsx .ppt .pptx .odp .ods .pages .key .numbers".split())
#: formats that are text on disk: a wrong guess of these is harmless, so the name decides
_TEXT_KINDS = frozenset({"txt", "md", "html", "eml", "mbox", "rtf"})

_MAIL_HEADER = re.compile(rb"^(From|To|Subject|Date|Received|Return-Path|Message-ID|MIME-Version|Delivered-To|"
                          rb"Reply-To|Content-Type|X-[A-Za-z0-9-]+):[ \t]", re.I | re.M)
_HTML_START = re.compile(rb"^\s*(<\?xml[^>]*>\s*)?(<!--.*?-->\s*)*<(!doctype\s+html|html|head|body)\b", re.I | re.S)


def kind_of(name: str) -> str | None:
    """The format a file name says (case-insensitive), or None."""
    return _EXTENSIONS.get(os.path.splitext(name)[1].lower())


def is_media(name: str) -> bool:
    return os.path.splitext(name)[1].lower() in _MEDIA


def sniff(name: str, head: bytes) -> str | None:
    """The format of a file from its name and its first bytes; None when vnsearch cannot read it.

    The content decides for binary formats (a PDF named ``.txt`` is a PDF);
    for text formats the name decides, and a name that says nothing (no
    extension, ``.log``) is read as HTML, e-mail or text by the content.
    """
    by_name = kind_of(name)
    body = head.lstrip(b"\xef\xbb\xbf")
    if head.startswith(b"%PDF-") or b"%PDF-" in head[:1024] and by_name == "pdf":
        return "pdf"
    if head.startswith(b"PK\x03\x04"):
        return _zip_kind(head, by_name)
    if body.lstrip().startswith(b"{\\rtf"):
        return "rtf"
    if by_name in _TEXT_KINDS:
        return by_name
    if by_name is not None:  # a .docx, .pdf or .epub that is not one: read it as text if it is text
        return "txt" if _looks_text(head) else None
    if _HTML_START.match(body[:4096]):
        return "html"
    if body.startswith(b"From ") and len(_MAIL_HEADER.findall(body[:8192])) >= 2:
        return "mbox"
    if _MAIL_HEADER.match(body) and len(set(m.lower() for m in _MAIL_HEADER.findall(body[:8192]))) >= 3:
        return "eml"
    return "txt" if _looks_text(head) else None


def _looks_text(head: bytes) -> bool:
    from vnsearch.ingest.sources import decode_bytes

    return decode_bytes(head)[0] is not None


def _zip_kind(head: bytes, by_name: str | None) -> str | None:
    """docx, odt or epub from a zip's first entry (the formats name themselves there), else the name."""
    # ODF and EPUB store an uncompressed "mimetype" entry first; a docx starts with [Content_Types].xml
    if head[30:38] == b"mimetype":
        rest = head[38:200]
        if b"application/epub+zip" in rest:
            return "epub"
        if b"application/vnd.oasis.opendocument.text" in rest:
            return "odt"
        return None
    if by_name in ("docx", "odt", "epub"):
        return by_name
    if b"[Content_Types].xml" in head[:200] or b"word/" in head[:200]:
        return "docx"
    return None


class _TimeUp(BaseException):
    """Raised by the alarm inside a reader that ran past its time (a BaseException, so no reader swallows it)."""


@contextmanager
def _time_limit(seconds: float):
    """Interrupt the block after `seconds` (POSIX, main thread: where workers run readers); elsewhere unbounded."""
    global _timing
    usable = seconds > 0 and hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not usable or _timing:  # an attachment read inside its message: the message's time covers it
        yield
        return

    def ring(_sig, _frame):
        raise _TimeUp()

    old = signal.signal(signal.SIGALRM, ring)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    _timing = True
    try:
        yield
    finally:
        _timing = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


_timing = False


def extract(kind: str, data: bytes, name: str, limits) -> list[Extracted]:
    """The documents `data` (a file of format `kind`) holds; `Unreadable` with the reason otherwise."""
    module = READERS.get(kind)
    if module is None:
        raise Unreadable(f"not a supported format ({kind})")
    try:
        reader = importlib.import_module(f"{__name__}.{module}")
    except ImportError as e:  # pragma: no cover - a broken install
        raise Unreadable(f"the reader of {kind} files is not installed ({e.name})") from None
    try:
        with _time_limit(limits.extract_seconds):
            docs = reader.read(kind, data, name, limits)
    except _TimeUp:
        raise Unreadable(f"took longer than {limits.extract_seconds} s to read (VNSEARCH_MAX_EXTRACT_SECONDS)") from None
    except Unreadable:
        raise
    except (MemoryError, RecursionError) as e:
        raise Unreadable(f"too large or too deeply nested to read ({type(e).__name__})") from None
    except Exception as e:  # a damaged file makes libraries raise anything: its reason, not a traceback
        raise Unreadable(f"damaged {kind} file ({type(e).__name__}: {str(e)[:120]})") from None
    for d in docs:
        d.kind = d.kind or kind
        d.title = " ".join(d.title.split())
        first, sep, rest = d.body.lstrip().partition("\n")
        if d.title and " ".join(first.split()).lower() == d.title.lower():  # the heading repeats the title
            d.body = rest
    return docs


def open_zip(data: bytes, limits, kind: str) -> zipfile.ZipFile:
    """A zip (docx, odt, epub) whose declared sizes are checked first: a zip bomb is refused before
    anything is inflated, and a member can never inflate past its declared size."""
    try:
        z = zipfile.ZipFile(BytesIO(data))
    except zipfile.BadZipFile as e:
        raise Unreadable(f"damaged {kind} file ({e})") from None
    if any(i.flag_bits & 0x1 for i in z.infolist()):
        raise Unreadable(f"encrypted {kind} file")
    total = sum(i.file_size for i in z.infolist())
    cap = max(16 << 20, len(data) * limits.gzip_ratio)
    if total > cap:
        raise Unreadable(f"expands to {total:,} bytes, past {cap:,} (VNSEARCH_MAX_GZIP_RATIO times its size; "
                         f"a zip bomb?)")
    return z

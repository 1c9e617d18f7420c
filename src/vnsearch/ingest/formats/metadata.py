"""Metadata shared by the readers: field names users can search, dates found in text.

A field becomes searchable as ``name:value``, so its name is reduced to what the
query syntax reads as a field (lower-case letters, digits, underscores), and
names vnsearch already uses (``title``, ``path``, ``type``...) are kept out.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime

#: names the index already gives a meaning; a document's own field of that name is not kept
RESERVED = frozenset({"id", "path", "source", "title", "body", "date", "type", "in", "hash", "indexed_at", "text",
                      "words", "syllables", "folded", "pairs", "title_folded", "meta", "fields"})
#: keys front matter and document properties use for the date of a document, in order of preference
DATE_KEYS = ("date", "published", "pubdate", "publishdate", "created", "creation_date", "datepublished")
MAX_FIELDS = 32
MAX_VALUE_CHARS = 2_000


def field_name(key) -> str | None:
    """`key` as a searchable field name (``Tác giả`` -> ``tac_gia``), or None when nothing is left of it."""
    if not isinstance(key, str):
        key = str(key)
    k = unicodedata.normalize("NFKD", key.replace("đ", "d").replace("Đ", "D"))
    k = "".join(c for c in k if not unicodedata.combining(c)).lower()
    k = re.sub(r"[^a-z0-9]+", "_", k).strip("_")
    if not k or k[0].isdigit() or k in RESERVED:
        return None
    return k[:40]


def value_text(value) -> str | None:
    """A metadata value as one string: lists joined with commas, nested tables dropped."""
    if value is None or isinstance(value, (dict, bytes)):
        return None
    if isinstance(value, (list, tuple, set)):
        parts = [value_text(v) for v in value if not isinstance(v, (list, tuple, set, dict))]
        text = ", ".join(p for p in parts if p)
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, datetime):
        text = value.isoformat()
    else:
        text = str(value)
    text = " ".join(text.split())
    return text[:MAX_VALUE_CHARS] or None


def clean_fields(raw: dict) -> dict[str, str]:
    """The searchable subset of a mapping of metadata (names made searchable, empty values dropped)."""
    out: dict[str, str] = {}
    for key, value in raw.items():
        name = field_name(key)
        text = value_text(value) if name else None
        if name and text and name not in out:
            out[name] = text
            if len(out) >= MAX_FIELDS:
                break
    return out


def first_date(raw: dict) -> datetime | None:
    """The document date among metadata, by the usual key names."""
    from vnsearch.ingest.sources import as_datetime

    lowered = {str(k).lower().replace("-", "").replace("_", ""): v for k, v in raw.items()}
    for key in DATE_KEYS:
        v = lowered.get(key.replace("_", ""))
        if v not in (None, ""):
            d = as_datetime(v) if not isinstance(v, str) else parse_loose_date(v)
            if d is not None:
                return d
    return None


_NUMERIC = re.compile(r"(?<![\d/.-])(\d{1,2})\s*[/.-]\s*(\d{1,2})\s*[/.-]\s*((?:19|20)\d\d)(?![\d/.-])")
_ISO = re.compile(r"(?<![\d/.-])((?:19|20)\d\d)-(\d{2})-(\d{2})(?![\d/-])")
_WORDS = re.compile(r"ngày\s+(\d{1,2})\s+tháng\s+(\d{1,2})\s+năm\s+((?:19|20)\d\d)", re.I)


def parse_loose_date(text: str) -> datetime | None:
    """A date written as ISO, ``D/M/YYYY`` (Vietnamese order: day first) or ``ngày D tháng M năm YYYY``."""
    from vnsearch.ingest.sources import parse_date

    d = parse_date(text)
    if d is not None:
        return d
    return date_in(text)


def date_in(text: str) -> datetime | None:
    """The first full date (day, month and year) written in `text`, or None."""
    found = []
    for pattern, order in ((_WORDS, "dmy"), (_NUMERIC, "dmy"), (_ISO, "ymd")):
        m = pattern.search(text)
        if m:
            parts = dict(zip(order, (int(g) for g in m.groups())))
            try:
                found.append((m.start(), datetime(parts["y"], parts["m"], parts["d"])))
            except ValueError:
                continue
    if not found:
        return None
    d = min(found)[1]
    return d if d.year <= datetime.now().year + 1 else None


def date_in_lead(body: str, lines: int = 3, chars: int = 400) -> datetime | None:
    """A news article's date, when one of its first lines states it ("Thứ Hai, 06/02/2023 10:30")."""
    lead = []
    for line in body.lstrip().split("\n"):
        if line.strip():
            lead.append(line[:chars])
            if len(lead) >= lines:
                break
    return date_in("\n".join(lead)[:chars]) if lead else None

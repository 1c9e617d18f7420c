"""Plain text and Markdown, with YAML (``---``) or TOML (``+++``) front matter."""

from __future__ import annotations

import re

from vnsearch.ingest.formats import Extracted, Unreadable
from vnsearch.ingest.formats.metadata import clean_fields, date_in_lead, first_date, value_text

_RULES = re.compile(r"\A(?:[ \t]*(?:-{3,}|\*{3,}|_{3,})[ \t]*\r?\n|[ \t]*\r?\n)+")
_FRONT = re.compile(r"\A(---|\+\+\+)[ \t]*\r?\n(.*?)\r?\n(---|\.\.\.|\+\+\+)[ \t]*(\r?\n|\Z)", re.S)


def read(kind: str, data: bytes, name: str, limits) -> list[Extracted]:
    from vnsearch.ingest.sources import decode_bytes

    text, how = decode_bytes(data)
    if text is None:
        raise Unreadable(how)
    return [from_text(text, markdown=kind == "md")]


def from_text(text: str, markdown: bool = False) -> Extracted:
    """Title (front matter's, else the first line), body, date and fields of a text file."""
    from vnsearch.ingest.sources import _split_title

    if not text.strip():
        raise Unreadable("empty file")
    meta, text = front_matter(text)
    if markdown:  # rules (---, ***) are no title
        text = _RULES.sub("", text)
    title, body, date = _split_title(text)
    if markdown:
        title = title.lstrip("#").strip()
    given = value_text(meta.get("title")) if meta else None
    if given:
        title, body = given, (f"{title}\n{body}" if title else body)
    date = first_date(meta) or date if meta else date
    if date is None:
        date = date_in_lead(body)
    if not title.strip() and not body.strip():
        raise Unreadable("empty file")
    return Extracted(title=title, body=body, date=date, fields=clean_fields(meta))


def front_matter(text: str) -> tuple[dict, str]:
    """(the front matter's mapping, the text after it): ({}, text) when there is none or the block
    holds no mapping (text between two rules), ({}, the text after it) when it does not parse
    (broken front matter: a title of ``---`` helps nobody)."""
    m = _FRONT.match(text.lstrip("\ufeff"))
    if not m or (m.group(1) == "+++") != (m.group(3) == "+++"):
        return {}, text
    raw = m.group(2)
    if len(raw) > 65_536:  # front matter is a few lines; a huge block is text (and YAML aliases can explode)
        return {}, text
    try:
        if m.group(1) == "+++":
            try:
                import tomllib
            except ImportError:  # Python 3.10
                import tomli as tomllib
            meta = tomllib.loads(raw)
        else:
            import yaml

            meta = yaml.safe_load(raw)
    except Exception:  # a block that does not parse: its fields are lost, never the text after it
        return {}, text[m.end():]
    if not isinstance(meta, dict):  # a Markdown rule around text, not front matter: the text as it is
        return {}, text
    return meta, text[m.end():]

"""Rich Text Format: striprtf (BSD-3), which decodes ``\\uN`` escapes and the document's code page."""

from __future__ import annotations

import re

from vnsearch.ingest.formats import Extracted, Unreadable
from vnsearch.ingest.formats.metadata import date_in_lead

_CODEPAGE = re.compile(rb"\\ansicpg(\d+)")


def read(kind: str, data: bytes, name: str, limits) -> list[Extracted]:
    from striprtf.striprtf import rtf_to_text

    m = _CODEPAGE.search(data[:4096])
    encoding = f"cp{int(m.group(1))}" if m else "cp1252"
    try:
        "".encode(encoding)
    except LookupError:
        encoding = "cp1252"
    raw = data.decode("latin-1")  # RTF is 7-bit; \\'xx bytes are decoded by striprtf with `encoding`
    text = rtf_to_text(raw, encoding=encoding, errors="replace")
    lines = [line.strip() for line in text.split("\n")]
    text = "\n".join(line for line in lines if line)
    if not text:
        raise Unreadable("no text in the document")
    title, _, body = text.partition("\n")
    return [Extracted(title=title, body=body, date=date_in_lead(body))]

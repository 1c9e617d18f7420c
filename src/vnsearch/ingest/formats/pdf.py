"""PDF: the text layer of every page, title and dates from the document information.

pypdfium2 (Apache-2.0 / BSD-3) wraps PDFium, Chrome's PDF library: binary wheels,
no system packages, several times faster than the pure-Python readers, and it
keeps Vietnamese diacritics as the fonts map them (NFC is restored later, as for
every document).
"""

from __future__ import annotations

import re

from vnsearch.ingest.formats import Extracted, Unreadable
from vnsearch.ingest.formats.metadata import clean_fields, date_in_lead

_PDF_DATE = re.compile(r"D?:?(\d{4})(\d{2})?(\d{2})?")


def read(kind: str, data: bytes, name: str, limits) -> list[Extracted]:
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as e:
        reason = str(e).lower()
        if "password" in reason:
            raise Unreadable("encrypted PDF (needs a password)") from None
        raise Unreadable(f"damaged PDF ({e})") from None
    try:
        pages = []
        chars = 0
        for i in range(len(pdf)):
            page = pdf[i]
            try:
                text = page.get_textpage().get_text_range()  # all of it, inside the page box or not
            finally:
                page.close()
            pages.append(text.replace("\r\n", "\n").replace("\r", "\n"))
            chars += len(pages[-1])
            if chars > limits.document_chars:
                break
        meta = pdf.get_metadata_dict(skip_empty=True)
    finally:
        pdf.close()
    text = "\n".join(pages)
    lines = [line.strip() for line in text.split("\n")]
    text = "\n".join(line for line in lines if line)
    if not text.strip():
        raise Unreadable("no text layer (a scanned PDF?)")
    title = (meta.get("Title") or "").strip()
    if not title:
        title, _, text = text.partition("\n")
    date = pdf_date(meta.get("CreationDate") or meta.get("ModDate") or "")
    fields = clean_fields({"author": meta.get("Author"), "subject": meta.get("Subject"), "tags": meta.get("Keywords")})
    return [Extracted(title=title.strip(), body=text, date=date or date_in_lead(text), fields=fields)]


def pdf_date(value: str):
    """A PDF date string (``D:20230715120000+07'00'``) as a datetime, the time zone ignored."""
    from datetime import datetime

    m = _PDF_DATE.match(value.strip())
    if not m:
        return None
    try:
        return datetime(int(m.group(1)), int(m.group(2) or 1), int(m.group(3) or 1))
    except ValueError:
        return None

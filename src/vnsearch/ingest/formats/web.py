"""Web pages: the article's main text, title and date, menus and other boilerplate dropped.

trafilatura (Apache-2.0) finds the main text and reads the page's own metadata
(``<title>``, Open Graph and schema.org dates, author, categories); its fast mode
skips the fallback extractors, and the date is read from the page's markup only: the
"extensive" search through its text (dateparser) cost ten times the rest on pages
without a dated markup, and a date in the article's first lines is found anyway
(`metadata.date_in_lead`).
"""

from __future__ import annotations

from vnsearch.ingest.formats import Extracted, Unreadable
from vnsearch.ingest.formats.metadata import clean_fields, date_in_lead, parse_loose_date


def read(kind: str, data: bytes, name: str, limits) -> list[Extracted]:
    return [from_html(_decoded(data))]


def _decoded(data: bytes) -> str:
    from vnsearch.ingest.sources import decode_bytes

    text, how = decode_bytes(data)
    if text is None:
        raise Unreadable(how)
    return text


def from_html(html: str) -> Extracted:
    import trafilatura

    if not html.strip():
        raise Unreadable("empty file")
    doc = trafilatura.bare_extraction(html, fast=True, with_metadata=True, include_comments=False,
                                      include_tables=True, deduplicate=False,
                                      date_extraction_params={"extensive_search": False, "original_date": True})
    body = (doc.text or "").strip() if doc is not None else ""
    title = ((doc.title or "") if doc is not None else "").strip()
    if not body:
        body = _all_text(html)
    if not body:
        raise Unreadable("no text in the page's body")
    if not title:
        first, _, rest = body.partition("\n")
        title, body = first.strip(), rest.strip()
    date = parse_loose_date(doc.date) if doc is not None and doc.date else None
    fields = {}
    if doc is not None:
        fields = clean_fields({"author": doc.author, "category": doc.categories, "tags": doc.tags,
                               "site": doc.sitename, "description": doc.description})
    return Extracted(title=title, body=body, date=date or date_in_lead(body), fields=fields)


def _all_text(html: str) -> str:
    """Every visible text of a page trafilatura found no article in (a short page, a table of figures)."""
    import lxml.html
    from lxml import etree

    try:
        tree = lxml.html.document_fromstring(html)
    except (etree.ParserError, ValueError):
        return ""
    bodies = tree.xpath("//body")
    if not bodies:
        return ""
    for bad in bodies[0].xpath(".//script|.//style|.//noscript|.//template"):
        bad.drop_tree()
    lines = (" ".join(t.split()) for t in bodies[0].itertext())
    return "\n".join(t for t in lines if t)

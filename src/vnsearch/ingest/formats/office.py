"""Word (.docx) and OpenDocument (.odt) files: text, title and dates from the document properties.

Both are zips of XML, and the text is in one of their files: lxml reads
``word/document.xml`` and ``docProps/core.xml`` (Word), ``content.xml`` and
``meta.xml`` (ODF) directly.  python-docx builds its whole object model (styles,
numbering, settings) first: 11 ms a news article, four times the segmentation
that follows; for .odt there is no well-kept reader (odfpy's last release is
from 2020).  The tests write their Word files with python-docx.
"""

from __future__ import annotations

from vnsearch.ingest.formats import Extracted, Unreadable, open_zip
from vnsearch.ingest.formats.metadata import clean_fields, date_in_lead, parse_loose_date


def read(kind: str, data: bytes, name: str, limits) -> list[Extracted]:
    z = open_zip(data, limits, kind)
    return [_docx(z) if kind == "docx" else _odt(z)]


_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_CORE = {
    "dc": "http://purl.org/dc/elements/1.1/",
    "cp": "http://schemas.openxmlformats.org/package/2006/metadata/core-properties",
    "dcterms": "http://purl.org/dc/terms/",
}


def _xml(z, name: str, kind: str):
    from lxml import etree

    try:
        raw = z.read(name)
    except KeyError:
        raise Unreadable(f"damaged {kind} file (no {name})") from None
    return etree.fromstring(raw, etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False))


def _docx(z) -> Extracted:
    root = _xml(z, "word/document.xml", "docx")
    lines = []
    for p in root.iter(_W + "p"):
        parts = []
        for el in p.iter(_W + "t", _W + "tab", _W + "br", _W + "cr"):
            parts.append(el.text or "" if el.tag == _W + "t" else "\t" if el.tag == _W + "tab" else "\n")
        lines.append("".join(parts))
    props = {}
    if "docProps/core.xml" in z.namelist():
        core = _xml(z, "docProps/core.xml", "docx")
        for key, path in (("title", "dc:title"), ("author", "dc:creator"), ("subject", "dc:subject"),
                          ("tags", "cp:keywords"), ("category", "cp:category"), ("created", "dcterms:created"),
                          ("modified", "dcterms:modified")):
            found = core.find(path, _CORE)
            if found is not None and found.text and found.text.strip():
                props[key] = found.text.strip()
    title = props.pop("title", None)
    date = props.pop("created", None) or props.pop("modified", None)
    props.pop("modified", None)
    return _document(lines, title, date, props)


def _document(lines: list[str], title, date, fields: dict) -> Extracted:
    from vnsearch.ingest.sources import as_datetime

    text = "\n".join(line.strip() for line in lines)
    text = "\n".join(p for p in text.split("\n") if p.strip())
    if not text.strip():
        raise Unreadable("no text in the document")
    title = (title or "").strip()
    if not title:
        first, _, text = text.partition("\n")
        title = first.strip()
    d = as_datetime(date) if date is not None and not isinstance(date, str) else \
        parse_loose_date(date) if date else None
    return Extracted(title=title, body=text, date=d or date_in_lead(text), fields=clean_fields(fields))


_ODF = {
    "text": "urn:oasis:names:tc:opendocument:xmlns:text:1.0",
    "office": "urn:oasis:names:tc:opendocument:xmlns:office:1.0",
    "meta": "urn:oasis:names:tc:opendocument:xmlns:meta:1.0",
    "dc": "http://purl.org/dc/elements/1.1/",
}


def _odt(z) -> Extracted:
    content = _xml(z, "content.xml", "odt")
    lines = []
    t = "{%s}" % _ODF["text"]
    for el in content.iter(t + "h", t + "p"):
        lines.append(_odf_text(el, t))
    meta = {}
    if "meta.xml" in z.namelist():
        m = _xml(z, "meta.xml", "odt")
        for key, path in (("title", "//dc:title"), ("date", "//meta:creation-date"), ("modified", "//dc:date"),
                          ("author", "//meta:initial-creator"), ("subject", "//dc:subject"),
                          ("tags", "//meta:keyword")):
            found = [e.text for e in m.xpath(path, namespaces=_ODF) if e.text]
            if found:
                meta[key] = ", ".join(found)
    title = meta.pop("title", None)
    date = meta.pop("date", None) or meta.pop("modified", None)
    meta.pop("modified", None)
    return _document(lines, title, date, meta)


def _odf_text(el, t: str) -> str:
    """A paragraph's text, with ODF's encoded white space (<text:s/>, <text:tab/>, <text:line-break/>)."""
    out = [el.text or ""]
    for child in el:
        tag = child.tag
        if tag == t + "s":
            out.append(" " * min(64, int(child.get(t + "c", "1"))))
        elif tag == t + "tab":
            out.append("\t")
        elif tag == t + "line-break":
            out.append("\n")
        elif tag != t + "note":  # footnotes would land mid-sentence
            out.append(_odf_text(child, t))
        out.append(child.tail or "")
    return "".join(out)

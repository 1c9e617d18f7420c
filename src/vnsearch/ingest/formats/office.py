"""Word (.docx) and OpenDocument (.odt) files: text, title and dates from the document properties.

python-docx (MIT) reads .docx.  For .odt there is no well-kept reader (odfpy's
last release is from 2020), and the text is plain XML in the zip: lxml reads
``content.xml`` and ``meta.xml`` directly.
"""

from __future__ import annotations

from vnsearch.ingest.formats import Extracted, Unreadable, open_zip
from vnsearch.ingest.formats.metadata import clean_fields, date_in_lead, parse_loose_date


def read(kind: str, data: bytes, name: str, limits) -> list[Extracted]:
    z = open_zip(data, limits, kind)
    return [_docx(data) if kind == "docx" else _odt(z)]


def _docx(data: bytes) -> Extracted:
    from io import BytesIO

    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        d = docx.Document(BytesIO(data))
    except (PackageNotFoundError, KeyError, ValueError) as e:
        raise Unreadable(f"damaged docx file ({e})") from None
    lines = [p.text for p in d.paragraphs]
    for table in d.tables:
        for row in table.rows:
            cells = []
            for cell in row.cells:
                if cell.text not in cells:  # merged cells repeat their text
                    cells.append(cell.text)
            lines.append("\t".join(cells))
    cp = d.core_properties
    date = cp.created or cp.modified
    return _document(lines, cp.title, date, {"author": cp.author, "category": cp.category,
                                            "tags": cp.keywords, "subject": cp.subject})


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
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        content = etree.fromstring(z.read("content.xml"), parser)
    except KeyError:
        raise Unreadable("damaged odt file (no content.xml)") from None
    lines = []
    t = "{%s}" % _ODF["text"]
    for el in content.iter(t + "h", t + "p"):
        lines.append(_odf_text(el, t))
    meta = {}
    try:
        m = etree.fromstring(z.read("meta.xml"), parser)
        for key, path in (("title", "//dc:title"), ("date", "//meta:creation-date"), ("modified", "//dc:date"),
                          ("author", "//meta:initial-creator"), ("subject", "//dc:subject"),
                          ("tags", "//meta:keyword")):
            found = [e.text for e in m.xpath(path, namespaces=_ODF) if e.text]
            if found:
                meta[key] = ", ".join(found)
    except KeyError:
        pass
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

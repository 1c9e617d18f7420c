"""EPUB books: the chapters in reading order, title, author and date from the package document.

The common EPUB library (EbookLib) is AGPL, which would bind every user of
vnsearch; an EPUB is a zip of XHTML files listed by one XML file, so it is
read here with the standard zipfile module and lxml.
"""

from __future__ import annotations

import posixpath

from vnsearch.ingest.formats import Extracted, Unreadable, open_zip
from vnsearch.ingest.formats.metadata import clean_fields, parse_loose_date

_NS = {
    "c": "urn:oasis:names:tc:opendocument:xmlns:container",
    "opf": "http://www.idpf.org/2007/opf",
    "dc": "http://purl.org/dc/elements/1.1/",
}


def read(kind: str, data: bytes, name: str, limits) -> list[Extracted]:
    from lxml import etree

    z = open_zip(data, limits, "epub")
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    try:
        container = etree.fromstring(z.read("META-INF/container.xml"), parser)
        opf_path = container.xpath("//c:rootfile/@full-path", namespaces=_NS)[0]
        opf = etree.fromstring(z.read(opf_path), parser)
    except (KeyError, IndexError):
        raise Unreadable("damaged epub file (no package document)") from None
    base = posixpath.dirname(opf_path)
    manifest = {item.get("id"): item for item in opf.xpath("//opf:manifest/opf:item", namespaces=_NS)}
    chapters = []
    chars = 0
    for ref in opf.xpath("//opf:spine/opf:itemref/@idref", namespaces=_NS):
        item = manifest.get(ref)
        if item is None or "html" not in (item.get("media-type") or ""):
            continue
        try:
            xhtml = z.read(posixpath.normpath(posixpath.join(base, item.get("href") or "")))
        except KeyError:
            continue
        text = _chapter_text(xhtml)
        if text:
            chapters.append(text)
            chars += len(text)
            if chars > limits.document_chars:
                break
    body = "\n".join(chapters)
    if not body.strip():
        raise Unreadable("no text in the book")

    def dc(tag: str) -> str:
        return ", ".join(e.text.strip() for e in opf.xpath(f"//dc:{tag}", namespaces=_NS) if e.text and e.text.strip())

    title = dc("title")
    if not title:
        title, _, body = body.partition("\n")
    date = parse_loose_date(dc("date")) if dc("date") else None
    fields = clean_fields({"author": dc("creator"), "publisher": dc("publisher"), "subject": dc("subject"),
                           "language": dc("language")})
    return [Extracted(title=title.strip(), body=body, date=date, fields=fields)]


def _chapter_text(xhtml: bytes) -> str:
    import lxml.html
    from lxml import etree

    try:
        tree = lxml.html.document_fromstring(xhtml)
    except (etree.ParserError, ValueError):
        return ""
    for bad in tree.xpath("//script|//style|//head"):
        bad.drop_tree()
    for block in tree.xpath("//p|//h1|//h2|//h3|//h4|//h5|//h6|//li|//div|//br|//tr"):
        block.tail = "\n" + (block.tail or "")
    lines = (" ".join(line.split()) for line in tree.text_content().split("\n"))
    return "\n".join(line for line in lines if line)

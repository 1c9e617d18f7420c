"""Small documents of every supported format, built from Vietnamese text (for tests and bench/index.py).

Each builder takes a title, paragraphs and a date, and returns the file's bytes; nothing is committed.
"""

from __future__ import annotations

import html as html_lib
import io
import zipfile
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime


def make_txt(title: str, paras: list[str], date: datetime | None = None) -> bytes:
    return ("\n".join([title, *paras]) + "\n").encode()


def make_md(title: str, paras: list[str], date: datetime | None = None, **meta) -> bytes:
    front = ["---", f"title: \"{title}\""]
    if date:
        front.append(f"date: {date:%Y-%m-%d}")
    for k, v in meta.items():
        front.append(f"{k}: {v}")
    front.append("---")
    return ("\n".join(front + ["", f"# {title}", ""] + paras) + "\n").encode()


def make_html(title: str, paras: list[str], date: datetime | None = None, author: str | None = None) -> bytes:
    e = html_lib.escape
    meta = f'<meta property="article:published_time" content="{date:%Y-%m-%dT%H:%M:%S}">' if date else ""
    if author:
        meta += f'<meta name="author" content="{e(author)}">'
    body = "".join(f"<p>{e(p)}</p>" for p in paras)
    menu = "<nav><ul><li><a href='/'>Trang chủ</a></li><li><a href='/tt'>Thể thao</a></li>" \
           "<li><a href='/kd'>Kinh doanh</a></li></ul></nav>"
    return (f"<!DOCTYPE html><html lang='vi'><head><meta charset='utf-8'><title>{e(title)}</title>{meta}</head>"
            f"<body>{menu}<article><h1>{e(title)}</h1>{body}</article>"
            f"<footer><p>Bản quyền thuộc về tòa soạn. Liên hệ quảng cáo.</p></footer></body></html>").encode()


def make_docx(title: str, paras: list[str], date: datetime | None = None, author: str | None = None) -> bytes:
    import docx

    d = docx.Document()
    d.add_heading(title, 1)
    for p in paras:
        d.add_paragraph(p)
    d.core_properties.title = title
    if date:
        d.core_properties.created = date
    if author:
        d.core_properties.author = author
    out = io.BytesIO()
    d.save(out)
    return out.getvalue()


def _zip(entries: list[tuple[str, bytes | str]], first_stored: bool = True) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for i, (name, data) in enumerate(entries):
            z.writestr(name, data, compress_type=zipfile.ZIP_STORED if i == 0 and first_stored else zipfile.ZIP_DEFLATED)
    return out.getvalue()


def make_odt(title: str, paras: list[str], date: datetime | None = None, author: str | None = None) -> bytes:
    e = html_lib.escape
    ns = ('xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
          'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
          'xmlns:meta="urn:oasis:names:tc:opendocument:xmlns:meta:1.0" xmlns:dc="http://purl.org/dc/elements/1.1/"')
    body = f"<text:h>{e(title)}</text:h>" + "".join(f"<text:p>{e(p)}</text:p>" for p in paras)
    content = f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {ns}><office:body><office:text>' \
              f'{body}</office:text></office:body></office:document-content>'
    meta = f"<dc:title>{e(title)}</dc:title>"
    if date:
        meta += f"<meta:creation-date>{date:%Y-%m-%dT%H:%M:%S}</meta:creation-date>"
    if author:
        meta += f"<meta:initial-creator>{e(author)}</meta:initial-creator>"
    meta_xml = f'<?xml version="1.0" encoding="UTF-8"?><office:document-meta {ns}><office:meta>{meta}' \
               f'</office:meta></office:document-meta>'
    manifest = ('<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
                'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0">'
                '<manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.text"/>'
                '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
                '</manifest:manifest>')
    return _zip([("mimetype", "application/vnd.oasis.opendocument.text"), ("content.xml", content),
                 ("meta.xml", meta_xml), ("META-INF/manifest.xml", manifest)])


def make_epub(title: str, paras: list[str], date: datetime | None = None, author: str | None = None) -> bytes:
    e = html_lib.escape
    container = ('<?xml version="1.0"?><container version="1.0" '
                 'xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles>'
                 '<rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/>'
                 '</rootfiles></container>')
    dc = f"<dc:title>{e(title)}</dc:title><dc:language>vi</dc:language>"
    if date:
        dc += f"<dc:date>{date:%Y-%m-%d}</dc:date>"
    if author:
        dc += f"<dc:creator>{e(author)}</dc:creator>"
    half = max(1, len(paras) // 2)
    chapters = [paras[:half], paras[half:]] if len(paras) > 1 else [paras]
    items = "".join(f'<item id="c{i}" href="text/c{i}.xhtml" media-type="application/xhtml+xml"/>'
                    for i in range(len(chapters)))
    spine = "".join(f'<itemref idref="c{i}"/>' for i in range(len(chapters)))
    opf = (f'<?xml version="1.0" encoding="UTF-8"?><package xmlns="http://www.idpf.org/2007/opf" version="3.0">'
           f'<metadata xmlns:dc="http://purl.org/dc/elements/1.1/">{dc}</metadata>'
           f'<manifest>{items}</manifest><spine>{spine}</spine></package>')
    entries = [("mimetype", "application/epub+zip"), ("META-INF/container.xml", container),
               ("OEBPS/content.opf", opf)]
    for i, ch in enumerate(chapters):
        body = "".join(f"<p>{e(p)}</p>" for p in ch)
        entries.append((f"OEBPS/text/c{i}.xhtml", f'<?xml version="1.0" encoding="UTF-8"?><html '
                        f'xmlns="http://www.w3.org/1999/xhtml"><head><title>{e(title)}</title></head>'
                        f'<body><h2>Chương {i + 1}</h2>{body}</body></html>'))
    return _zip(entries)


def make_pdf(title: str, paras: list[str], date: datetime | None = None, text_layer: bool = True) -> bytes:
    """A one-page PDF whose text layer spells the paragraphs: a simple font whose codes map to any
    Unicode letters through a ToUnicode table (glyph shapes do not matter to text extraction)."""
    lines = [title, *paras]
    chars = sorted({c for line in lines for c in line})
    if len(chars) > 254:
        raise ValueError("too many distinct characters for one simple font")
    code = {c: i + 1 for i, c in enumerate(chars)}
    ops = ["BT /F1 11 Tf 50 780 Td 14 TL"]
    for line in lines:
        ops.append("<" + "".join(f"{code[c]:02X}" for c in line) + "> Tj T*")
    ops.append("ET")
    content = "\n".join(ops).encode() if text_layer else b"0 0 1 rg 10 10 100 100 re f"
    cmap = ["/CIDInit /ProcSet findresource begin 12 dict begin begincmap",
            "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def",
            "/CMapName /Adobe-Identity-UCS def /CMapType 2 def",
            "1 begincodespacerange <00> <FF> endcodespacerange"]
    items = list(code.items())
    for i in range(0, len(items), 100):
        part = items[i:i + 100]
        cmap.append(f"{len(part)} beginbfchar")
        cmap += [f"<{n:02X}> <{c.encode('utf-16-be').hex().upper()}>" for c, n in part]
        cmap.append("endbfchar")
    cmap.append("endcmap CMapName currentdict /CMap defineresource pop end end")
    cmap_bytes = "\n".join(cmap).encode()
    widths = " ".join(["500"] * 255).encode()
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
            b"/Resources << /Font << /F1 5 0 R >> >> >>",
            b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /FirstChar 1 /LastChar 255 /Widths ["
            + widths + b"] /ToUnicode 6 0 R >>",
            b"<< /Length %d >>\nstream\n" % len(cmap_bytes) + cmap_bytes + b"\nendstream"]
    info = [b"/Title <FEFF" + title.encode("utf-16-be").hex().upper().encode() + b">"]
    if date:
        info.append(b"/CreationDate (D:" + f"{date:%Y%m%d%H%M%S}".encode() + b")")
    objs.append(b"<< " + b" ".join(info) + b" >>")
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, o in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + o + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += (b"trailer\n<< /Size %d /Root 1 0 R /Info %d 0 R >>\nstartxref\n%d\n%%%%EOF\n"
            % (len(objs) + 1, len(objs), xref))
    return bytes(out)


def make_rtf(title: str, paras: list[str], date: datetime | None = None) -> bytes:
    def esc(text: str) -> str:
        out = []
        for c in text:
            if c in "\\{}":
                out.append("\\" + c)
            elif ord(c) < 128:
                out.append(c)
            else:
                n = ord(c)
                out.append(f"\\u{n if n < 32768 else n - 65536}?")
        return "".join(out)

    body = "\\par\n".join(esc(p) for p in [title, *paras])
    return ("{\\rtf1\\ansi\\ansicpg1258\\deff0{\\fonttbl{\\f0 Times New Roman;}}\\uc1\n" + body + "\\par\n}").encode()


def make_eml(title: str, paras: list[str], date: datetime | None = None, sender: str = "Nguyễn Văn An <an@example.vn>",
             attachments: list[tuple[str, bytes]] = ()) -> bytes:
    msg = EmailMessage()
    msg["Subject"] = title
    msg["From"] = sender
    msg["To"] = "Tòa soạn <toasoan@example.vn>"
    msg["Date"] = format_datetime(date or datetime(2023, 7, 15, 9, 30))
    msg.set_content("\n\n".join(paras))
    for name, data in attachments:
        msg.add_attachment(data, maintype="application", subtype="octet-stream", filename=name)
    return bytes(msg)


def make_mbox(messages: list[bytes]) -> bytes:
    out = bytearray()
    for m in messages:
        out += b"From sender@example.vn Sat Jul 15 09:30:00 2023\n"
        out += m.replace(b"\r\n", b"\n").replace(b"\nFrom ", b"\n>From ")
        if not out.endswith(b"\n"):
            out += b"\n"
        out += b"\n"
    return bytes(out)


BUILDERS = {"txt": make_txt, "md": make_md, "html": make_html, "docx": make_docx, "odt": make_odt, "epub": make_epub,
            "pdf": make_pdf, "rtf": make_rtf, "eml": make_eml}

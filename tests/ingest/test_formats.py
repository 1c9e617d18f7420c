"""Every supported format: read by content and name, found by accented and unaccented words,
titled and dated from its own metadata; damaged, hostile and huge files skipped with a reason."""

import io
import os
import zipfile
from datetime import datetime

import pytest

from builders import (BUILDERS, make_docx, make_eml, make_epub, make_html, make_mbox, make_md, make_pdf)
from vnsearch import Index
from vnsearch.ingest.formats import sniff

TITLE = "Báo cáo nhân sự Đà Nẵng"
PARAS = ["Sáng nay, ông Nguyễn Thanh Quang công bố quyết định về nhân sự của thành phố Đà Nẵng.",
         "Hội nghị có sự tham dự của lãnh đạo Sở Thông tin và Truyền thông, hòa bình và phát triển."]
WHEN = datetime(2023, 5, 6)


def index_folder(tmp_path, folder, **kw):
    ix = Index.open(tmp_path / "ix", create=True)
    return ix, ix.add_sources([str(folder)], jobs=kw.pop("jobs", 1), **kw)


def by_name(rep):
    return {s.where.rsplit("/", 1)[-1]: s.reason for s in rep.skipped}


@pytest.mark.parametrize("kind", sorted(BUILDERS))
def test_each_format_is_found_with_and_without_accents(tmp_path, kind):
    folder = tmp_path / "docs"
    folder.mkdir()
    title = f"{TITLE} {kind}"
    (folder / f"bai.{kind}").write_bytes(BUILDERS[kind](title, PARAS, WHEN))
    (folder / "khac.txt").write_text("Một bài khác\nVề thời tiết ở Huế.", encoding="utf-8")
    ix, rep = index_folder(tmp_path, folder)
    assert rep.added == 2 and not rep.skipped, rep.skipped
    for q in ("Nguyễn Thanh Quang", "nguyen thanh quang", "hòa bình", "hoa binh", "Truyền thông"):
        res = ix.search(q)
        assert [h.id.rsplit("/", 1)[-1] for h in res.hits] == [f"bai.{kind}"], (kind, q)
    hit = ix.search("Đà Nẵng").hits[0]
    assert hit.type == kind and hit.title == title
    doc = ix.get(hit.id)
    assert "Nguyễn Thanh Quang" in doc["body"] and doc["body"].count(title) == 0  # the heading is not repeated
    if kind not in ("txt", "rtf"):  # these carry no date of their own
        assert hit.date is not None and hit.date.date() in (WHEN.date(), datetime(2023, 7, 15).date()), kind
    assert ix.search(f"type:{kind} Nguyễn").total == 1 and ix.search("type:pdf OR type:docx").total == int(
        kind in ("pdf", "docx"))
    assert ix.add_sources([str(folder)], jobs=1).unchanged == 2  # a re-run reads nothing again


def test_formats_are_read_in_workers_too(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    for kind, build in BUILDERS.items():
        (folder / f"bai.{kind}").write_bytes(build(f"{TITLE} {kind}", PARAS, WHEN))
    ix, rep = index_folder(tmp_path, folder, jobs=2)
    assert rep.added == len(BUILDERS) and not rep.skipped
    assert ix.search("nguyen thanh quang").total == len(BUILDERS)
    assert ix.stats()["types"] == {k: 1 for k in sorted(BUILDERS)}


def test_format_by_content_and_case_insensitive_names(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "REPORT.PDF").write_bytes(make_pdf("Báo cáo viết hoa", PARAS))
    (folder / "pdf-saved-as.txt").write_bytes(make_pdf("Tệp PDF mang tên txt", PARAS))
    (folder / "GHI-CHU.TXT").write_text("Ghi chú viết hoa\nNội dung Đà Nẵng", encoding="utf-8")
    (folder / "noext").write_text("Không có đuôi\nNội dung Đà Nẵng", encoding="utf-8")
    (folder / "page").write_bytes(make_html("Trang không đuôi", PARAS))
    (folder / "message").write_bytes(make_eml("Thư không đuôi", PARAS))
    (folder / "photo.jpg").write_bytes(b"\xff\xd8\xff\xe0" + bytes(range(256)))
    (folder / "blob.bin2").write_bytes(bytes(range(256)) * 4)
    ix, rep = index_folder(tmp_path, folder)
    types = {h.id.rsplit("/", 1)[-1]: h.type for h in ix.search("Đà Nẵng", limit=20).hits}
    assert types == {"REPORT.PDF": "pdf", "pdf-saved-as.txt": "pdf", "GHI-CHU.TXT": "txt", "noext": "txt",
                     "page": "html", "message": "eml"}
    why = by_name(rep)
    assert why["photo.jpg"].startswith("not a supported format (.jpg")
    assert why["blob.bin2"].startswith("binary file")
    assert rep.skip_reasons() == {"not a supported format": 1, "binary file": 1}


def test_sniff():
    assert sniff("a.txt", b"%PDF-1.7\n") == "pdf"
    assert sniff("a", b"<!DOCTYPE html><html>") == "html"
    assert sniff("a.log", "Nhật ký\nDòng".encode()) == "txt"
    assert sniff("a.docx", b"not a zip") == "txt"
    assert sniff("a.docx", b"\x00\x01\x02\x03" * 100) is None
    assert sniff("x", make_epub("Sách", PARAS)[:2048]) == "epub"
    assert sniff("x", make_docx("Văn bản", PARAS)[:2048]) == "docx"


def test_html_boilerplate_is_dropped_and_metadata_read(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "bai.html").write_bytes(make_html(TITLE, PARAS * 3, WHEN, author="Trần Thị Bình"))
    (folder / "trong.html").write_text("<html><head><title>Chỉ có tiêu đề</title></head></html>", encoding="utf-8")
    ix, rep = index_folder(tmp_path, folder)
    doc = ix.get(str(folder.resolve() / "bai.html"))
    assert "Trang chủ" not in doc["body"] and "Bản quyền" not in doc["body"] and "Nguyễn Thanh Quang" in doc["body"]
    assert doc["title"] == TITLE and doc["date"] == WHEN and doc["fields"]["author"] == "Trần Thị Bình"
    assert by_name(rep)["trong.html"].startswith("no text in the page")
    assert ix.search("author:binh").total == 1 and ix.search("author:Bình").total == 1


def test_mailbox_messages_and_attachments_are_documents(tmp_path):
    folder = tmp_path / "mail"
    folder.mkdir()
    attach = make_docx("Kế hoạch năm", ["Kế hoạch xây dựng cầu Rồng mới ở Đà Nẵng."])
    broken = b"this is not a mail\n\n"
    box = make_mbox([make_eml("Thư một về hòa bình", PARAS), broken,
                     make_eml("Thư hai: kế hoạch", PARAS, attachments=[("ke-hoach.docx", attach)])])
    (folder / "hop.mbox").write_bytes(box)
    ix, rep = index_folder(tmp_path, folder)
    root = str(folder.resolve() / "hop.mbox")
    ids = sorted(h.id[len(root):] for h in ix.search("Đà Nẵng", limit=20).hits)
    assert ids == ["//1", "//3", "//3/ke-hoach.docx"]
    assert [n.reason for n in rep.notes] == ["1 message of the mailbox could not be read"]
    att = ix.get(root + "//3/ke-hoach.docx")
    assert att["type"] == "docx" and att["title"] == "Kế hoạch năm" and att["fields"]["sender"].startswith("Nguyễn")
    assert ix.search("cau rong").total == 1 and ix.search("type:eml").total == 2
    assert ix.search('sender:"nguyen van an"').total == 3 and ix.search("sender:an@example.vn").total == 3
    # unchanged: nothing read again; the mailbox gone: all its documents go
    assert ix.add_sources([str(folder)], jobs=1).unchanged == 3
    (folder / "hop.mbox").unlink()
    assert ix.add_sources([str(folder)], jobs=1).removed == 3 and len(ix) == 0


def test_markdown_front_matter(tmp_path):
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "a.md").write_bytes(make_md("Ghi chú họp", PARAS, WHEN, tags="[kinh tế, xã hội]",
                                          **{"Tác giả": "Lê Văn Tám"}))
    (folder / "b.md").write_text("---\nnot: [closed\n---\nTiêu đề thật\nNội dung Đà Nẵng", encoding="utf-8")
    (folder / "d.md").write_text("---\nChương một\n---\nĐà Nẵng", encoding="utf-8")
    (folder / "c.md").write_text("+++\ntitle = \"Bài TOML\"\ndate = 2022-01-02\n+++\nNội dung Đà Nẵng",
                                 encoding="utf-8")
    ix, rep = index_folder(tmp_path, folder)
    a = ix.get(str(folder.resolve() / "a.md"))
    assert a["title"] == "Ghi chú họp" and a["date"] == WHEN
    assert a["fields"] == {"tags": "kinh tế, xã hội", "tac_gia": "Lê Văn Tám"}
    assert ix.search("tags:kinh").total == 1 and ix.search('tags:"xã hội"').total == 1
    assert ix.search("tac_gia:tam").total == 1 and ix.search("tags:kinh tế").hits[0].title == "Ghi chú họp"
    b = ix.get(str(folder.resolve() / "b.md"))
    assert b["title"] == "Tiêu đề thật"  # broken front matter: its fields are lost, never an error
    assert ix.get(str(folder.resolve() / "d.md"))["title"] == "Chương một"  # rules around text are no title
    c = ix.get(str(folder.resolve() / "c.md"))
    assert c["title"] == "Bài TOML" and c["date"] == datetime(2022, 1, 2)
    assert set(ix.stats()["fields"]) == {"tags", "tac_gia"}


# -- bad input ------------------------------------------------------------------------------------
def _zip_bomb(kind: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        if kind == "epub":
            z.writestr(zipfile.ZipInfo("mimetype"), "application/epub+zip")
        else:
            z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", b"\x00" * (20 << 20))  # ~20 KB packed: 1,000 times its size
    return out.getvalue()


def test_damaged_encrypted_and_hostile_files_are_skipped_with_a_reason(tmp_path, monkeypatch):
    from pypdf import PdfReader, PdfWriter

    folder = tmp_path / "docs"
    folder.mkdir()
    w = PdfWriter(clone_from=PdfReader(io.BytesIO(make_pdf("Bí mật", PARAS))))
    w.encrypt("mat-khau")
    enc = io.BytesIO()
    w.write(enc)
    (folder / "secret.pdf").write_bytes(enc.getvalue())
    (folder / "broken.pdf").write_bytes(make_pdf(TITLE, PARAS)[:300])
    (folder / "scan.pdf").write_bytes(make_pdf("x", ["y"], text_layer=False))
    (folder / "broken.docx").write_bytes(make_docx(TITLE, PARAS)[:500])
    (folder / "bomb.docx").write_bytes(_zip_bomb("docx"))
    (folder / "bomb.epub").write_bytes(_zip_bomb("epub"))
    (folder / "big.pdf").write_bytes(make_pdf(TITLE, PARAS) + b"%" + b"x" * 150_000)
    (folder / "ok.docx").write_bytes(make_docx(TITLE, PARAS))
    (folder / "locked.docx").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(4096))  # what Word writes encrypted
    monkeypatch.setenv("VNSEARCH_MAX_FILE_BYTES", "100000")
    from vnsearch.limits import Limits

    ix = Index.open(tmp_path / "ix", create=True, limits=Limits.from_env())
    rep = ix.add_sources([str(folder)], jobs=1)
    why = by_name(rep)
    assert rep.added == 1 and len(ix) == 1, why
    assert why["secret.pdf"] == "encrypted PDF (needs a password)"
    assert why["broken.pdf"].startswith("damaged PDF")
    assert why["scan.pdf"] == "no text layer (a scanned PDF?)"
    assert why["broken.docx"].startswith("damaged docx") or why["broken.docx"].startswith("binary file")
    assert "zip bomb" in why["bomb.docx"] and "zip bomb" in why["bomb.epub"]
    assert why["locked.docx"].startswith("encrypted Word document")
    assert why["big.pdf"] == "larger than 100,000 bytes (VNSEARCH_MAX_FILE_BYTES)"


def test_a_reader_that_hangs_is_stopped(tmp_path, monkeypatch):
    import time

    import vnsearch.ingest.formats.plain as plain
    from vnsearch.limits import Limits

    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "slow.md").write_text("Chậm\nNội dung", encoding="utf-8")
    (folder / "fast.txt").write_text("Nhanh\nNội dung", encoding="utf-8")
    real = plain.read

    def read(kind, data, name, limits):
        if name == "slow.md":
            time.sleep(30)
        return real(kind, data, name, limits)

    monkeypatch.setattr(plain, "read", read)
    ix = Index.open(tmp_path / "ix", create=True, limits=Limits(extract_seconds=1))
    t0 = time.perf_counter()
    rep = ix.add_sources([str(folder)], jobs=1)
    assert time.perf_counter() - t0 < 10
    assert rep.added == 1 and by_name(rep)["slow.md"].startswith("took longer than 1 s")


def test_decomposed_text_from_a_pdf_is_found_by_composed_words(tmp_path):
    import unicodedata

    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "nfd.pdf").write_bytes(make_pdf("Tiêu đề", [unicodedata.normalize("NFD", p) for p in PARAS]))
    ix, rep = index_folder(tmp_path, folder)
    assert rep.added == 1 and ix.search("Nguyễn Thanh Quang").total == 1
    assert unicodedata.is_normalized("NFC", ix.get(str(folder.resolve() / "nfd.pdf"))["body"])


def test_single_files_and_mtime_dates(tmp_path):
    f = tmp_path / "bao-cao.pdf"
    f.write_bytes(make_pdf(TITLE, PARAS))  # no date in it
    plain_file = tmp_path / "note.txt"
    plain_file.write_text("Ghi chú\nNội dung Đà Nẵng", encoding="utf-8")
    os.utime(plain_file, (1_600_000_000, 1_600_000_000))
    ix = Index.open(tmp_path / "ix", create=True)
    assert ix.add_sources([str(f), str(plain_file)], jobs=1).added == 2
    assert ix.get(str(plain_file.resolve()))["date"] is None
    from vnsearch.ingest.sources import open_source

    ix.add_from([open_source(str(plain_file), mtime_dates=True)], jobs=1)
    assert ix.get(str(plain_file.resolve()))["date"] == datetime.fromtimestamp(1_600_000_000)

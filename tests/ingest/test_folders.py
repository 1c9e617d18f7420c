"""Where documents live: absolute ids, folder and path filters, formats, re-reading known sources,
removing sources, metadata from JSONL/CSV, and dates found in text."""

import json
from datetime import datetime

import pytest
from click.testing import CliRunner

from builders import make_docx, make_pdf
from vnsearch import Index
from vnsearch.cli import main
from vnsearch.ingest.formats.metadata import date_in_lead, field_name, parse_loose_date


@pytest.fixture
def tree(tmp_path):
    """Two folders that both hold a.txt, a subfolder, a PDF and a Word file."""
    for sub in ("kho1", "kho2", "kho1/thoi-su", "kho1/the-thao"):
        (tmp_path / sub).mkdir(parents=True, exist_ok=True)
    (tmp_path / "kho1/a.txt").write_text("Bài một\nTin Đà Nẵng hôm nay", encoding="utf-8")
    (tmp_path / "kho2/a.txt").write_text("Bài hai\nTin Đà Nẵng ngày mai", encoding="utf-8")
    (tmp_path / "kho1/thoi-su/b.txt").write_text("Thời sự\nĐà Nẵng và Hà Nội", encoding="utf-8")
    (tmp_path / "kho1/the-thao/c.pdf").write_bytes(make_pdf("Thể thao", ["Đà Nẵng thắng trận"]))
    (tmp_path / "kho1/the-thao/d.docx").write_bytes(make_docx("Bóng đá", ["Đà Nẵng hòa Hà Nội"]))
    ix = Index.open(tmp_path / "ix", create=True)
    ix.add_sources([str(tmp_path / "kho1"), str(tmp_path / "kho2")], jobs=1)
    return tmp_path, ix


def names(res):
    return sorted(h.path.rsplit("/", 2)[-2] + "/" + h.path.rsplit("/", 1)[-1] for h in res.hits)


def test_same_name_in_two_folders_is_two_documents(tree):
    root, ix = tree
    assert len(ix) == 5
    assert ix.search("Đà Nẵng").total == 5
    assert {h.id for h in ix.search("Tin Đà Nẵng").hits} == {str((root / "kho1/a.txt").resolve()),
                                                             str((root / "kho2/a.txt").resolve())}


def test_folder_and_path_filters(tree):
    root, ix = tree
    assert names(ix.search("Đà Nẵng", within=[root / "kho1/thoi-su"])) == ["thoi-su/b.txt"]
    assert ix.search("Đà Nẵng", within=[root / "kho1"]).total == 4
    assert ix.search("Đà Nẵng", within=[root / "kho2", root / "kho1/the-thao"]).total == 3
    assert ix.search("Đà Nẵng", within=[root / "nowhere"]).total == 0
    assert names(ix.search("Đà Nẵng path:thoi-su/*")) == ["thoi-su/b.txt"]
    assert names(ix.search("path:the-thao/*")) == ["the-thao/c.pdf", "the-thao/d.docx"]
    assert names(ix.search("path:*.pdf")) == ["the-thao/c.pdf"]
    assert names(ix.search("path:thoi-su/b.txt")) == ["thoi-su/b.txt"]
    assert ix.search(f"path:{(root / 'kho2').resolve()}/").total == 1
    assert names(ix.search("Đà Nẵng type:docx")) == ["the-thao/d.docx"]
    assert names(ix.search("Đà Nẵng", filters={"type": "pdf"})) == ["the-thao/c.pdf"]
    assert ix.search(f"id:{(root / 'kho1').resolve()}/*").total == 4


def test_cli_filters_and_output_modes(tree, monkeypatch):
    root, ix = tree
    monkeypatch.chdir(root)
    run = CliRunner().invoke
    r = run(main, ["--index", "ix", "search", "Đà Nẵng", "-l", "-n", "50"])
    assert r.exit_code == 0
    assert sorted(r.output.splitlines()) == ["kho1/a.txt", "kho1/the-thao/c.pdf", "kho1/the-thao/d.docx",
                                             "kho1/thoi-su/b.txt", "kho2/a.txt"]
    r = run(main, ["--index", "ix", "search", "Đà Nẵng", "--in", "kho1/the-thao", "--type", "pdf", "-l"])
    assert r.output == "kho1/the-thao/c.pdf\n"
    r = run(main, ["--index", "ix", "search", "Đà Nẵng", "--type", "pdf", "--type", "docx", "-l"])
    assert sorted(r.output.splitlines()) == ["kho1/the-thao/c.pdf", "kho1/the-thao/d.docx"]
    r = run(main, ["--index", "ix", "search", "Thể thao", "--format", "csv"])
    rows = r.output.splitlines()
    assert rows[0] == "rank,id,title,path,date,score,type,snippet" and len(rows) == 2 and ",pdf," in rows[1]
    r = run(main, ["--index", "ix", "search", "Đà Nẵng", "--compact"])
    assert r.exit_code == 0 and len(r.output.splitlines()) == 5 and all("·" in x or "/" in x for x in r.output.splitlines())
    r = run(main, ["--index", "ix", "search", "Đà Nẵng", "--json", "-l"])
    assert r.exit_code == 2 and "choose one output" in r.output
    r = run(main, ["--index", "ix", "search", "Bóng đá", "--json"])
    hit = json.loads(r.output)["hits"][0]
    assert hit["type"] == "docx" and hit["path"].startswith("/") and hit["fields"]["author"] == "python-docx"


def test_index_with_no_source_rereads_known_sources_and_remove(tree, monkeypatch):
    root, ix = tree
    (root / "kho2/moi.txt").write_text("Bài mới\nĐà Nẵng có mưa", encoding="utf-8")
    (root / "kho1/a.txt").unlink()
    r = CliRunner().invoke(main, ["--index", str(root / "ix"), "index", "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert (out["added"], out["removed"], out["unchanged"]) == (1, 1, 4)
    r = CliRunner().invoke(main, ["--index", str(root / "ix"), "remove", str(root / "kho2")])
    assert r.exit_code == 0 and "removed 2 documents" in r.output
    ix.reload()
    assert len(ix) == 3
    r = CliRunner().invoke(main, ["--index", str(root / "ix"), "index", "--json"])  # kho2 is forgotten
    assert json.loads(r.output)["added"] == 0 and len(Index.open(root / "ix")) == 3
    doc = str((root / "kho1/thoi-su/b.txt").resolve())
    r = CliRunner().invoke(main, ["--index", str(root / "ix"), "remove", "--id", doc, "--id", "nope"])
    assert "removed 1 document" in r.output and "nothing indexed from nope" in r.output
    r = CliRunner().invoke(main, ["--index", str(root / "ix"), "remove", str(root / "kho1/the-thao")])
    assert "removed 2 documents" in r.output and len(Index.open(root / "ix")) == 0
    r = CliRunner().invoke(main, ["--index", str(root / "new-ix"), "index"])
    assert r.exit_code == 2 and "no sources" in r.output


def test_jsonl_and_csv_extra_fields_are_metadata(tmp_path):
    j = tmp_path / "a.jsonl"
    j.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in [
        {"id": "1", "title": "Bóng đá", "text": "Đội tuyển thắng", "category": "Thể thao", "author": "Ngọc Anh",
         "views": 12, "nested": {"x": 1}},
        {"id": "2", "title": "Giá vàng", "text": "Giá vàng tăng", "category": "Kinh doanh"}]), encoding="utf-8")
    c = tmp_path / "b.csv"
    c.write_text("id,title,text,Chuyên mục\n3,Thời tiết,Trời mưa to,Đời sống\n", encoding="utf-8")
    ix = Index.open(tmp_path / "ix", create=True)
    ix.add_sources([str(j), str(c)], jobs=1)
    assert ix.meta_fields() == ["author", "category", "chuyen_muc", "views"]
    assert ix.get("1")["fields"] == {"category": "Thể thao", "author": "Ngọc Anh", "views": "12"}
    assert [h.id for h in ix.search("category:thao").hits] == ["1"]
    assert [h.id for h in ix.search('category:"kinh doanh"').hits] == ["2"]
    assert [h.id for h in ix.search("chuyen_muc:doi").hits] == ["3"]
    wrong = ix.search("category:Thảo")  # diacritics as typed: only with the notice that they were ignored
    assert wrong.total == 0 or wrong.accents_ignored
    assert ix.search("author:ngoc*").total == 1 and ix.search("views:12").total == 1
    assert ix.get("3")["type"] == "csv" and ix.get("1")["type"] == "jsonl"
    assert ix.stats()["fields"] == ["author", "category", "chuyen_muc", "views"]


def test_dates_from_text_and_field_names():
    assert date_in_lead("Thứ Hai, 06/02/2023 10:30 GMT+7\nNội dung") == datetime(2023, 2, 6)
    assert date_in_lead("Hà Nội, ngày 6 tháng 2 năm 2023\nNội dung") == datetime(2023, 2, 6)
    assert date_in_lead("Cập nhật 2021-12-31\nNội dung") == datetime(2021, 12, 31)
    assert date_in_lead("Ngày 25/2, tòa tuyên án\nKhông năm") is None
    assert date_in_lead("Một\nHai\nBa\nBốn 06/02/2023") is None  # only the first lines
    assert date_in_lead("Số 31/13/2023 không phải ngày") is None
    assert parse_loose_date("2023-07-15T10:00:00+07:00") == datetime(2023, 7, 15, 10, 0)
    assert field_name("Tác giả") == "tac_gia" and field_name("Đơn vị") == "don_vi"
    assert field_name("title") is None and field_name("2nd") is None and field_name("!!") is None

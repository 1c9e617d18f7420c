"""Bad input, faults and concurrency: each case of the README's Robustness table."""

import json
import os
import random
import re
import signal
import subprocess
import sys
import time
import unicodedata
import zipfile

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vnsearch import Document, Index, QueryError
from vnsearch.cli import main
from vnsearch.errors import IndexCorruptError, IndexLockedError
from vnsearch.ingest.sources import FieldMap

from conftest import read_baomoi

VI = "Hà Nội là thủ đô của nước Cộng hòa Xã hội chủ nghĩa Việt Nam, nơi có nhiều trường đại học lớn."


def to_cp1258(text: str) -> bytes:
    """Windows-1258 spells tone marks as combining characters after precomposed vowels."""
    out = []
    for m in re.finditer(r"(.)([\u0300-\u036f]*)", unicodedata.normalize("NFD", text), re.S):
        base, marks = m.group(1), m.group(2)
        quality = "".join(c for c in marks if c in "\u0302\u0306\u031b")
        out.append(unicodedata.normalize("NFC", base + quality) + "".join(c for c in marks if c not in quality))
    return "".join(out).encode("cp1258")


def index_folder(tmp_path, folder, **kw):
    ix = Index.open(tmp_path / "ix", create=True)
    return ix, ix.add_sources([str(folder)], jobs=1, **kw)


def reasons(report):
    return {s.where.rsplit("/", 1)[-1]: s.reason for s in report.skipped}


# -- files ------------------------------------------------------------------------
def test_messy_folder(tmp_path):
    d = tmp_path / "docs"
    d.mkdir()
    (d / "bad-utf8.txt").write_bytes(("Tiêu đề\n" + VI).encode() + b"\xff\xfe tail")
    (d / "empty.txt").write_bytes(b"")
    (d / "blank.txt").write_text("  \n\t \n", encoding="utf-8")
    (d / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    with zipfile.ZipFile(d / "archive.md", "w") as z:
        z.writestr("a.txt", VI)
    (d / "legacy.txt").write_bytes(to_cp1258("Văn bản cũ\n" + VI * 3))
    (d / "utf16.txt").write_bytes(("Tiêu đề UTF-16\n" + VI).encode("utf-16"))
    (d / "bom.txt").write_bytes(b"\xef\xbb\xbf" + ("BOM\n" + VI).encode())
    nfd_name = unicodedata.normalize("NFD", "Tin tức Hà Nội.txt")
    (d / nfd_name).write_text("Tên tệp NFD\n" + VI, encoding="utf-8")
    (d / "loop").symlink_to(d, target_is_directory=True)
    ix, rep = index_folder(tmp_path, d)
    why = reasons(rep)
    assert why["empty.txt"] == "empty file" and why["blank.txt"] == "empty file"
    assert why["image.txt"].startswith("binary") and why["archive.md"].startswith("binary")
    assert rep.added == 5
    nfc_name = unicodedata.normalize("NFC", nfd_name)
    for doc_id, title in [("bad-utf8.txt", "Tiêu đề"), ("legacy.txt", "Văn bản cũ"), ("utf16.txt", "Tiêu đề UTF-16"),
                          ("bom.txt", "BOM"), (nfc_name, "Tên tệp NFD")]:
        assert ix.get(f"{d.resolve()}/{doc_id}")["title"] == title, doc_id
    assert ix.search("thủ đô Việt Nam", limit=10).total == 5
    # the symlink loop was not followed twice, and a re-run changes nothing
    rep = ix.add_sources([str(d)], jobs=1)
    assert rep.unchanged == 5 and rep.added == 0


def test_unreadable_vanishing_and_changing_files(tmp_path, monkeypatch):
    d = tmp_path / "docs"
    d.mkdir()
    for name in ("locked.txt", "gone.txt", "changing.txt", "fine.txt"):
        (d / name).write_text(f"{name}\n{VI}", encoding="utf-8")
    import vnsearch.ingest.sources as sources

    real = sources._open_regular

    def read_bytes(self):
        if self.name == "locked.txt":  # tests run as root, where chmod 000 does not stop reading
            raise PermissionError(13, "Permission denied")
        if self.name == "gone.txt":
            self.unlink()
        if self.name == "changing.txt":
            self.write_text("changing.txt\nĐổi nội dung giữa chừng", encoding="utf-8")
        return real(self)

    monkeypatch.setattr(sources, "_open_regular", read_bytes)
    ix, rep = index_folder(tmp_path, d)
    why = reasons(rep)
    assert why == {"locked.txt": "permission denied", "gone.txt": "vanished while indexing"}
    assert rep.added == 2
    assert ix.search("giữa chừng").total == 1
    monkeypatch.setattr(sources, "_open_regular", real)
    rep = ix.add_sources([str(d)], jobs=1)
    assert (rep.added, rep.unchanged, rep.removed) == (1, 2, 0)


def test_large_file(tmp_path):
    d = tmp_path / "docs"
    d.mkdir()
    para = (VI + " ") * 20 + "\n"
    n = 50_000_000 // len(para.encode())
    with open(d / "big.txt", "w", encoding="utf-8") as f:
        f.write("Tệp lớn\n")
        for i in range(n):
            f.write(para if i not in (n // 3, n - 1) else "Đoạn có từ hiếm: Pleiku.\n" if i < n - 1 else "Kon Tum\n")
    assert (d / "big.txt").stat().st_size > 49_000_000
    ix, rep = index_folder(tmp_path, d)
    # indexed as one document, cut at the document limit (20,000,000 characters by default) and said so
    assert rep.added == 1 and rep.truncated == 1 and "truncated" in rep.notes[0].reason
    assert ix.search("Kon Tum").total == 0
    res = ix.search("Pleiku")
    assert res.total == 1
    assert any("Pleiku" in f.text[a:b] for f in res.hits[0].fragments for a, b in f.highlights)


def test_ten_thousand_files(tmp_path):
    d = tmp_path / "many"
    d.mkdir()
    for i in range(10_000):
        (d / f"{i:05d}.txt").write_text(f"Tin số {i}\nBản tin ngắn số {i} về kinh tế.", encoding="utf-8")
    ix = Index.open(tmp_path / "ix", create=True)
    rep = ix.add_sources([str(d)], jobs=2)
    assert rep.added == 10_000 and len(ix) == 10_000
    assert ix.search("kinh tế").total == 10_000


# -- JSONL and CSV -------------------------------------------------------------
def test_jsonl_bad_records(tmp_path):
    src = tmp_path / "a.jsonl"
    lines = [
        json.dumps({"id": "1", "title": "Một", "text": VI}, ensure_ascii=False),
        "{broken json",
        json.dumps({"id": "2", "title": "Không có text"}),
        json.dumps({"id": 3, "title": 42, "text": 12345, "date": 1700000000}),
        json.dumps({"id": "4", "text": ["not", "text"]}),
        json.dumps([1, 2]),
        json.dumps({"id": "1", "title": "Trùng", "text": "trùng id"}, ensure_ascii=False),
        "",
        json.dumps({"id": "5", "text": {"nested": 1}, "meta": {"body": "x"}}),
    ]
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    ix = Index.open(tmp_path / "ix", create=True)
    rep = ix.add_sources([str(src)], jobs=1)
    why = reasons(rep)
    assert why["a.jsonl:2"].startswith("malformed JSON")
    assert why["a.jsonl:3"] == "no 'text' field"
    assert why["a.jsonl:5"] == "'text' is not text" and why["a.jsonl:9"] == "'text' is not text"
    assert why["a.jsonl:6"] == "not a JSON object"
    assert why["1"].startswith("duplicate id")
    assert rep.added == 2 and len(ix) == 2
    assert ix.get("3")["title"] == "42" and ix.get("1")["title"] == "Một"
    assert ix.search("12345").total == 1


def test_nested_fields_and_csv_quoting(tmp_path):
    src = tmp_path / "n.jsonl"
    src.write_text(json.dumps({"meta": {"id": "x"}, "article": {"head": "Tiêu đề", "body": VI}}, ensure_ascii=False),
                   encoding="utf-8")
    ix = Index.open(tmp_path / "ix", create=True)
    rep = ix.add_sources([str(src)], fields=FieldMap(id="meta.id", title="article.head", text="article.body"), jobs=1)
    assert rep.added == 1 and ix.get("x")["title"] == "Tiêu đề"
    csv_file = tmp_path / "a.csv"
    csv_file.write_text('id,title,text\n1,"Dòng ""một""","Đoạn một\nđoạn hai, có dấu phẩy"\n2,Hai\n', encoding="utf-8")
    rep = ix.add_sources([str(csv_file)], jobs=1)
    assert rep.added == 1 and reasons(rep) == {"a.csv:4": "no 'text' field"}
    assert ix.get("1")["body"] == "Đoạn một\nđoạn hai, có dấu phẩy"


# -- the index itself -------------------------------------------------------------
def test_index_path_problems(tmp_path):
    runner = CliRunner()
    r = runner.invoke(main, ["--index", str(tmp_path / "missing"), "search", "x"])
    assert r.exit_code == 2 and "no index" in r.output
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("x")
    r = runner.invoke(main, ["--index", str(other), "search", "x"])
    assert r.exit_code == 2 and "not a vnsearch index" in r.output
    r = runner.invoke(main, ["--index", str(other), "index", str(tmp_path / "missing")])
    assert r.exit_code == 2 and "Traceback" not in r.output
    f = tmp_path / "file"
    f.write_text("x")
    r = runner.invoke(main, ["--index", str(f), "stats"])
    assert r.exit_code == 2


def test_read_only_index(tmp_path, monkeypatch):
    ix = Index.open(tmp_path / "ix", create=True)
    ix.add([Document("a", "A", VI)])
    real_open = os.open

    def deny(path, flags, *a):  # as root, a chmod'ed folder stays writable: simulate EACCES
        if str(path).endswith("vnsearch-write.lock"):
            raise PermissionError(13, "Permission denied")
        return real_open(path, flags, *a)

    monkeypatch.setattr(os, "open", deny)
    with pytest.raises(IndexLockedError, match="permission denied"):
        ix.add([Document("b", "B", VI)])
    assert Index.open(ix.path).search("Hà Nội").total == 1  # reading needs no write access


def test_damaged_segment_is_reported_with_a_way_out(tmp_path):
    runner = CliRunner()
    path = tmp_path / "ix"
    ix = Index.open(path, create=True)
    ix.add([Document(f"d{i}", f"Tin {i}", VI + f" số {i}") for i in range(50)])
    assert runner.invoke(main, ["--index", str(path), "check"]).exit_code == 0
    seg = next(p for p in path.iterdir() if p.suffix == ".seg")
    data = seg.read_bytes()
    seg.write_bytes(data[: len(data) // 2])
    r = runner.invoke(main, ["--index", str(path), "search", "Hà Nội"])
    assert r.exit_code == 2 and "rebuild" in r.output and "Traceback" not in r.output
    r = runner.invoke(main, ["--index", str(path), "check"])
    assert r.exit_code == 2 and "rebuild" in r.output
    seg.unlink()
    r = runner.invoke(main, ["--index", str(path), "search", "Hà Nội"])
    assert r.exit_code == 2 and "rebuild" in r.output
    with pytest.raises(IndexCorruptError):
        Index.open(path).search("Hà Nội")


# -- interruptions and concurrency ---------------------------------------------
def _jsonl(tmp_path, n):
    src = tmp_path / "b.jsonl"
    with open(src, "w", encoding="utf-8") as f:
        for r in read_baomoi(n):
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    return src


def _wait_for_commit(path, proc, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None:
        if any(p.name.endswith(".toc") and p.name != "_MAIN_0.toc" for p in path.iterdir()) if path.exists() else False:
            return True
        time.sleep(0.05)
    return False


def test_sigint_stops_cleanly_and_keeps_progress(tmp_path):
    src = _jsonl(tmp_path, 800)
    path = tmp_path / "ix"
    cmd = [sys.executable, "-m", "vnsearch", "--index", str(path), "index", str(src), "--id-field", "name", "-j", "2",
           "--batch-docs", "100"]
    # A shell's background job starts with SIGINT ignored, and Python then never raises
    # KeyboardInterrupt: give the child the default disposition, as a terminal would.
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert _wait_for_commit(path, proc)
    os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C reaches the whole process group
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "committed" in err and "Traceback" not in err
    kept = len(Index.open(path))
    assert 0 < kept < 800
    r = subprocess.run(cmd + ["--json"], capture_output=True, text=True)
    rep = json.loads(r.stdout)
    assert rep["unchanged"] == kept and rep["added"] == 800 - kept


def test_random_kills_then_rerun_is_exact(tmp_path):
    n = 1000
    src = _jsonl(tmp_path, n)
    path = tmp_path / "ix"
    script = ("import sys; from vnsearch import Index; from vnsearch.ingest.sources import FieldMap;"
              "ix = Index.open(sys.argv[1], create=True);"
              "ix.add_sources([sys.argv[2]], fields=FieldMap(id='name'), jobs=2, batch_docs=80)")
    rng = random.Random(7)
    for _ in range(4):
        proc = subprocess.Popen([sys.executable, "-c", script, str(path), str(src)], start_new_session=True)
        time.sleep(rng.uniform(0.5, 4.0))
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        if (path / "vnsearch.json").exists():
            ix = Index.open(path)
            assert len(ix) <= n
            ix.search("Việt Nam")
            assert not ix.check()
    ix = Index.open(path, create=True)
    ix.add_sources([str(src)], fields=FieldMap(id="name"), jobs=2)
    ix.reload()
    assert len(ix) == n


def test_search_while_another_process_indexes(tmp_path):
    path = tmp_path / "ix"
    ix = Index.open(path, create=True)
    ix.add([Document("first", "Đầu tiên", VI)])
    from rich.console import Console
    import io

    from vnsearch.cli.repl import Repl

    buf = io.StringIO()
    repl = Repl(ix, Console(file=buf, width=100))
    repl.handle("thủ đô")
    src = tmp_path / "more.jsonl"
    src.write_text("\n".join(json.dumps({"id": f"m{i}", "title": f"Thêm {i}", "text": VI}, ensure_ascii=False)
                             for i in range(300)), encoding="utf-8")
    proc = subprocess.Popen([sys.executable, "-m", "vnsearch", "--index", str(path), "index", str(src), "-q", "-j", "1"])
    while proc.poll() is None:
        repl.handle("thủ đô")  # keeps working during the run
    assert proc.returncode == 0
    repl.handle("thủ đô")
    assert "301 results" in buf.getvalue()


# -- queries --------------------------------------------------------------------
_syntax = st.sampled_from(['"', "(", ")", "[", "]", "{", "}", " TO ", " AND ", " OR ", " NOT ", "title:", "date:",
                           "id:", "^2", "~", "*", "?", ":", "'", " ", "\\", "date:>", "<", "hà nội", "ha noi"])


@pytest.fixture(scope="module")
def fuzz_index(tmp_path_factory):
    ix = Index.open(tmp_path_factory.mktemp("fz") / "ix", create=True)
    ix.add([Document(f"d{i}", f"Tiêu đề {i}", VI, date=None) for i in range(20)])
    return ix


@given(st.lists(st.one_of(st.text(max_size=10), _syntax), max_size=12).map("".join))
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_query_fuzz_results_or_query_error(fuzz_index, q):
    try:
        res = fuzz_index.search(q)
    except QueryError as e:
        assert 0 <= e.position <= len(q)
        return
    assert res.total >= len(res.hits)


def test_check_reads_inside_posting_blocks(tmp_path):
    """A block whose bytes are damaged (not just a short file) is reported by check, not skipped."""
    from vnsearch.engine.whoosh.packed import MAGIC

    path = tmp_path / "ix"
    ix = Index.open(path, create=True)
    ix.add([Document(f"d{i}", f"Tin {i}", VI + f" số {i}") for i in range(50)])
    ix.close()
    assert not Index.open(path).check()
    seg = next(p for p in path.iterdir() if p.suffix == ".seg")
    data = bytearray(seg.read_bytes())
    at = data.rfind(MAGIC) + len(MAGIC) + 4
    data[at : at + 4] = b"\xff\xff\x00\x00"  # the last block claims 65,535 postings
    seg.write_bytes(bytes(data))
    problems = Index.open(path).check()
    assert problems and "Traceback" not in problems[0]
    for m in re.finditer(re.escape(MAGIC), bytes(data)):  # every block: searches read them too
        data[m.end() + 4 : m.end() + 8] = b"\xff\xff\x00\x00"
    seg.write_bytes(bytes(data))
    with pytest.raises(IndexCorruptError, match="damaged"):
        Index.open(path).search("Hà Nội")


def _without_checksums(path, docs):
    """An index of `docs` as indexes before checksums were written: no sums, healthy."""
    ix = Index.open(path, create=True)
    ix.add(docs)
    ix.close()
    for sums in path.glob("*.sum"):
        sums.unlink()
    meta = json.loads((path / "vnsearch.json").read_text())
    (path / "vnsearch.json").write_text(json.dumps({**meta, "checksums": False}))
    assert not Index.open(path).check()
    return path


def test_damaged_packed_blocks_are_reported_without_checksums(tmp_path):
    """An index without checksum files (older ones had none): the packed lists' own checks find a
    block whose header no longer agrees with its runs, in `check` and in a search."""
    from vnsearch.engine.whoosh.packed import MAGIC

    path = _without_checksums(tmp_path / "ix", [Document(f"d{i}", f"Tin {i}", VI + f" số {i}") for i in range(50)])
    seg = next(p for p in path.iterdir() if p.suffix == ".seg")
    data = bytearray(seg.read_bytes())
    for m in re.finditer(re.escape(MAGIC), bytes(data)):
        data[m.end() + 4 : m.end() + 8] = b"\xff\xff\x00\x00"  # each block claims 65,535 postings
    seg.write_bytes(bytes(data))
    problems = Index.open(path).check()
    assert problems and "Traceback" not in problems[0] and "damaged posting block" in " ".join(problems)
    with pytest.raises(IndexCorruptError, match="damaged"):
        Index.open(path).search("Hà Nội")


def test_a_damaged_body_is_reported_without_checksums(tmp_path):
    """Schema 5 keeps each body compressed in a column of its own: `check` decompresses every one,
    so a damaged body is found even in an index without checksum files."""
    import zlib

    path = _without_checksums(tmp_path / "ix", [Document(f"d{i}", f"Tin {i}", f"Thân bài số {i}. " + VI * 3)
                                                 for i in range(20)])
    seg = next(p for p in path.iterdir() if p.suffix == ".seg")
    data = bytearray(seg.read_bytes())
    bodies = 0
    for m in re.finditer(rb"\x78[\x01\x5e\x9c\xda]", bytes(data)):  # zlib streams: keep the bodies'
        d = zlib.decompressobj()
        try:
            head = d.decompress(bytes(data[m.start() : m.start() + 4096]), 32)
        except zlib.error:
            continue
        if head.startswith("Thân bài số".encode()):
            data[m.start() + 12 : m.start() + 20] = b"\x00\xff" * 4
            bodies += 1
    assert bodies == 20
    seg.write_bytes(bytes(data))
    problems = Index.open(path).check()
    assert problems and "Traceback" not in problems[0] and "cannot read the index" in problems[0]
    with pytest.raises(IndexCorruptError, match="damaged"):
        Index.open(path).search("thân bài")  # snippets read the bodies
    assert Index.open(path).search("thân bài", highlight=False).total == 20  # results alone do not

"""Faults a tester or an unlucky user causes: killed runs, concurrent readers, damaged or crafted files."""

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from vnsearch import Document, Index
from vnsearch.errors import IndexNotFoundError

WORDS = ("Hà Nội thủ đô nước Cộng hòa Xã hội chủ nghĩa Việt Nam trường đại học lớn Đà Nẵng thành phố "
         "bờ biển đẹp người dân công nghệ thông tin phát triển kinh tế xã hội giáo dục bóng đá").split()


def synthetic_jsonl(path: Path, n: int, words: int = 400, seed: int = 1) -> Path:
    """`n` records of made-up Vietnamese text (no shared data needed), ids doc0..doc{n-1}."""
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8") as f:
        for i in range(n):
            text = " ".join(rng.choice(WORDS) for _ in range(words))
            f.write(json.dumps({"id": f"doc{i}", "title": f"Bài {i}", "text": text}, ensure_ascii=False) + "\n")
    return path


def _children(pid: int) -> list[int]:
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(d.name))
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="lists processes through /proc")
@pytest.mark.parametrize("shards", [1, 2])
def test_sigkill_of_the_main_process_leaves_no_worker_and_no_lock(tmp_path, shards):
    """Also with shards: each keeps what it committed, and the re-run adds exactly the rest."""
    n = 1500
    src = synthetic_jsonl(tmp_path / "a.jsonl", n)
    path = tmp_path / "ix"
    cmd = [sys.executable, "-m", "vnsearch", "--index", str(path), "index", str(src), "-j", "2",
           "--batch-docs", "100", "--shards", str(shards), "--quiet"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    workers: list[int] = []
    while time.time() < deadline and proc.poll() is None:
        workers = _children(proc.pid)
        if len(workers) >= 2 and path.exists() and any(p.name != "_MAIN_0.toc" for p in path.rglob("_MAIN_*.toc")):
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the run ended before it could be killed"
    workers = _children(proc.pid)
    assert workers
    proc.send_signal(signal.SIGKILL)  # the main process only, as kill -9 PID or the OOM killer does
    proc.wait()
    deadline = time.time() + 10
    while time.time() < deadline and any(_alive(w) for w in workers):
        time.sleep(0.1)
    assert not [w for w in workers if _alive(w)], "worker processes outlived the run"
    kept = len(Index.open(path))
    t0 = time.monotonic()
    r = subprocess.run(cmd[:-1] + ["--json", "--lock-timeout", "0"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    assert rep["unchanged"] == kept and rep["added"] == n - kept
    assert time.monotonic() - t0 < 120
    assert len(Index.open(path)) == n
    assert Index.open(path).shard_count == shards


# -- readers beside a writer ----------------------------------------------------------
COLOURS = ("xanh", "đỏ", "vàng")

UPDATER = r"""
import random, sys
from pathlib import Path
from vnsearch import Index
folder, path, rounds = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
rng = random.Random(5)
ix = Index.open(path)
for r in range(rounds):
    for f in sorted(folder.iterdir()):
        if rng.random() < 0.1:
            f.unlink()
        else:
            c = rng.choice(%r)
            f.write_text(f"Bài {f.stem} màu {c}\nNội dung số {r} của bài {f.stem} có màu {c} rất đẹp.\n", encoding="utf-8")
    for i in range(rng.randrange(3, 8)):
        c = rng.choice(%r)
        (folder / f"n{r}_{i}.txt").write_text(f"Bài n{r}_{i} màu {c}\nBài mới màu {c}.\n", encoding="utf-8")
    ix.add_sources([str(folder)], jobs=1, batch_docs=7)
""" % (COLOURS, COLOURS)


def _write_folder(folder: Path, n: int) -> None:
    folder.mkdir()
    for i in range(n):
        c = COLOURS[i % 3]
        (folder / f"d{i}.txt").write_text(f"Bài d{i} màu {c}\nNội dung của bài d{i} có màu {c}.\n", encoding="utf-8")


@pytest.mark.slow
def test_searchers_see_one_consistent_commit_while_a_writer_updates(tmp_path):
    import threading

    folder = tmp_path / "src"
    _write_folder(folder, 60)
    path = tmp_path / "ix"
    Index.open(path, create=True).add_sources([str(folder)], jobs=1)
    stop = threading.Event()
    problems: list[str] = []
    searches = [0]

    def searcher(colour: str, one_shot: bool = False) -> None:
        ix = Index.open(path)  # kept open across every commit of the update run
        while not stop.is_set():
            try:
                if one_shot:  # as a one-shot CLI search opens the index anew each time
                    ix = Index.open(path)
                res = ix.search(colour, limit=1000)
            except Exception as e:  # noqa: BLE001 - any error is a failure here
                problems.append(f"{type(e).__name__}: {e}")
                continue
            searches[0] += 1
            got = [h.id for h in res.hits]
            if len(got) != len(set(got)):
                problems.append(f"{colour}: a document twice")
            if res.total != len(res.hits):
                problems.append(f"{colour}: total {res.total} for {len(res.hits)} hits")
            for h in res.hits:
                if not h.title.endswith(f"màu {colour}"):
                    problems.append(f"{colour}: wrong hit {h.id} titled {h.title!r}")

    threads = [threading.Thread(target=searcher, args=(c,)) for c in COLOURS + ("xanh",)]
    threads.append(threading.Thread(target=searcher, args=("vàng", True)))
    for t in threads:
        t.start()
    try:
        r = subprocess.run([sys.executable, "-c", UPDATER, str(folder), str(path), "6"], capture_output=True,
                           text=True, timeout=600)
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert r.returncode == 0, r.stderr
    assert searches[0] > 20
    assert not problems, problems[:10]


def test_an_open_index_sees_exactly_the_current_commit(tmp_path):
    folder = tmp_path / "src"
    _write_folder(folder, 30)
    path = tmp_path / "ix"
    ix = Index.open(path, create=True)
    ix.add_sources([str(folder)], jobs=1)
    assert ix.search("màu").total == 30
    other = "from vnsearch import Index; import sys; Index.open(sys.argv[1]).add_sources([sys.argv[2]], jobs=1)"
    for f in folder.iterdir():  # another process updates every document
        f.write_text(f.read_text(encoding="utf-8") + "Thêm một dòng.\n", encoding="utf-8")
    subprocess.run([sys.executable, "-c", other, str(path), str(folder)], check=True)
    res = ix.search("màu", limit=100)
    assert res.total == 30 and len({h.id for h in res.hits}) == 30
    assert ix.stats()["documents"] == 30 and len(ix) == 30
    (folder / "d0.txt").unlink()  # ... deletes one
    subprocess.run([sys.executable, "-c", other, str(path), str(folder)], check=True)
    assert ix.get("d0.txt") is None
    assert ix.search("d0").total == 0 and len(ix) == 29
    for f in list(folder.iterdir())[10:]:  # ... and rebuilds it with fewer
        f.unlink()
    rebuild = ("from vnsearch import Index; from vnsearch.ingest.sources import open_source; import sys; "
               "Index.rebuild(sys.argv[1], [open_source(sys.argv[2])], jobs=1)")
    subprocess.run([sys.executable, "-c", rebuild, str(path), str(folder)], check=True)
    assert len(ix) == 10 and ix.stats()["documents"] == 10
    assert ix.search("màu", limit=100).total == 10


# -- check ------------------------------------------------------------------------------
def test_check_finds_no_damage_after_updates_and_deletions(tmp_path):
    folder = tmp_path / "src"
    _write_folder(folder, 300)
    ix = Index.open(tmp_path / "ix", create=True)
    ix.add_sources([str(folder)], jobs=2)  # two chunks: terms have two blocks, the first may be all deleted
    for i in (0, 1, 2, 3, 150):
        p = folder / f"d{i}.txt"
        p.write_text(p.read_text(encoding="utf-8") + "Thêm một dòng.\n", encoding="utf-8")
    for i in (4, 5, 6):
        (folder / f"d{i}.txt").unlink()
    rep = ix.add_sources([str(folder)], jobs=1)
    assert (rep.updated, rep.removed) == (5, 3)
    assert ix.check() == []


# -- rebuild ----------------------------------------------------------------------------
@pytest.mark.slow
def test_rebuild_builds_aside_and_swaps_in_one_step(tmp_path):
    old = synthetic_jsonl(tmp_path / "old.jsonl", 50, words=30, seed=2)
    new = synthetic_jsonl(tmp_path / "new.jsonl", 1200, words=300, seed=3)
    path = tmp_path / "ix"
    ix = Index.open(path, create=True)
    ix.add_sources([str(old)], jobs=1)
    cmd = [sys.executable, "-m", "vnsearch", "--index", str(path), "index", str(new), "--rebuild", "-j", "1",
           "--batch-docs", "50", "--quiet"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    staging = path / ".vnsearch-rebuild"

    def staged() -> int:
        """Documents committed in the staging index so far (0 while it is being created: its table
        of contents is written before its vnsearch.json)."""
        try:
            return Index.open(staging).stats()["documents"]
        except IndexNotFoundError:
            return 0

    deadline = time.time() + 120
    while time.time() < deadline and not (staging.exists() and len(list(staging.glob("_MAIN_*.toc")))
                                          and staged() >= 100):
        time.sleep(0.1)
    # mid-rebuild: the old index answers, whole
    assert len(ix) == 50 and ix.search("Hà Nội").total > 0
    r = subprocess.run([sys.executable, "-m", "vnsearch", "--index", str(path), "search", "Hà Nội", "--json"],
                       capture_output=True, text=True)
    assert r.returncode == 0 and json.loads(r.stdout)["total"] > 0
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert len(ix) == 50 and len(Index.open(path)) == 50  # a killed rebuild keeps the old index
    r = subprocess.run(cmd[:-1] + ["--json"], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    assert rep["unchanged"] > 0 and rep["unchanged"] + rep["added"] == 1200  # resumed, not redone
    assert len(ix) == 1200 and len(Index.open(path)) == 1200
    assert not staging.exists()
    assert sorted(p.suffix for p in path.glob("*.toc")) == [".toc"]  # old generations cleaned up


def test_rebuild_touches_only_vnsearch_files(tmp_path):
    folder = tmp_path / "docs"
    _write_folder(folder, 3)
    (folder / "notes").mkdir()
    (folder / "notes" / "keep.md").write_text("giữ lại", encoding="utf-8")
    from click.testing import CliRunner
    from vnsearch.cli import main

    r = CliRunner().invoke(main, ["--index", str(folder), "index", str(folder), "--rebuild"])
    assert r.exit_code == 2 and "refusing to rebuild" in r.output and "Traceback" not in r.output
    assert sorted(p.name for p in folder.rglob("*")) == ["d0.txt", "d1.txt", "d2.txt", "keep.md", "notes"]
    path = tmp_path / "ix"
    assert CliRunner().invoke(main, ["--index", str(path), "index", str(folder)]).exit_code == 0
    (path / "mine.txt").write_text("x")
    r = CliRunner().invoke(main, ["--index", str(path), "index", str(folder), "--rebuild"])
    assert r.exit_code == 2 and "mine.txt" in r.output
    assert (path / "mine.txt").exists() and len(Index.open(path)) == 4  # d0-d2 and notes/keep.md


def test_rebuild_replaces_an_index_that_cannot_be_opened(tmp_path):
    from vnsearch.engine.whoosh.storage import read_meta, write_meta

    folder = tmp_path / "src"
    _write_folder(folder, 5)
    path = tmp_path / "ix"
    Index.open(path, create=True).add_sources([str(folder)], jobs=1)
    meta = read_meta(path)
    write_meta(path, {**meta, "schema_version": -1})
    from vnsearch.ingest.sources import open_source

    rep = Index.rebuild(path, [open_source(str(folder))], jobs=1)
    assert rep.added == 5 and len(Index.open(path)) == 5


# -- index files are data ------------------------------------------------------------------
def _plant_toc(path: Path, payload) -> Path:
    """A table of contents one generation ahead whose pickled schema is `payload`."""
    from whoosh import fields
    from whoosh.filedb.filestore import FileStorage
    from whoosh.index import TOC

    class Crafted(fields.Schema):
        def __reduce__(self):
            return payload

    st = FileStorage(str(path))
    gen = TOC._latest_generation(st, "MAIN")
    old = TOC.read(st, "MAIN", gen)
    crafted = Crafted()
    TOC(crafted, old.segments, gen + 1).write(st, "MAIN")
    return path / f"_MAIN_{gen + 1}.toc"


@pytest.mark.parametrize("command", [["search", "Hà Nội"], ["stats"], ["check"], ["repl"]])
def test_a_crafted_index_file_runs_no_code(tmp_path, command):
    from click.testing import CliRunner
    from vnsearch.cli import main

    folder = tmp_path / "src"
    _write_folder(folder, 3)
    path = tmp_path / "ix"
    Index.open(path, create=True).add_sources([str(folder)], jobs=1)
    marker = tmp_path / "PWNED"
    toc = _plant_toc(path, (os.system, (f"touch {marker}",)))
    r = CliRunner().invoke(main, ["--index", str(path)] + command, input="hà nội\n")
    assert not marker.exists()
    assert r.exit_code == 2, r.output
    assert r.output.count("\n") == 1 and toc.name in r.output and ".system" in r.output


def test_crafted_pickles_inside_segments_are_refused():
    import pickle

    from vnsearch.engine.whoosh.safepickle import UnsafeIndexFile, loads

    assert loads(pickle.dumps({"title": "Hà Nội", "n": [1, 2.5, None]})) == {"title": "Hà Nội", "n": [1, 2.5, None]}
    for payload in ((os.system, ("true",)), (eval, ("1",)), (subprocess.call, (["true"],))):
        class Evil:
            def __reduce__(self, p=payload):
                return p

        with pytest.raises(UnsafeIndexFile):
            loads(pickle.dumps(Evil()))


# -- damaged bytes ---------------------------------------------------------------------------
@pytest.mark.slow
def test_damaged_bytes_are_reported_never_answered_from(tmp_path):
    import shutil

    from click.testing import CliRunner
    from vnsearch.cli import main

    src = synthetic_jsonl(tmp_path / "a.jsonl", 300, words=60)
    good = tmp_path / "good"
    ix = Index.open(good, create=True)
    ix.add_sources([str(src)], jobs=1, batch_docs=150)  # two commits, folded into one segment
    ix.delete(["doc7", "doc200"])
    runner = CliRunner()

    def cli(path, *args):
        return runner.invoke(main, ["--index", str(path), *args])

    queries = (["search", "Hà Nội", "--json", "--limit", "50"], ["search", "bóng đá giáo dục", "--json"],
               ["stats", "--json"])
    def answer(path, q):
        r = cli(path, *q)
        if r.exit_code in (0, 1):
            out = json.loads(r.output)
            out.pop("path", None), out.pop("took_ms", None)
            return r, out
        return r, None

    baseline = [answer(good, q)[1] for q in queries]
    files = sorted(p.name for p in good.iterdir() if p.name.startswith(("MAIN_", "_MAIN_")) and p.stat().st_size)
    rng = random.Random(11)
    for trial in range(36):
        bad = tmp_path / f"bad{trial}"
        shutil.copytree(good, bad)
        name = files[trial % len(files)]
        target = bad / name
        data = bytearray(target.read_bytes())
        if trial % 6 == 5:
            data = data[: rng.randrange(len(data))]  # cut short
        else:
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        target.write_bytes(bytes(data))
        r = cli(bad, "check")
        assert r.exit_code == 2 and "damaged" in r.output and "internal error" not in r.output, (name, r.output)
        for q, want in zip(queries, baseline):
            r, got = answer(bad, q)
            assert "internal error" not in r.output and "Traceback" not in r.output, (name, q, r.output)
            assert got == want or (r.exit_code == 2 and "damaged" in r.output), (name, q, r.output)
        r = cli(bad, "optimize")  # a merge reads the damaged bytes too: one line, the index as it was
        assert "internal error" not in r.output and "Traceback" not in r.output, (name, r.output)
        assert r.exit_code == 0 or (r.exit_code == 2 and "damaged" in r.output), (name, r.output)
        shutil.rmtree(bad)


# -- what is read from folders, and what is never removed -----------------------------------
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_only_regular_files_are_read_from_folders(tmp_path):
    folder = tmp_path / "src"
    _write_folder(folder, 2)
    os.mkfifo(folder / "b.txt")  # a reader of it would wait forever
    os.symlink("/dev/zero", folder / "zero.txt")
    import socket

    sock = socket.socket(socket.AF_UNIX)
    try:
        sock.bind(str(folder / "s.txt"))
    except OSError:
        pass
    ix = Index.open(tmp_path / "ix", create=True)
    rep = ix.add_sources([str(folder)], jobs=1)
    sock.close()
    why = {s.where.rstrip("/").rsplit("/", 1)[-1]: s.reason for s in rep.skipped}
    assert why["b.txt"] == "not a regular file (FIFO)"
    assert why["zero.txt"] == "not a regular file (character device)"
    if (folder / "s.txt").exists():
        assert why["s.txt"] == "not a regular file (socket)"
    assert rep.added == 2


def test_a_fifo_swapped_in_after_listing_does_not_hang(tmp_path):
    from vnsearch.ingest.sources import NotRegularFile, _open_regular

    if not hasattr(os, "mkfifo"):
        pytest.skip("needs FIFOs")
    os.mkfifo(tmp_path / "late.txt")
    with pytest.raises(NotRegularFile):
        _open_regular(tmp_path / "late.txt")


def test_nothing_is_removed_because_it_could_not_be_read(tmp_path, monkeypatch):
    folder = tmp_path / "src"
    folder.mkdir()
    (folder / "sub").mkdir()
    for i in range(4):
        (folder / f"top{i}.txt").write_text(f"Bài {i}\nHà Nội {i}", encoding="utf-8")
        (folder / "sub" / f"in{i}.txt").write_text(f"Bài {i}\nĐà Nẵng {i}", encoding="utf-8")
    ix = Index.open(tmp_path / "ix", create=True)
    assert ix.add_sources([str(folder)], jobs=1).added == 8
    (folder / "top3.txt").unlink()  # really gone: removed
    real_scandir, real_read = os.scandir, __import__("vnsearch.ingest.sources", fromlist=["x"])._open_regular
    import vnsearch.ingest.sources as sources

    def scandir(path="."):  # tests run as root, where chmod 000 stops nothing
        if Path(path).name == "sub":
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    def read(p):
        if p.name == "top0.txt":
            raise PermissionError(13, "Permission denied")
        return real_read(p)

    monkeypatch.setattr(os, "scandir", scandir)
    monkeypatch.setattr(sources, "_open_regular", read)
    rep = ix.add_sources([str(folder)], jobs=1)
    assert rep.removed == 1 and rep.kept == 5
    why = {s.where.rstrip("/").rsplit("/", 1)[-1]: s.reason for s in rep.skipped}
    assert why["sub"].startswith("folder could not be read (permission denied)")
    assert why["top0.txt"] == "permission denied"
    root = str(folder.resolve())
    assert len(ix) == 7 and ix.get(f"{root}/sub/in1.txt") is not None and ix.get(f"{root}/top0.txt") is not None
    from click.testing import CliRunner
    from vnsearch.cli import main

    r = CliRunner().invoke(main, ["--index", str(tmp_path / "ix"), "index", str(folder)])
    assert "kept" in r.output and "sub/" in r.output and r.exit_code == 0
    monkeypatch.setattr(os, "scandir", real_scandir)
    monkeypatch.setattr(sources, "_open_regular", real_read)
    rep = ix.add_sources([str(folder)], jobs=1)  # readable again: nothing lost, nothing to redo
    assert (rep.unchanged, rep.removed, rep.kept) == (7, 0, 0)


def test_a_source_folder_that_cannot_be_listed_keeps_all_its_documents(tmp_path, monkeypatch):
    folder = tmp_path / "src"
    _write_folder(folder, 5)
    ix = Index.open(tmp_path / "ix", create=True)
    ix.add_sources([str(folder)], jobs=1)
    real = os.scandir

    def scandir(path="."):
        if Path(path) == folder:
            raise OSError(5, "Input/output error", str(path))  # a network drive gone for a moment
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    rep = ix.add_sources([str(folder)], jobs=1)
    assert rep.removed == 0 and rep.kept == 5 and len(ix) == 5


def test_bad_records_are_counted_skips_never_the_end_of_a_run(tmp_path):
    src = tmp_path / "a.jsonl"
    deep = "[" * 5000 + "]" * 5000
    lines = [
        '{"id": "sur\\ud800", "title": "Tiêu đề", "text": "Hà Nội \\udc80 mùa thu"}',
        '{"id": "ok", "title": "Bình thường", "text": "Đà Nẵng"}',
        '{"id": "deep", "text": ' + deep + '}',
        deep,
        '"just a string"',
        "{}",
        '{"id": "blank", "title": "", "text": "   "}',
        '{"id": "when", "text": "Ngày không rõ", "date": "hôm qua"}',
    ]
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    ix = Index.open(tmp_path / "ix", create=True)
    rep = ix.add_sources([str(src)], jobs=1)
    why = {s.where.rstrip("/").rsplit("/", 1)[-1]: s.reason for s in rep.skipped}
    assert why["a.jsonl:3"].startswith("malformed JSON") and why["a.jsonl:4"].startswith("malformed JSON")
    assert why["a.jsonl:5"] == "not a JSON object" and why["a.jsonl:6"] == "no 'text' field"
    assert why["a.jsonl:7"] == "empty record"
    assert rep.added == 3
    assert ix.get("sur\\ud800")["body"] == "Hà Nội \ufffd mùa thu"
    assert [n.where for n in rep.notes] == ["when"] and "hôm qua" in rep.notes[0].reason
    assert ix.get("when")["date"] is None
    assert ix.add_sources([str(src)], jobs=1).unchanged == 3  # and a re-run agrees


@pytest.mark.skipif(sys.platform == "darwin", reason="macOS refuses file names that are not UTF-8")
def test_file_names_that_are_not_utf8(tmp_path):
    folder = tmp_path / "src"
    folder.mkdir()
    for raw in (b"a\xff.txt", b"a\xfe.txt", "bình thường.txt".encode()):
        with open(os.path.join(os.fsencode(folder), raw), "w", encoding="utf-8") as f:
            f.write("Tiêu đề\nHà Nội")
    ix = Index.open(tmp_path / "ix", create=True)
    rep = ix.add_sources([str(folder)], jobs=1)
    assert rep.added == 3 and not rep.skipped
    ids = sorted(h.id.rsplit("/", 1)[-1] for h in ix.search("Hà Nội").hits)
    assert ids == ["a\\xfe.txt", "a\\xff.txt", "bình thường.txt"]
    assert ix.add_sources([str(folder)], jobs=1).unchanged == 3


# -- the API and the CLI under misuse ---------------------------------------------------------
@pytest.fixture
def dated(tmp_path):
    from datetime import date, datetime

    ix = Index.open(tmp_path / "ix", create=True)
    ix.add([Document("a", "Tin Hà Nội", "Hà Nội mùa thu", date="2017-02-10"),
            Document("b", "Tin Hà Nội", "Hà Nội mùa đông", date=date(2017, 12, 31)),
            Document("c", "Tin Hà Nội", "Hà Nội mùa xuân", date=datetime(2018, 1, 1, 8, 30))])
    return ix


def test_the_api_takes_the_clis_date_forms(dated):
    from datetime import date

    def ids(**kw):
        return sorted(h.id for h in dated.search("Hà Nội", **kw).hits)

    assert ids(since="2017-02") == ["a", "b", "c"] and ids(since="2017-03") == ["b", "c"]
    assert ids(until="2017") == ["a", "b"] and ids(until="2017-02") == ["a"] and ids(until="2017-12-31") == ["a", "b"]
    assert ids(since=date(2018, 1, 1)) == ["c"]
    assert ids(until=date(2018, 1, 1)) == ["a", "b", "c"]  # a date means all of that day
    assert dated.get("b")["date"].year == 2017


@pytest.mark.parametrize("kw", [dict(since="2017-13"), dict(until="hôm qua"), dict(limit=-1), dict(limit="5"),
                                dict(page=0), dict(sort="relevance"), dict(filters={"body": "x"})])
def test_the_api_refuses_bad_arguments_with_one_line(dated, kw):
    from vnsearch.errors import SearchError

    with pytest.raises(SearchError) as e:
        dated.search("Hà Nội", **kw)
    assert "\n" not in str(e.value)


def test_bad_documents_are_refused_with_one_line(tmp_path):
    from vnsearch.errors import VnsearchError

    for kw in (dict(id="x", title="t", body="b", date="31/02/2020"), dict(id="", title="t", body="b"),
               dict(id="x", title=["t"], body="b")):
        with pytest.raises(VnsearchError) as e:
            Document(**kw)
        assert "\n" not in str(e.value)


def test_limit_zero_counts_without_hits(dated):
    res = dated.search("Hà Nội", limit=0)
    assert res.total == 3 and res.hits == []


def test_a_bug_outside_index_reading_is_not_called_damage(dated, monkeypatch):
    import vnsearch.index as index_module
    from click.testing import CliRunner
    from vnsearch.cli import main

    def broken(*a, **k):
        return {}["no such key"]

    monkeypatch.setattr(index_module, "fragments", broken)
    with pytest.raises(KeyError):
        dated.search("Hà Nội")
    r = CliRunner().invoke(main, ["--index", str(dated.path), "search", "Hà Nội"])
    assert r.exit_code == 2 and "internal error" in r.output and "report" in r.output and "damaged" not in r.output


@pytest.mark.parametrize("args", [["search", "Hà Nội", "--jsonl"], ["search", "Hà Nội"], ["repl"]])
def test_a_closed_pipe_ends_quietly(dated, args):
    proc = subprocess.Popen([sys.executable, "-m", "vnsearch", "--index", str(dated.path), *args, "--limit", "3"]
                            if args[0] == "search" else [sys.executable, "-m", "vnsearch", "--index", str(dated.path),
                                                         *args],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # the reader is gone before the first line
    _, err = proc.communicate(("Hà Nội\n" * 200).encode(), timeout=60)
    assert proc.returncode == 0, err
    assert err == b""


# -- what reaches the terminal -----------------------------------------------------------------
HOSTILE = ("Tin \x1b[2J\x1b]8;;http://evil.example/\x07Hà Nội\x1b]8;;\x07 \u202efdp.exe\b\b\r\x9b31m "
           "[bold red]đỏ[/] [/]")


@pytest.fixture
def hostile(tmp_path):
    ix = Index.open(tmp_path / "ix", create=True)
    ix.add([Document("evil\x1b[31m\u202e.txt", HOSTILE, "Hà Nội " + HOSTILE + " mùa thu")])
    return ix


def _no_terminal_controls(text: str) -> None:
    bad = [c for c in text if (ord(c) < 0x20 and c not in "\n\t") or 0x7F <= ord(c) <= 0x9F
           or c in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"]
    assert not bad, [hex(ord(c)) for c in bad]


@pytest.mark.parametrize("args", [["search", "Hà Nội"], ["search", "Hà Nội", "--json"],
                                  ["search", "Hà Nội", "--jsonl"], ["stats"], ["search", "zzzz\x1b[2J"]])
def test_document_text_never_acts_on_the_terminal(hostile, args):
    from click.testing import CliRunner
    from vnsearch.cli import main

    r = CliRunner().invoke(main, ["--index", str(hostile.path), *args])
    assert r.exception is None or isinstance(r.exception, SystemExit), r.output
    _no_terminal_controls(r.output)
    if args[-1] in ("--json", "--jsonl"):
        hit = json.loads(r.output.splitlines()[0])
        hit = hit["hits"][0] if "hits" in hit else hit
        assert hit["title"] == HOSTILE  # JSON keeps the text exactly, escaped
    elif args == ["search", "Hà Nội"]:
        assert "đỏ[/] [/]" in r.output and "[bold" in r.output  # markup shown, not obeyed


def test_the_repl_and_pager_show_document_text_harmlessly(hostile):
    import io

    from rich.console import Console
    from vnsearch.cli.repl import Repl

    out = io.StringIO()
    repl = Repl(hostile, Console(file=out, force_terminal=True, width=200), pager=False)
    for line in ("Hà Nội", ":open 1", "date:x[/]", ":foo[/]", "date:[2020]", ":json", "Hà Nội"):
        assert repl.handle(line)
    text = out.getvalue()
    import re

    _no_terminal_controls(re.sub(r"\x1b\[[0-9;]*m", "", text))  # rich's own colours aside
    shown = re.sub(r"\x1b\[[0-9;]*m", "", text)
    assert "unknown command :foo[/]" in shown and "a range needs the form [a TO b]" in shown


def test_highlights_survive_the_neutralising(hostile):
    from vnsearch.cli.render import snippet
    from vnsearch.cli.terminal import for_terminal

    hit = hostile.search("Hà Nội").hits[0]
    text, spans = snippet(hit.fragments)
    shown = for_terminal(text)
    assert len(shown) == len(text) and spans
    assert all(shown[a:b].lower() in ("hà", "nội", "hà nội") for a, b in spans)


def test_markup_in_names_and_messages_is_shown_not_obeyed(tmp_path):
    from click.testing import CliRunner
    from vnsearch.cli import main

    runner = CliRunner()
    path = tmp_path / "ix"
    (tmp_path / "x[").mkdir()
    for name in ("[bold red]red.jsonl", "x[/].jsonl"):
        src = tmp_path / name
        src.write_text(json.dumps({"id": name, "text": "Hà Nội"}) + "\n", encoding="utf-8")
        r = runner.invoke(main, ["--index", str(path), "index", str(src)])
        assert r.exit_code == 0, r.output
    r = runner.invoke(main, ["--index", str(path), "stats"], env={"COLUMNS": "400"})
    assert r.exit_code == 0 and "[bold red]red.jsonl" in r.output and "x[/].jsonl" in r.output
    queries, qrels = tmp_path / "q.tsv", tmp_path / "qrels.txt"
    queries.write_text("q[/]1\tHà Nội\n", encoding="utf-8")
    qrels.write_text("q[/]1 0 x 1\n", encoding="utf-8")
    r = runner.invoke(main, ["--index", str(path), "eval", "--queries", str(queries), "--qrels", str(qrels)])
    assert r.exit_code == 0 and "Traceback" not in r.output, r.output
    r = runner.invoke(main, ["--index", str(path), "search", "date:[2020]"])
    assert r.exit_code == 2 and "a range needs the form [a TO b]" in r.output


def test_json_output_is_always_json(tmp_path):
    from click.testing import CliRunner
    from vnsearch.cli import main

    ix = Index.open(tmp_path / "ix", create=True)
    ix.add([Document("a", "Hà Nội", "Hà Nội mùa thu")])
    r = CliRunner().invoke(main, ["--index", str(ix.path), "search", "Hà^" + "9" * 400, "--json"])
    assert r.exit_code == 0, r.output  # the boost overflows to an infinite score
    json.loads(r.output, parse_constant=lambda c: pytest.fail(f"non-JSON number {c}"))


def test_a_history_file_that_cannot_be_used_is_one_warning(tmp_path, monkeypatch):
    import io

    from prompt_toolkit.input import create_pipe_input
    from prompt_toolkit.output import DummyOutput
    from rich.console import Console
    from vnsearch.cli.repl import Repl

    ix = Index.open(tmp_path / "ix", create=True)
    ix.add([Document("a", "Hà Nội", "Hà Nội mùa thu")])
    for target in (tmp_path, tmp_path / "file" / "below-a-file"):
        (tmp_path / "file").write_text("x")
        monkeypatch.setenv("VNSEARCH_HISTORY", str(target))
        out = io.StringIO()
        repl = Repl(ix, Console(file=out, width=200))
        with create_pipe_input() as inp:
            inp.send_text("Hà Nội\rmùa thu\rHà Nội\r")
            inp.close()
            repl.interactive(repl.session(input=inp, output=DummyOutput()))
        text = out.getvalue()
        assert text.count("history is not saved") == 1 and "Traceback" not in text
        assert text.count("1 result") == 3


def test_a_full_disk_says_what_was_kept_and_leaves_no_partial_files(tmp_path, monkeypatch):
    import errno

    from click.testing import CliRunner
    from vnsearch.engine.whoosh.bulkwriter import BulkWriter
    from vnsearch.cli import main

    src = synthetic_jsonl(tmp_path / "a.jsonl", 50, words=20)
    path = tmp_path / "ix"
    real = BulkWriter._write_field
    calls = [0]

    def write_field(self, fname):
        calls[0] += 1
        if calls[0] > 12:  # the third batch's segment: two were committed before
            self._postfile_stub = real(self, fname)
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, fname)

    monkeypatch.setattr(BulkWriter, "_write_field", write_field)
    r = CliRunner().invoke(main, ["--index", str(path), "index", str(src), "-j", "1", "--batch-docs", "10"])
    assert r.exit_code == 2 and r.output.count("\n") == 1, r.output
    assert "disk holding the index is full" in r.output and "20 documents" in r.output
    ix = Index.open(path)
    assert len(ix) == 20 and ix.check() == []
    from whoosh.filedb.filestore import FileStorage
    from whoosh.index import TOC

    named = {s.segment_id() for s in TOC.read(FileStorage(str(path)), "MAIN").segments}
    assert {p.name.split(".")[0] for p in path.glob("MAIN_*.*") if not p.name.startswith("MAIN_WRITELOCK")} == named
    monkeypatch.setattr(BulkWriter, "_write_field", real)
    rep = ix.add_sources([str(src)], jobs=1)
    assert (rep.unchanged, rep.added) == (20, 30)


def test_an_index_folder_that_cannot_be_created_is_one_line(tmp_path):
    from click.testing import CliRunner
    from vnsearch.cli import main

    (tmp_path / "file").write_text("x")
    folder = tmp_path / "src"
    _write_folder(folder, 1)
    r = CliRunner().invoke(main, ["--index", str(tmp_path / "file" / "ix"), "index", str(folder)])
    assert r.exit_code == 2 and r.output.count("\n") == 1 and "internal error" not in r.output, r.output
    assert "cannot create the index folder" in r.output
    r = CliRunner().invoke(main, ["--index", str(tmp_path / "file"), "index", str(folder)])
    assert r.exit_code == 2 and "is a file" in r.output and "internal error" not in r.output


def test_phrases_hold_numbers_with_separators_and_one_word_phrases_take_boosts(tmp_path):
    ix = Index.open(tmp_path / "ix", create=True)
    ix.add([Document("a", "Tin", "Nhà nông nuôi 1.000 con vịt, giá tăng 29,6% so với năm trước."),
            Document("b", "Tin khác", "Hà Nội có 1 con vịt và 000 con gà.")])
    assert [h.id for h in ix.search('"1.000 con vịt"').hits] == ["a"]
    assert [h.id for h in ix.search('"tăng 29,6%"').hits] == ["a"]
    for phrase in ('"vịt"', '"Hà Nội"'):
        plain = {h.id: h.score for h in ix.search(phrase).hits}
        boosted = {h.id: h.score for h in ix.search(phrase + "^3").hits}
        assert plain and boosted.keys() == plain.keys()
        assert all(boosted[k] == pytest.approx(3 * plain[k]) for k in plain)


def test_an_index_run_over_damaged_columns_says_rebuild(tmp_path):
    from click.testing import CliRunner
    from vnsearch.cli import main

    folder = tmp_path / "src"
    _write_folder(folder, 20)
    path = tmp_path / "ix"
    Index.open(path, create=True).add_sources([str(folder)], jobs=1)
    seg = next(path.glob("MAIN_*.seg"))
    data = bytearray(seg.read_bytes())
    data[len(data) - 200 : len(data) - 100] = bytes(100)  # the per-document columns sit at the end
    seg.write_bytes(bytes(data))
    r = CliRunner().invoke(main, ["--index", str(path), "index", str(folder)])
    assert r.exit_code == 2 and r.output.count("\n") == 1 and "rebuild" in r.output, r.output
    r = CliRunner().invoke(main, ["--index", str(path), "index", str(folder), "--rebuild"])
    assert r.exit_code == 0 and len(Index.open(path)) == 20 and Index.open(path).check() == []


def test_a_plain_script_without_a_main_guard_can_index_with_workers(tmp_path):
    script = tmp_path / "plain.py"  # no `if __name__ == "__main__":`, as people write scripts
    script.write_text(
        "import sys\nfrom vnsearch import Document, Index\n"
        "ix = Index.open(sys.argv[1], create=True)\n"
        "ix.add([Document(f'd{i}', 'Tin', 'Hà Nội mùa thu số %d' % i) for i in range(300)], jobs=2)\n"
        "print(len(ix))\n", encoding="utf-8")
    r = subprocess.run([sys.executable, str(script), str(tmp_path / "ix")], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.strip() == "300"


def test_a_creation_killed_before_its_metadata_is_redone_and_sealed(tmp_path):
    from vnsearch.engine.whoosh import storage

    path = tmp_path / "ix"
    storage.create(path)
    assert (path / "_MAIN_0.toc.sum").exists()  # the first table of contents has its checksums
    (path / "vnsearch.json").unlink()  # as if killed between the two
    ix = Index.open(path, create=True)
    ix.add([Document("a", "Tin", "Hà Nội")])
    assert len(ix) == 1 and not ix.check()


def test_a_worker_that_dies_is_one_line_and_a_rerun_finishes(tmp_path, monkeypatch):
    """A worker process killed (or crashing inside a C reader) breaks the pool: the run stops with
    one line naming the files in flight, keeps what it committed, and the same run finishes."""
    import signal as sig
    import threading

    folder = tmp_path / "docs"
    folder.mkdir()
    for i in range(300):
        (folder / f"a{i:03d}.txt").write_text(f"Bài {i}\n" + "Hà Nội mùa thu, phố cổ và hồ Gươm. " * 200,
                                             encoding="utf-8")
    ix = Index.open(tmp_path / "ix", create=True)
    import multiprocessing

    killed = []

    def killer():
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not killed:
            kids = multiprocessing.active_children()
            if kids:
                time.sleep(0.3)
                os.kill(kids[0].pid, sig.SIGKILL)
                killed.append(kids[0].pid)
            time.sleep(0.05)

    t = threading.Thread(target=killer, daemon=True)
    t.start()
    from vnsearch.errors import IndexWriteError

    try:
        rep = ix.add_sources([str(folder)], jobs=2, batch_docs=50)
        first = rep.indexed
    except IndexWriteError as e:
        assert "a worker process died" in str(e) and "run the same command again" in str(e).lower()
        first = None
    t.join(5)
    rep = ix.add_sources([str(folder)], jobs=2, batch_docs=50)
    assert killed and first is None  # the run was under way when its worker died
    assert len(ix) == 300 and rep.indexed + rep.unchanged == 300

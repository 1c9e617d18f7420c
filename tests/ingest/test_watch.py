"""Watch mode: files created, changed, renamed and deleted while watching reach the index."""

import threading
import time

import pytest

from vnsearch import Index
from vnsearch.ingest.sources import open_source
from vnsearch.ingest.watch import watch


@pytest.fixture
def watching(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.txt").write_text("Bài A\nĐà Nẵng mưa to", encoding="utf-8")
    ix = Index.open(tmp_path / "ix", create=True)
    src = open_source(str(folder))
    ix.add_from([src], jobs=1)
    batches, stop, ready = [], threading.Event(), threading.Event()
    t = threading.Thread(target=watch, args=(ix, [src]),
                         kwargs=dict(on_batch=batches.append, stop=stop, debounce_ms=200, ready=ready.set),
                         daemon=True)
    t.start()
    ready.wait(10)
    time.sleep(0.5)  # the watcher is set up a moment after it says so
    reader = Index.open(ix.path)  # searching from elsewhere (a REPL), as users do while it watches
    yield folder, reader, batches
    stop.set()
    t.join(10)
    assert not t.is_alive()


def wait_for(check, timeout=15.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if check():
            return True
        time.sleep(0.1)
    return False


def total(ix, q):
    ix.reload()
    return ix.search(q).total


def test_created_changed_renamed_deleted(watching):
    folder, ix, batches = watching
    (folder / "b.txt").write_text("Bài B\nHuế nắng đẹp", encoding="utf-8")
    assert wait_for(lambda: total(ix, "Huế nắng") == 1)
    (folder / "a.txt").write_text("Bài A\nĐà Nẵng trời quang", encoding="utf-8")
    assert wait_for(lambda: total(ix, "trời quang") == 1 and total(ix, "mưa to") == 0)
    (folder / "b.txt").rename(folder / "c.txt")
    assert wait_for(lambda: {h.id.rsplit("/", 1)[-1] for h in (ix.reload() or ix.search("Huế").hits)} == {"c.txt"})

    sub = folder / "moi"
    sub.mkdir()
    (sub / "d.txt").write_text("Bài D\nCần Thơ", encoding="utf-8")
    assert wait_for(lambda: total(ix, "Cần Thơ") == 1), batches
    (folder / "a.txt").unlink()
    assert wait_for(lambda: total(ix, "trời quang") == 0)
    (folder / ".hidden.txt").write_text("Ẩn\nĐà Lạt", encoding="utf-8")
    (folder / "e.txt~").write_text("Sao lưu\nĐà Lạt", encoding="utf-8")
    time.sleep(1.0)
    assert total(ix, '"Đà Lạt"') == 0
    assert len(Index.open(ix.path)) == 2 and batches and all(not b.report.interrupted for b in batches)


def test_a_file_that_vanishes_is_never_an_error(watching):
    folder, ix, batches = watching
    for i in range(20):  # written and deleted before the burst is indexed
        p = folder / f"tmp{i}.txt"
        p.write_text(f"Tạm {i}\nNội dung tạm", encoding="utf-8")
        p.unlink()
    (folder / "keep.txt").write_text("Giữ\nNội dung tạm được giữ", encoding="utf-8")
    assert wait_for(lambda: total(ix, "được giữ") == 1)
    assert total(ix, "Nội dung tạm") == 1

"""Output for pipelines: a reader that goes away, and the watch command as a user runs it."""

import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import CORPUS

VNSEARCH = [sys.executable, "-m", "vnsearch"]


@pytest.fixture(scope="module")
def corpus_index(tmp_path_factory):
    path = tmp_path_factory.mktemp("out") / "ix"
    subprocess.run(VNSEARCH + ["--index", str(path), "index", str(CORPUS), "-q"], check=True, timeout=120)
    return path


@pytest.mark.parametrize("mode", [[], ["-l"], ["--format", "csv"], ["--jsonl"], ["--compact"]])
def test_a_reader_that_goes_away_ends_quietly(corpus_index, mode):
    r, w = os.pipe()
    os.close(r)  # the reader is gone before anything is written (| head that already exited)
    p = subprocess.run(VNSEARCH + ["--index", str(corpus_index), "search", "Pleiku", *mode], stdout=w,
                       stderr=subprocess.PIPE, timeout=60)
    os.close(w)
    assert p.returncode == 0 and p.stderr == b"", p.stderr.decode()


@pytest.mark.skipif(sys.platform.startswith("win"), reason="sends SIGINT")
def test_watch_command_indexes_changes_and_stops_on_ctrl_c(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.txt").write_text("Bài A\nĐà Nẵng mưa to", encoding="utf-8")
    p = subprocess.Popen(VNSEARCH + ["--index", str(tmp_path / "ix"), "watch", str(folder)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, encoding="utf-8")
    try:
        assert "up to date: 1 indexed" in p.stderr.readline()
        assert p.stderr.readline().startswith("watching ")
        time.sleep(0.5)
        (folder / "b.txt").write_text("Bài B\nHuế nắng đẹp", encoding="utf-8")
        line = p.stderr.readline()
        assert line.startswith("1 change: 1 added"), line
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=30)
    finally:
        p.kill()
    assert p.returncode == 0 and "stopped watching" in err and "Traceback" not in err
    found = subprocess.run(VNSEARCH + ["--index", str(tmp_path / "ix"), "search", "Huế nắng", "-l"],
                           capture_output=True, text=True, timeout=60)
    assert found.stdout.strip().endswith("b.txt")


def test_wrapped_lines_keep_their_indent(corpus_index):
    import io

    from rich.console import Console

    from vnsearch import Index
    from vnsearch.cli.render import print_results

    buf = io.StringIO()
    print_results(Console(file=buf, width=50, color_system=None), Index.open(corpus_index).search("Pleiku", limit=1))
    lines = buf.getvalue().splitlines()
    body = lines[lines.index("") + 1:]
    assert body[0].startswith("  1. ") and len(body) > 4
    assert all(line.startswith("     ") and line == line.rstrip() and len(line) <= 50 for line in body[1:] if line)

import io

import pytest
from click.testing import CliRunner
from prompt_toolkit.application import create_app_session
from prompt_toolkit.history import InMemoryHistory
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput
from rich.console import Console

from vnsearch import Document, Index
from vnsearch.cli import main
from vnsearch.cli.repl import Repl

from conftest import CORPUS


@pytest.fixture
def ix(tmp_path):
    ix = Index.open(tmp_path / "ix", create=True)
    ix.add_sources([str(CORPUS)], jobs=1)
    ix.add([Document(f"n{i}", f"Tin phối hợp số {i}", "Nội dung phối hợp công tác.") for i in range(12)])
    return ix


def _console():
    buf = io.StringIO()
    return Console(file=buf, width=100, force_terminal=False, color_system=None), buf


def test_real_prompt_query_next_open_quit(ix):
    console, buf = _console()
    repl = Repl(ix, console, limit=5)
    with create_pipe_input() as inp, create_app_session(input=inp, output=DummyOutput()):
        inp.send_text("phối hợp\r:next\r:open 6\r:limit 3\r:quit\r")
        repl.interactive(repl.session(input=inp, output=DummyOutput(), history=InMemoryHistory()))
    out = buf.getvalue()
    assert "14 results" in out
    assert "showing 1–5" in out and "showing 6–10" in out
    assert "Nội dung phối hợp công tác." in out  # :open 6 printed the whole document
    assert "3 results per page" in out


def test_ctrl_c_cancels_line_and_ctrl_d_exits(ix):
    console, buf = _console()
    repl = Repl(ix, console)
    with create_pipe_input() as inp, create_app_session(input=inp, output=DummyOutput()):
        inp.send_text("abc\x03Pleiku\r\x04")
        repl.interactive(repl.session(input=inp, output=DummyOutput(), history=InMemoryHistory()))
    out = buf.getvalue()
    assert "1 result for Pleiku" in out
    assert "abc" not in out.replace("Pleiku", "")


def test_commands(ix):
    console, buf = _console()
    repl = Repl(ix, console, pager=False)
    for line in [":help", ":next", "Pleiku", ":open 1", ":open 9", ":json", "Pleiku", ":stats", ":bogus", '"open']:
        assert repl.handle(line)
    assert not repl.handle(":quit")
    out = buf.getvalue()
    assert ":open N" in out and "search for something first" in out
    assert '"total": 1' in out and "documents" in out and "unknown command" in out
    assert "unterminated quote" in out


def test_piped_stdin(tmp_path):
    runner = CliRunner()
    path = tmp_path / "ix"
    assert runner.invoke(main, ["--index", str(path), "index", str(CORPUS)]).exit_code == 0
    r = runner.invoke(main, ["--index", str(path), "repl"], input="Pleiku\n:stats\nzzqqxx\n")
    assert r.exit_code == 0, r.output
    assert "1 result for Pleiku" in r.output and "No results" in r.output
    # plain `vnsearch` with piped input behaves the same
    r = runner.invoke(main, ["--index", str(path)], input="Pleiku\n")
    assert "1 result for Pleiku" in r.output


def test_compact_toggle_and_open_in_app(ix, monkeypatch):
    import vnsearch.cli.repl as repl_mod

    con, buf = _console()
    r = Repl(ix, con, limit=3, pager=False)
    r.handle(":compact")
    r.handle("phối hợp")
    lines = [x for x in buf.getvalue().splitlines() if x.strip()]
    assert lines[0] == "compact output on" and "results for phối hợp" in lines[1]
    assert len(lines) == 2 + 3 + 1 and lines[2].lstrip().startswith("1. ")  # a line a hit, then :next
    launched = []
    monkeypatch.setattr(repl_mod, "system_opener", lambda path: ["opener", path])
    monkeypatch.setattr(repl_mod.subprocess, "Popen", lambda cmd, **kw: launched.append(cmd))
    r.handle("Pleiku")
    first_file = r.result.hits[0]
    assert first_file.path.endswith(".txt")
    r.handle(f":open {first_file.rank} --app")
    assert launched == [["opener", first_file.path]]
    r.handle(":open 99 --app")
    assert "no result 99" in buf.getvalue()
    # a document given through the API has no file to open
    r.handle("id:n3")
    assert [h.id for h in r.result.hits] == ["n3"]
    r.handle(":open 1 --app")
    assert "no file to open" in buf.getvalue() and len(launched) == 1


def test_pager_gets_less_r_only_when_the_user_set_nothing(monkeypatch):
    import os

    from vnsearch.cli.repl import pager_environment

    monkeypatch.delenv("LESS", raising=False)
    monkeypatch.delenv("PAGER", raising=False)
    with pager_environment():
        assert os.environ["LESS"] == "-R"
    assert "LESS" not in os.environ
    monkeypatch.setenv("LESS", "-S")
    with pager_environment():
        assert os.environ["LESS"] == "-S"
    monkeypatch.delenv("LESS")
    monkeypatch.setenv("PAGER", "more")
    with pager_environment():
        assert "LESS" not in os.environ


def test_completion_offers_the_index_metadata_fields(tmp_path):
    from prompt_toolkit.document import Document as Line

    ix = Index.open(tmp_path / "ix", create=True)
    ix.add([Document("a", "Tiêu đề", "Nội dung", fields={"author": "Lê Văn Tám", "tags": "kinh tế"})])
    console, _ = _console()
    session = Repl(ix, console).session(input=None, output=DummyOutput(), history=InMemoryHistory())
    words = {c.text for c in session.completer.get_completions(Line("au"), None)}
    assert "author:" in words
    assert "type:" in {c.text for c in session.completer.get_completions(Line("ty"), None)}


def test_count_toggle_and_lower_bound_counts(ix, monkeypatch):
    """`:count` asks for every match counted; a count that is a lower bound reads "at least"."""
    from dataclasses import replace

    console, buf = _console()
    repl = Repl(ix, console, pager=False)
    asked = []
    search = ix.search

    def capped(*args, **kwargs):
        asked.append(kwargs.get("exact_count"))
        res = search(*args, **kwargs)
        return res if kwargs.get("exact_count") else replace(res, total=12_345, total_exact=False)

    monkeypatch.setattr(ix, "search", capped)
    repl.handle("phối hợp")
    assert "at least 12,345 results" in buf.getvalue() and "page 1 of at least 1,235" in buf.getvalue()
    repl.handle(":count")  # searches again, counting every match
    out = buf.getvalue()
    assert asked == [False, True] and "exact counts on" in out and "\n14 results for phối hợp" in out

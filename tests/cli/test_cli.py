import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from vnsearch import __version__
from vnsearch.cli import main

from conftest import CORPUS

HIT_KEYS = {"rank", "id", "title", "path", "date", "score", "type", "fields", "snippet", "snippet_highlights"}


@pytest.fixture
def runner():
    return CliRunner()


@pytest.fixture
def indexed(runner, tmp_path):
    path = tmp_path / "ix"
    r = runner.invoke(main, ["--index", str(path), "index", str(CORPUS), "--jobs", "1"])
    assert r.exit_code == 0, r.output
    return path


def run(runner, path, *args, **kw):
    return runner.invoke(main, ["--index", str(path), *args], **kw)


def test_version_and_help(runner):
    r = runner.invoke(main, ["--version"])
    assert r.exit_code == 0 and __version__ in r.output
    for cmd in ([], ["index"], ["search"], ["stats"], ["repl"]):
        r = runner.invoke(main, [*cmd, "--help"])
        assert r.exit_code == 0
        assert "Example" in r.output or cmd in (["stats"], ["repl"])


def test_every_command_has_help_and_a_row_in_the_readme(runner):
    readme = (CORPUS.parent / "README.md").read_text(encoding="utf-8")
    table = [line for line in readme.splitlines() if line.startswith("| `vnsearch ")]
    for name in main.commands:
        r = runner.invoke(main, [name, "--help"])
        assert r.exit_code == 0 and len(r.output.splitlines()) > 3, name
        assert any(line.startswith(f"| `vnsearch {name}") for line in table), f"README has no row for {name}"


def test_python_m_vnsearch():
    r = subprocess.run([sys.executable, "-m", "vnsearch", "--version"], capture_output=True, text=True)
    assert r.returncode == 0 and __version__ in r.stdout


def test_index_summary_and_json(runner, tmp_path):
    path = tmp_path / "ix"
    r = run(runner, path, "index", str(CORPUS), "-j", "1")
    assert r.exit_code == 0
    assert "added" in r.output and "2" in r.output
    r = run(runner, path, "index", str(CORPUS), "--json")
    rep = json.loads(r.output)
    assert rep["unchanged"] == 2 and rep["added"] == 0
    r = run(runner, path, "index", str(CORPUS), "--quiet")
    assert r.exit_code == 0 and r.output == ""


def test_index_from_env_and_stdin(runner, tmp_path):
    path = tmp_path / "envix"
    lines = "\n".join([
        json.dumps({"id": "a", "title": "Hà Nội", "text": "Thủ đô Hà Nội", "date": "2024-05-01"}, ensure_ascii=False),
        "{not json",
        json.dumps({"id": "b", "text": "Không có tiêu đề\nthân bài"}, ensure_ascii=False),
    ])
    r = runner.invoke(main, ["index", "-", "--json"], input=lines, env={"VNSEARCH_INDEX": str(path)})
    assert r.exit_code == 0, r.output
    rep = json.loads(r.output)
    assert rep["added"] == 2 and rep["skipped"] == 1
    assert rep["skipped_items"][0]["where"] == "<stdin>:2"


def test_index_field_mapping_csv(runner, tmp_path):
    csv_file = tmp_path / "a.csv"
    csv_file.write_text('name,content,published\nx1,"Dòng một\nDòng hai về kinh tế",2023-01-02\n', encoding="utf-8")
    path = tmp_path / "ix"
    r = run(runner, path, "index", str(csv_file), "--id-field", "name", "--text-field", "content",
            "--date-field", "published", "--json")
    assert json.loads(r.output)["added"] == 1
    r = run(runner, path, "search", "kinh tế", "--json")
    hit = json.loads(r.output)["hits"][0]
    assert hit["id"] == "x1" and hit["date"] == "2023-01-02"


def test_search_output_and_exit_codes(runner, indexed):
    r = run(runner, indexed, "search", "Sư", "đoàn", "320")
    assert r.exit_code == 0
    assert "Gia Lai" in r.output and "result" in r.output
    assert "\x1b[" not in r.output  # no colour when not a terminal
    r = run(runner, indexed, "search", "zzzzqqq")
    assert r.exit_code == 1 and "No results" in r.output


def test_accentless_search_says_how_it_was_ranked(runner, indexed):
    r = run(runner, indexed, "search", "phoi hop", "--json")
    data = json.loads(r.output)
    assert data["restored"] == "phối hợp" and data["total"] == 2
    assert json.loads(run(runner, indexed, "search", "phối hợp", "--json").output)["restored"] is None
    r = run(runner, indexed, "search", "phoi hop")
    assert "Ranked as: phối hợp (accents restored)" in r.output
    assert "Did you mean" not in r.output  # the restored reading is not suggested again


def test_search_json_shape(runner, indexed):
    r = run(runner, indexed, "search", "phối hợp", "--json", "--limit", "1")
    data = json.loads(r.output)
    assert set(data) == {"query", "total", "total_exact", "took_ms", "suggestion", "restored", "fallback",
                         "accents_ignored", "page", "limit", "hits"}
    assert data["total"] == 2 and data["total_exact"] is True and len(data["hits"]) == 1
    hit = data["hits"][0]
    assert set(hit) == HIT_KEYS
    for a, b in hit["snippet_highlights"]:
        assert hit["snippet"][a:b].lower() in ("phối hợp", "phối", "hợp")


def test_search_jsonl_fields_page_sort_dates(runner, indexed):
    r = run(runner, indexed, "search", "phối hợp", "--jsonl", "--fields", "rank,id")
    rows = [json.loads(x) for x in r.output.splitlines()]
    assert [set(x) for x in rows] == [{"rank", "id"}] * 2
    r = run(runner, indexed, "search", "phối hợp", "--json", "--limit", "1", "--page", "2")
    assert json.loads(r.output)["hits"][0]["rank"] == 2
    r = run(runner, indexed, "search", "phối hợp", "--json", "--sort", "date")
    assert json.loads(r.output)["hits"][0]["date"] == "2023-07-01"
    r = run(runner, indexed, "search", "phối hợp", "--json", "--since", "2023-07", "--until", "2023-07-31")
    assert json.loads(r.output)["total"] == 1
    r = run(runner, indexed, "search", "phối hợp", "--since", "yesterday")
    assert r.exit_code == 2 and "not a date" in r.output
    r = run(runner, indexed, "search", "x", "--fields", "bogus")
    assert r.exit_code == 2


def test_errors_are_one_line(runner, tmp_path, indexed):
    r = run(runner, tmp_path / "missing", "search", "x")
    assert r.exit_code == 2
    assert "no index" in r.output and "vnsearch --index" in r.output and "Traceback" not in r.output
    r = run(runner, indexed, "search", "(công nghệ")
    assert r.exit_code == 2
    assert "never closed" in r.output and "\n^" in r.output
    r = run(runner, tmp_path / "ix2", "index", str(tmp_path / "nope"))
    assert r.exit_code == 2 and "no such file or folder" in r.output
    from vnsearch.engine.whoosh.storage import WriteLock

    with WriteLock(indexed):
        r = run(runner, indexed, "index", str(CORPUS), "--lock-timeout", "0.2")
    assert r.exit_code == 2 and "locked" in r.output and "vnsearch-write.lock" in r.output


def test_stats(runner, indexed):
    r = run(runner, indexed, "stats", "--json")
    st = json.loads(r.output)
    assert st["documents"] == 2 and st["schema_version"] == 5 and st["terms"]["words"] > 100
    r = run(runner, indexed, "stats")
    assert "documents" in r.output and "schema version" in r.output


def test_no_color_env(runner, indexed):
    r = run(runner, indexed, "search", "Pleiku", env={"NO_COLOR": "1"})
    assert "\x1b[" not in r.output


def test_rebuild(runner, indexed):
    r = run(runner, indexed, "index", str(CORPUS), "--rebuild", "--json")
    assert json.loads(r.output)["added"] == 2


def test_the_index_report_says_how_long_merging_took():
    from io import StringIO

    from rich.console import Console

    from vnsearch.cli.render import print_report
    from vnsearch.ingest.indexing import IndexReport

    def shown(rep):
        out = StringIO()
        print_report(Console(file=out, width=80), rep)
        return out.getvalue()

    assert "merging" not in shown(IndexReport(added=3, seconds=2.0, merge_seconds=0.2))
    assert "of which merging" in shown(IndexReport(added=3, seconds=20.0, merge_seconds=7.5))
    assert "7.5 s" in shown(IndexReport(added=3, seconds=20.0, merge_seconds=7.5))

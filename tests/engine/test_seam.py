"""The engine seam: one place names the engine; nothing above it imports Whoosh."""

import ast
import subprocess
import sys
from pathlib import Path

import numpy as np

import vnsearch
from vnsearch import Document, Index, engine

SRC = Path(vnsearch.__file__).parent


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            out.add(node.module)
    return out


def test_only_the_engine_package_imports_whoosh():
    above = [p for p in SRC.rglob("*.py") if "engine/whoosh" not in p.relative_to(SRC).as_posix()]
    offenders = {p.relative_to(SRC).as_posix(): sorted(m for m in _imports(p) if m.split(".")[0] == "whoosh"
                                                      or m.startswith("vnsearch.engine.whoosh"))
                 for p in above}
    # vnsearch.analysis: the import path Whoosh pickled into every index's schema (a re-export)
    assert {k: v for k, v in offenders.items() if v and k != "analysis.py"} == {}


def test_the_seam_exports_every_name_it_promises():
    for name in engine.SEAM:
        assert getattr(engine, name) is not None, name


def test_an_unknown_engine_is_named_in_one_line():
    code = "import vnsearch.engine"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       env={"VNSEARCH_ENGINE": "lucene", "PATH": ""})
    assert r.returncode != 0 and "VNSEARCH_ENGINE must name one of the engines: whoosh" in r.stderr


def test_a_snapshot_gives_postings_positions_and_columns_in_plain_values(tmp_path):
    from datetime import datetime

    ix = Index.open(tmp_path / "ix", create=True)
    ix.add([Document("a", "Mưa", "mưa to ở Hà Nội, mưa nhỏ ở Huế", date=datetime(2023, 7, 1)),
            Document("b", "Nắng", "nắng ở Hà Nội")])
    ix.delete(["b"])
    s = ix._store.snapshot()
    try:
        assert s.n == 2 and s.live.tolist() == [True, False] and s.doc_count() == 1
        ids, tf = s.postings("syllables", "mưa")
        assert ids.tolist() == [0] and tf.tolist() == [3.0]  # title + body
        (pos,) = s.positions("syllables", "mưa", np.array([0]))
        assert pos.tolist() == [0, 1, 6]  # mưa | mưa to ở hà nội, mưa
        assert s.stored(s.doc_number("a"))["title"] == "Mưa"
        assert s.column("date")[0] == engine.date_value(datetime(2023, 7, 1)) and s.column("date")[1] == 0
        assert list(s.terms("syllables", prefix="n")) == ["nhỏ", "nắng", "nội"]
        near = set(s.terms_within("folded", "hux", 1, prefix=1))
        assert "hue" in near and "ha" not in near
        assert s.term_frequencies("words")["hà_nội"] == 2  # deleted documents count until merged
        assert s.kind("syllables") == "text" and s.kind("id") == "keyword" and s.kind("date") == "date"
        assert s.is_current()
    finally:
        s.close()

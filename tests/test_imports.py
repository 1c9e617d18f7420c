import subprocess
import sys


def test_imports_clean_with_warnings_as_errors():
    code = (
        "import whoosh, whoosh.index, whoosh.qparser, whoosh.highlight, whoosh.scoring, whoosh.writing;"
        "import vnsearch, vnsearch.text.normalize, vnsearch.text.segment, vnsearch.analysis, vnsearch.query.syntax, vnsearch.engine.whoosh.schema;"
        "from vnsearch.text.segment import segment; segment('Hà Nội')"
    )
    r = subprocess.run([sys.executable, "-W", "error", "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr

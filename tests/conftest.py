import gzip
import json
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("VNSEARCH_SHARED", ROOT.parent / "shared")) / "data"
BAOMOI = SHARED / "baomoi-35k.jsonl.gz"
XQUAD = SHARED / "xquad-vi"
CORPUS = ROOT / "corpus"


def read_baomoi(limit: int) -> list[dict]:
    """The first `limit` baomoi records; skips the test when the data is absent."""
    if not BAOMOI.exists():
        pytest.skip(f"{BAOMOI} not present")
    out = []
    with gzip.open(BAOMOI, "rt", encoding="utf-8") as f:
        for line in f:
            out.append(json.loads(line))
            if len(out) >= limit:
                break
    return out


@pytest.fixture
def baomoi_texts():
    """A function giving the first N baomoi article texts (the test skips without the data)."""
    return lambda limit: [r["text"] for r in read_baomoi(limit)]


def whoosh_written(path: Path, batches: list) -> object:
    """A reference index written by Whoosh's own writer (W3 blocks, Whoosh's analysis) from batches of
    `Document`s, one segment each, the fields filled as vnsearch's indexer fills them."""
    from whoosh import index as whoosh_index
    from whoosh.writing import SegmentWriter

    from vnsearch.engine.whoosh.schema import build_schema
    from vnsearch.ingest.prepare import document_text
    from vnsearch.text.normalize import normalize

    path.mkdir()
    ix = whoosh_index.create_in(str(path), build_schema())
    for docs in batches:
        w = SegmentWriter(ix)
        for d in docs:
            title, body = normalize(d.title), normalize(d.body)
            text = document_text(title, body)
            w.add_document(id=d.id, path="", source="", title=title, title_folded=title, body=body,
                           words=text, syllables=text, folded=text, pairs=text, hash=b"x")
        w.commit(merge=False)
    return ix

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


@pytest.fixture(scope="module")
def news(tmp_path_factory):
    """An index of 500 real articles and the XQuAD paragraphs, and the articles (skips without ../shared/data)."""
    from vnsearch import Index
    from vnsearch.ingest.sources import FieldMap

    records = read_baomoi(500)
    src = tmp_path_factory.mktemp("src") / "b.jsonl"
    with open(src, "w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
        if (XQUAD / "corpus.jsonl").exists():
            f.write((XQUAD / "corpus.jsonl").read_text(encoding="utf-8"))
    ix = Index.open(tmp_path_factory.mktemp("news") / "ix", create=True)
    ix.add_sources([str(src)], fields=FieldMap(id="name"), jobs=1)
    return ix, records


def real_queries(records: list[dict]) -> list[str]:
    """150 XQuAD dev questions (when present), three-word title keywords and two lower-case words of 150 titles."""
    queries = []
    path = XQUAD / "queries-dev.tsv"
    if path.exists():
        queries += [line.split("\t", 1)[1] for line in path.read_text(encoding="utf-8").splitlines()[:150]]
    titles = [r.get("title") or r["text"].split("\n", 1)[0] for r in records[:150]]
    return queries + [" ".join(t.split()[:3]) for t in titles] + [" ".join(t.split()[:2]).lower() for t in titles]

"""The body lives in a column of its own (schema 5): read for snippets and `Index.get`, never for a
result shown without one; indexes of schema 4 (the body among the stored fields) still read."""

import json

from whoosh import fields

from vnsearch import Document, Index
from vnsearch.engine.whoosh import schema as S
from vnsearch.engine.whoosh import storage


def _docs(n: int, tag: str = "") -> list[Document]:
    return [Document(f"{tag}d{i}", f"Bài {tag}{i}", f"Mở đầu {i}. Hà Nội mùa thu số {i} có hoa sữa {tag}.")
            for i in range(n)]


def _check(ix: Index, ids: list[str]) -> None:
    for doc_id in ids:
        got = ix.get(doc_id)
        i = doc_id.split("d")[-1]
        assert got["body"].startswith(f"Mở đầu {i}. Hà Nội mùa thu số {i} "), got
    r = ix.search("hoa sữa", limit=100)
    assert sorted(h.id for h in r.hits) == sorted(ids)
    assert all(h.fragments for h in r.hits)  # snippets read the body


def test_a_result_without_snippets_reads_no_body(tmp_path):
    ix = Index.open(tmp_path / "ix", create=True)
    assert not ix.check()  # an empty index has no body column to read
    ix.add(_docs(30))
    assert not ix.check()
    snap = ix._get_snapshot()
    assert "body" not in snap.stored(0, body=False)
    assert snap.stored(0)["body"].startswith("Mở đầu")
    read = []
    original = type(snap)._body
    type(snap)._body = lambda self, d: read.append(d) or original(self, d)
    try:
        assert len(ix.search("hoa sữa", highlight=False).hits) == 10 and not read
        assert len(ix.search("hoa sữa").hits) == 10 and len(read) == 10
    finally:
        type(snap)._body = original
    _check(ix, [f"d{i}" for i in range(30)])


def test_bodies_follow_their_documents_through_merges_and_deletions(tmp_path):
    ix = Index.open(tmp_path / "ix", create=True)
    for batch in range(3):  # three segments
        ix.add(_docs(10, f"b{batch}"))
    ix.delete([f"b1d{i}" for i in range(0, 10, 2)])  # the merge renumbers what follows
    ix.optimize()
    assert len(ix._get_snapshot()._view.leaves) == 1
    _check(ix, [f"b{b}d{i}" for b in range(3) for i in range(10) if not (b == 1 and i % 2 == 0)])


def test_an_index_of_schema_4_keeps_its_body_among_the_stored_fields(tmp_path, monkeypatch):
    def schema_4():
        schema = S.build_schema()
        schema.remove("body")
        schema.add("body", fields.STORED())
        return schema

    path = tmp_path / "ix"
    monkeypatch.setattr(storage, "build_schema", schema_4)
    monkeypatch.setattr(storage, "SCHEMA_VERSION", 4)
    Index.open(path, create=True).add(_docs(12, "a"))
    monkeypatch.undo()
    assert json.loads((path / "vnsearch.json").read_text())["schema_version"] == 4
    ix = Index.open(path)
    ix.add(_docs(12, "b"))  # written as the index's own schema says: stored
    snap = ix._get_snapshot()
    assert not snap._body_column and "body" in snap.stored(0, body=False)
    ix.optimize()
    _check(ix, [f"{t}d{i}" for t in "ab" for i in range(12)])

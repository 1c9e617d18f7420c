"""The bulk path must write what Whoosh's own writer would (packed where Whoosh writes W3 blocks): the same
postings, positions, statistics and lengths, read back by vnsearch's readers and by Whoosh's."""

import numpy as np
import pytest
from whoosh import index as whoosh_index

from conftest import whoosh_written
from vnsearch.engine.whoosh.bulkwriter import BulkWriter
from vnsearch.text.normalize import normalize
from vnsearch.ingest.prepare import prepare_chunk
from vnsearch.engine.whoosh.schema import INVERTED_FIELDS, build_schema
from vnsearch.ingest.sources import Document


def _docs(baomoi_texts=None):
    docs = [
        Document(id=f"d{i}", title=f"Tin số {i}: Hà Nội hoà bình", body=f"Công nghệ thông tin {i} ở Hà Nội. " * (1 + i % 7))
        for i in range(300)  # 'hà' and 'nội' get posting lists longer than one 128-posting block
    ]
    docs.append(Document(id="nfd", title="Thuỷ điện", body=normalize("Hoà Bình") + " và ha noi"))
    docs.append(Document(id="empty", title="", body="ở à ạ"))
    return docs


def _whoosh_written(path, docs):
    return whoosh_written(path, [docs])


def _bulk_written(path, docs, chunk):
    path.mkdir()
    ix = whoosh_index.create_in(str(path), build_schema())
    w = BulkWriter(ix)
    items = [(d, "x") for d in docs]
    for start in range(0, len(items), chunk):
        w.add_chunk(*prepare_chunk(items[start : start + chunk], start))
    w.commit()
    return ix


def _dump(ix, packed_lists: bool):
    """Everything a reader sees of the inverted fields: lengths, and each term's postings (document,
    weight, positions or frequency) and term info; read by vnsearch's readers from packed lists, by
    Whoosh's matchers from Whoosh's own."""
    from vnsearch.engine.whoosh.codec import list_bytes
    from vnsearch.engine.whoosh.packed import decode_all

    out = {}
    with ix.reader() as r:
        for f in INVERTED_FIELDS:
            out[("total", f)] = r.field_length(f)
            out[("lengths", f)] = [r.doc_field_length(n, f) for n in range(r.doc_count_all())]
            fmt = r.schema[f].format
            kind = "positions" if fmt.supports("positions") else "frequency"
            for t in r.lexicon(f):
                ti = r.term_info(f, t)
                posts = []
                if packed_lists:
                    ids, tfs, gaps = decode_all(list_bytes(r, f, t))
                    ends = np.cumsum(tfs).tolist()
                    for d, tf, e in zip(ids.tolist(), tfs.tolist(), ends):
                        value = np.cumsum(gaps[e - tf : e]).tolist() if kind == "positions" else tf
                        posts.append((d, float(tf), value))
                else:
                    m = r.postings(f, t)
                    while m.is_active():
                        posts.append((m.id(), m.weight(), fmt.decode_as(kind, m.value())))
                        m.next()
                out[(f, t)] = (posts, ti.weight(), ti.doc_frequency(), ti.min_length(), ti.max_length(),
                               ti.max_weight(), ti.min_id(), ti.max_id())
    return out


@pytest.mark.parametrize("chunk", [1000, 97])
def test_bulk_index_reads_back_like_whoosh(tmp_path, chunk):
    docs = _docs()
    a = _dump(_whoosh_written(tmp_path / "whoosh", docs), False)
    b = _dump(_bulk_written(tmp_path / "bulk", docs, chunk), True)
    assert a.keys() == b.keys()
    for k in a:
        assert a[k] == b[k], k


def test_bulk_commit_never_merges_small_segments(tmp_path):
    """Whoosh's writer resets `merge` to True; a merge would mix its pool with the bulk postings."""
    path = tmp_path / "ix"
    path.mkdir()
    ix = whoosh_index.create_in(str(path), build_schema())
    docs = _docs()[:12]
    for i, d in enumerate(docs):  # twelve one-document segments: MERGE_SMALL would merge them
        w = BulkWriter(ix)
        w.add_chunk(*prepare_chunk([(d, "x")], 0))
        w.commit()
    assert len(ix._segments()) == 12
    with ix.searcher() as s:
        assert s.doc_count() == 12


def test_scorer_arrays_and_positions_equal_whooshs(tmp_path):
    """`read_postings` and `read_positions` on the bulk index give what Whoosh's matchers give on the
    index Whoosh wrote (lists spanning several chunks included, and documents absent)."""
    from vnsearch.engine.whoosh.codec import read_positions, read_postings

    docs = _docs()
    ours, theirs = _bulk_written(tmp_path / "bulk", docs, 97), _whoosh_written(tmp_path / "whoosh", docs)
    rng = np.random.default_rng(7)
    with ours.reader() as r, theirs.reader() as w:
        checked = 0
        for f in ("words", "syllables", "folded", "title", "pairs"):
            for t in w.lexicon(f):
                m = w.postings(f, t)
                want = {}
                while m.is_active():
                    want[m.id()] = (m.weight(), m.value_as("positions") if f in ("syllables", "folded", "title")
                                    else None)
                    m.next()
                ids, weights = read_postings(r, f, t)
                assert list(zip(ids.tolist(), weights.tolist())) == [(d, v[0]) for d, v in want.items()]
                if want[next(iter(want))][1] is not None:
                    asked = np.unique(np.concatenate([rng.integers(0, r.doc_count_all(), 20), ids[:5]]))
                    got = read_positions(r, f, t, asked)
                    assert [g.tolist() for g in got] == [want[d][1] if d in want else [] for d in asked.tolist()]
                checked += len(want) > 97
        assert checked >= 4
        assert read_postings(r, "words", b"no_such_word") is None
        assert [p.tolist() for p in read_positions(r, "syllables", b"no_such_word", np.array([1, 2]))] == [[], []]

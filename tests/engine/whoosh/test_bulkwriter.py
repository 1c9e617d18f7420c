"""The bulk path must write what Whoosh's own writer would, as Whoosh reads it back."""

import numpy as np
import pytest
from whoosh import index as whoosh_index
from whoosh.writing import SegmentWriter

from vnsearch.engine.whoosh.bulkwriter import BulkWriter
from vnsearch.text.normalize import normalize
from vnsearch.ingest.prepare import document_text, prepare_chunk
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
    path.mkdir()
    ix = whoosh_index.create_in(str(path), build_schema())
    w = SegmentWriter(ix)
    for d in docs:
        title, body = normalize(d.title), normalize(d.body)
        text = document_text(title, body)
        w.add_document(id=d.id, path="", source="", title=title, title_folded=title, body=body,
                       words=text, syllables=text, folded=text, pairs=text, hash=b"x")
    w.commit(merge=False)
    return ix


def _bulk_written(path, docs, chunk):
    path.mkdir()
    ix = whoosh_index.create_in(str(path), build_schema())
    w = BulkWriter(ix)
    items = [(d, "x") for d in docs]
    for start in range(0, len(items), chunk):
        w.add_chunk(*prepare_chunk(items[start : start + chunk], start))
    w.commit()
    return ix


def _dump(ix):
    out = {}
    with ix.reader() as r:
        for f in INVERTED_FIELDS:
            out[("total", f)] = r.field_length(f)
            out[("lengths", f)] = [r.doc_field_length(n, f) for n in range(r.doc_count_all())]
            for t in r.lexicon(f):
                ti = r.term_info(f, t)
                m = r.postings(f, t)
                fmt = r.schema[f].format
                kind = "positions" if fmt.supports("positions") else "frequency"
                posts = []
                while m.is_active():  # values compared decoded: the bulk path pickles them its own way
                    posts.append((m.id(), m.weight(), fmt.decode_as(kind, m.value())))
                    m.next()
                out[(f, t)] = (posts, ti.weight(), ti.doc_frequency(), ti.min_length(), ti.max_length(),
                               ti.max_weight(), ti.min_id(), ti.max_id())
    return out


@pytest.mark.parametrize("chunk", [1000, 97])
def test_bulk_index_reads_back_like_whoosh(tmp_path, chunk):
    docs = _docs()
    a = _dump(_whoosh_written(tmp_path / "whoosh", docs))
    b = _dump(_bulk_written(tmp_path / "bulk", docs, chunk))
    assert a.keys() == b.keys()
    for k in a:
        assert a[k] == b[k], k


def test_bulk_and_whoosh_score_alike(tmp_path):
    from whoosh import query as Q
    from whoosh.scoring import BM25F

    docs = _docs()
    ixa = _whoosh_written(tmp_path / "whoosh", docs)
    ixb = _bulk_written(tmp_path / "bulk", docs, 64)
    q = Q.Or([Q.Term("words", "hà_nội"), Q.Phrase("syllables", ["công", "nghệ"]), Q.Term("folded", "hoa")])
    with ixa.searcher(weighting=BM25F()) as sa, ixb.searcher(weighting=BM25F()) as sb:
        ra = [(h.docnum, round(h.score, 6)) for h in sa.search(q, limit=None)]
        rb = [(h.docnum, round(h.score, 6)) for h in sb.search(q, limit=None)]
    assert ra == rb and len(ra) > 100


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


@pytest.mark.parametrize("writer", ["whoosh", "bulk"])
def test_scorer_arrays_read_either_writers_blocks(tmp_path, writer):
    """Bulk blocks are read in place, Whoosh's (merges, older indexes) by unpickling: same arrays,
    whether through Whoosh's matcher or straight from the term's bytes (`read_postings`)."""
    from vnsearch.engine.whoosh.codec import raw_postings, read_matcher, read_postings

    docs = _docs()
    ix = _whoosh_written(tmp_path / "ix", docs) if writer == "whoosh" else _bulk_written(tmp_path / "ix", docs, 97)
    with ix.reader() as r:
        checked = 0
        for f in ("words", "syllables", "folded", "title"):
            for t in r.lexicon(f):
                ids, weights = read_postings(r, f, t)
                via_matcher = read_matcher(raw_postings(r, f, t))
                assert ids.tolist() == via_matcher[0].tolist() and weights.tolist() == via_matcher[1].tolist()
                m = r.postings(f, t)
                want = []
                while m.is_active():
                    want.append((m.id(), m.weight()))
                    m.next()
                assert list(zip(ids.tolist(), weights.tolist())) == want
                checked += len(want) > 128
        assert checked >= 4  # some lists span several blocks (of a chunk, or of Whoosh's 128)
        assert read_postings(r, "words", b"no_such_word") is None


def test_whoosh_merges_bulk_segments(tmp_path):
    """Whoosh's own merge (small segments piling up, or optimize) reads the bulk blocks and rewrites them."""
    docs = _docs()
    items = [(d, "x") for d in docs]
    want = _whoosh_written(tmp_path / "whoosh", docs[:60])
    for start in range(60, len(items), 60):  # same segments as below, each written by Whoosh
        w = SegmentWriter(want)
        for d in docs[start : start + 60]:
            title, body = normalize(d.title), normalize(d.body)
            text = document_text(title, body)
            w.add_document(id=d.id, path="", source="", title=title, title_folded=title, body=body,
                           words=text, syllables=text, folded=text, pairs=text, hash=b"x")
        w.commit(merge=False)
    path = tmp_path / "bulk"
    path.mkdir()
    ix = whoosh_index.create_in(str(path), build_schema())
    for start in range(0, len(items), 60):
        w = BulkWriter(ix)
        with pytest.raises(ValueError, match="postings name documents"):  # numbered for another segment
            w.add_chunk(*prepare_chunk(items[start : start + 60], 1))
        w.add_chunk(*prepare_chunk(items[start : start + 60], 0))
        w.commit()
    assert len(ix._segments()) == len(want._segments()) == 6
    for index in (ix, want):  # merged lengths are Whoosh's one-byte approximations either way
        index.writer().commit(optimize=True)
        assert len(index._segments()) == 1
    got, want = _dump(ix), _dump(want)
    assert got.keys() == want.keys()
    for k in want:
        assert got[k] == want[k], k


@pytest.mark.parametrize("writer", ["whoosh", "bulk"])
def test_positions_read_a_block_at_a_time_equal_whooshs(tmp_path, writer):
    from vnsearch.engine.whoosh.codec import raw_postings, read_positions

    docs = _docs()
    ix = _whoosh_written(tmp_path / "ix", docs) if writer == "whoosh" else _bulk_written(tmp_path / "ix", docs, 97)
    rng = np.random.default_rng(7)
    with ix.reader() as r:
        checked = 0
        for f in ("syllables", "folded"):
            terms = list(r.lexicon(f))
            for t in terms[:50] + [t for t in terms if r.doc_frequency(f, t) > 128]:  # some span blocks
                m = r.postings(f, t)
                want = {}
                while m.is_active():
                    want[m.id()] = m.value_as("positions")
                    m.next()
                asked = np.unique(rng.integers(0, r.doc_count_all(), 40))  # present and absent ones
                got = read_positions(raw_postings(r, f, t), asked)
                assert [g.tolist() for g in got] == [want.get(d, []) for d in asked.tolist()]
                checked += len(want) > 128
        assert checked >= 2

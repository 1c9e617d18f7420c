import json

import pytest
from click.testing import CliRunner

from vnsearch import Index
from vnsearch.cli import main
from vnsearch.evaluate import evaluate, read_qrels, read_queries

from conftest import CORPUS

A, B = "000_57dfbb89b4543d5f.txt", "004_dfb1a9a1891b3a08.txt"


@pytest.fixture
def files(tmp_path):
    q = tmp_path / "q.tsv"
    q.write_text(
        "q1\tSư đoàn 320 kết nghĩa với thành phố nào?\n"
        "q2\tBan CHQS thành phố Tam Kỳ phối hợp với ai\n"
        "q3\tzzqq không tìm thấy gì\n"
        "q4\tcâu hỏi không có đánh giá\n",
        encoding="utf-8",
    )
    r = tmp_path / "qrels.txt"
    r.write_text(f"q1 0 {A} 1\nq2 0 {B} 1\nq3 0 {A} 1\n", encoding="utf-8")
    return q, r


@pytest.fixture
def ix(tmp_path):
    ix = Index.open(tmp_path / "ix", create=True)
    ix.add_sources([str(CORPUS)], jobs=1)
    return ix


def test_evaluate_counts_misses_as_zero(ix, files):
    q, r = files
    ev = evaluate(ix, read_queries(q), read_qrels(r))
    assert ev.queries == 3  # q4 has no judgement
    assert ev.run["q1"] and ev.run["q2"]
    # q1 and q2 rank their document first; q3 finds nothing: 2 of 3
    assert ev.metrics["RR@10"] == pytest.approx(2 / 3)
    assert ev.metrics["R@100"] == pytest.approx(2 / 3)


def test_eval_command(ix, files, tmp_path):
    q, r = files
    run = tmp_path / "run.txt"
    res = CliRunner().invoke(main, ["--index", str(ix.path), "eval", "--queries", str(q), "--qrels", str(r),
                                    "--run", str(run), "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert set(data["metrics"]) == {"RR@10", "nDCG@10", "R@1", "R@10", "R@100"}
    assert data["queries"] == 3
    first = run.read_text().splitlines()[0].split()
    assert first[0] == "q1" and first[1] == "Q0" and first[2] == A and first[3] == "1"
    res = CliRunner().invoke(main, ["--index", str(ix.path), "eval", "--queries", str(q), "--qrels", str(r),
                                    "--strip-accents"])
    assert res.exit_code == 0 and "MRR@10" in res.output


def test_bad_qrels_is_one_line(ix, files, tmp_path):
    q, _ = files
    bad = tmp_path / "bad.txt"
    bad.write_text("q1 A\n")
    res = CliRunner().invoke(main, ["--index", str(ix.path), "eval", "--queries", str(q), "--qrels", str(bad)])
    assert res.exit_code == 2 and "expected TREC qrels" in res.output

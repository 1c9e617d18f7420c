"""Abbreviations and user synonyms match their other forms both ways."""

import pytest
from click.testing import CliRunner

from vnsearch import Document, Index
from vnsearch.cli import main
from vnsearch.errors import VnsearchError
from vnsearch.query.synonyms import Synonyms, built_in


def ids(res):
    return sorted(h.id for h in res.hits)


@pytest.fixture(scope="module")
def gov(tmp_path_factory):
    ix = Index.open(tmp_path_factory.mktemp("syn") / "ix", create=True)
    ix.add([Document("short", "Tin", "UBND tỉnh Quảng Nam họp báo về CSGT và TP.HCM."),
            Document("long", "Tin", "Ủy ban nhân dân tỉnh Quảng Nam làm việc với cảnh sát giao thông."),
            Document("city", "Tin", "Thành phố Hồ Chí Minh mưa lớn chiều nay."),
            Document("other", "Tin", "Ban nhân sự của ủy ban họp ở tỉnh khác.")])
    return ix


def test_the_built_in_list_holds_the_common_abbreviations():
    syn = built_in()
    for form in ("tp hcm", "tphcm", "hn", "ubnd", "hđnd", "csgt", "thpt", "đh", "bhxh", "q", "p", "tp"):
        assert syn.runs([[s] for s in form.split()]), form
    assert len(syn) >= 250  # forms, both ways, of 140 groups


@pytest.mark.parametrize("q, expect", [
    ("UBND Quảng Nam", {"short", "long"}),
    ("ủy ban nhân dân Quảng Nam", {"short", "long"}),
    ("ubnd", {"short", "long"}),
    ("CSGT", {"short", "long"}),
    ("TP.HCM", {"short", "city"}),
    ("tphcm", {"short", "city"}),
    ("thành phố hồ chí minh", {"short", "city"}),
])
def test_an_abbreviation_and_its_expansion_find_each_other(gov, q, expect):
    assert set(ids(gov.search(q))) == expect


def test_an_expansion_matches_only_side_by_side(gov):
    assert "other" not in ids(gov.search("ủy ban nhân dân"))


def test_a_users_synonyms_file(gov, tmp_path):
    f = tmp_path / "syn.txt"
    f.write_text("# mine\nthủ phủ miền Nam = thành phố Hồ Chí Minh\n", encoding="utf-8")
    ix = Index.open(gov.path, synonyms=f)
    assert ids(ix.search("thủ phủ miền nam")) == ["city"]  # groups do not chain: not TP.HCM
    r = CliRunner().invoke(main, ["--index", str(gov.path), "--synonyms", str(f), "search", "thu phu mien nam", "--json"])
    assert r.exit_code == 0 and '"city"' in r.output


def test_a_synonyms_file_in_the_index_folder_is_read(tmp_path):
    ix = Index.open(tmp_path / "ix", create=True)
    ix.add([Document("a", "Tin", "Trận đấu của Công Phượng.")])
    (tmp_path / "ix" / "synonyms.txt").write_text("CP10 = Công Phượng\n", encoding="utf-8")
    assert ids(Index.open(tmp_path / "ix").search("CP10")) == ["a"]


def test_a_bad_synonyms_line_is_one_line_error(tmp_path):
    f = tmp_path / "bad.txt"
    f.write_text("UBND = ủy ban nhân dân\nchỉ một dạng\n", encoding="utf-8")
    with pytest.raises(VnsearchError, match=r"bad.txt:2: a synonym line needs two forms"):
        Synonyms().with_file(f)
    with pytest.raises(VnsearchError, match="cannot read the synonyms file"):
        Synonyms().with_file(tmp_path / "missing.txt")


def test_accents_as_typed_hold_for_synonyms_too():
    syn = built_in()
    assert not syn.runs([["phượng"]])  # not phường (P.)
    assert syn.runs([["phường"]]) and syn.runs([["phuong"]])

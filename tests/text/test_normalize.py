import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vnsearch.text.normalize import fold, has_diacritics, normalize, place_tone

# (as typed or found in the wild, canonical form)
PAIRS = [
    ("hoà", "hòa"), ("hoá", "hóa"), ("hoả", "hỏa"), ("hoã", "hõa"), ("hoạ", "họa"),
    ("khoẻ", "khỏe"), ("xoè", "xòe"), ("loé", "lóe"), ("hoè", "hòe"), ("oẹ", "ọe"),
    ("thuỷ", "thủy"), ("thuỳ", "thùy"), ("tuý", "túy"), ("luỹ", "lũy"), ("thuỵ", "thụy"),
    ("uỷ", "ủy"), ("Uỷ", "Ủy"), ("UỶ", "ỦY"), ("HOÀ", "HÒA"), ("Hoà", "Hòa"),
    ("hoàn", "hoàn"), ("toán", "toán"), ("hoàng", "hoàng"), ("quý", "quý"), ("qúy", "quý"),
    ("quỳnh", "quỳnh"), ("quả", "quả"), ("qủa", "quả"), ("giữa", "giữa"), ("gìn", "gìn"),
    ("gịa", "giạ"), ("lựơng", "lượng"), ("nứơc", "nước"), ("đựơc", "được"), ("ngừơi", "người"),
    ("mía", "mía"), ("múa", "múa"), ("ngoài", "ngoài"), ("khuỷu", "khuỷu"), ("huỳnh", "huỳnh"),
    ("khuyến", "khuyến"), ("thuở", "thuở"), ("Pleiku", "Pleiku"), ("Covid-19", "Covid-19"),
    ("Ðà Nẵng", "Đà Nẵng"), ("ðường", "đường"), ("Hà\u200bNội", "HàNội"), ("\ufeffxin chào", "xin chào"),
    ("bình\u00adthường", "bìnhthường"), ("Hoà Bình và Thuỷ Điện", "Hòa Bình và Thủy Điện"),
]


@pytest.mark.parametrize("typed,canonical", PAIRS)
def test_canonical_pairs(typed, canonical):
    assert normalize(typed) == canonical
    assert normalize(unicodedata.normalize("NFD", typed)) == canonical


def test_enough_pairs():
    assert len(PAIRS) >= 40


def test_place_tone_leaves_non_syllables_alone():
    for w in ["Pleiku", "xyz", "hoàà", "ThS", "nguời"]:
        assert place_tone(w) == w


def test_fold():
    assert fold("Hà Nội") == "ha noi"
    assert fold("ĐƯỜNG Đi") == "duong di"
    assert fold("Thuỷ") == fold("thủy") == "thuy"
    assert fold("Ðà") == "da"
    assert fold("caf\u00e9") == "cafe"


def test_has_diacritics():
    assert has_diacritics("Hà Nội")
    assert has_diacritics("đi")
    assert not has_diacritics("Ha Noi")


vietnamese = st.text(alphabet=st.sampled_from(list("aăâeêioôơuưyđbcghklmnpqrstvx ÀÁẢÃẠàáảãạỳýỷỹỵÐð\u0300\u0301\u0303\u0309\u0323\u200b.,?")), max_size=60)


@given(st.one_of(st.text(), vietnamese))
@settings(max_examples=400, deadline=None)
def test_normalize_idempotent(x):
    once = normalize(x)
    assert normalize(once) == once


@given(st.one_of(st.text(), vietnamese))
@settings(max_examples=400, deadline=None)
def test_fold_ignores_normalization(x):
    assert fold(normalize(x)) == fold(x)


@given(st.text())
@settings(max_examples=200, deadline=None)
def test_normalize_output_is_nfc(x):
    assert unicodedata.is_normalized("NFC", normalize(x))

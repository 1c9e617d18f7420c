import pickle

from vnsearch.analysis import (
    FoldFilter,
    VietnameseTokenizer,
    analyze,
    folded_analyzer,
    syllable_analyzer,
    word_analyzer,
)

TEXT = "Công nghệ thông tin ở Hà Nội.\nThuỷ điện Hoà Bình, TP. HCM à ạ ý"


def terms(analyzer, text=TEXT):
    return [t.text for t in analyzer(text)]


def test_word_terms():
    assert terms(word_analyzer()) == [
        "công_nghệ", "thông_tin", "ở", "hà_nội", "thủy_điện", "hòa_bình", "tp", "hcm", "à", "ạ", "ý",
    ]


def test_syllable_and_folded_terms():
    syl = terms(syllable_analyzer())
    assert syl[:6] == ["công", "nghệ", "thông", "tin", "ở", "hà"]
    assert "hòa" in syl and "thủy" in syl
    assert terms(folded_analyzer()) == [
        "cong", "nghe", "thong", "tin", "o", "ha", "noi", "thuy", "dien", "hoa", "binh", "tp", "hcm", "a", "a", "y",
    ]


def test_one_letter_words_are_kept():
    assert terms(word_analyzer(), "ở à ạ ý") == ["ở", "à", "ạ", "ý"]


def test_positions_and_chars_slice_normalized_text():
    a = analyze(TEXT)
    for analyzer in (word_analyzer(), syllable_analyzer()):
        toks = [t.copy() for t in analyzer(TEXT, positions=True, chars=True)]  # Whoosh reuses its Token
        assert [t.pos for t in toks] == list(range(len(toks)))
        for t in toks:
            assert a.text[t.startchar : t.endchar].lower().replace(" ", "_") == t.text


def test_pre_segmented_text_splits_syllables():
    assert terms(syllable_analyzer(), "công_nghệ thông_tin") == ["công", "nghệ", "thông", "tin"]


def test_nfd_input_offsets_refer_to_normalized_text():
    import unicodedata

    nfd = unicodedata.normalize("NFD", "Hà Nội")
    a = analyze(nfd)
    assert a.text == "Hà Nội"
    assert [a.text[s:e] for _, s, e in a.syllables] == ["Hà", "Nội"]


def test_analyzers_pickle_small_and_equal():
    for make in (word_analyzer, syllable_analyzer, folded_analyzer):
        data = pickle.dumps(make())
        assert len(data) < 1000  # no model inside
        assert pickle.loads(data) == make()
    assert VietnameseTokenizer("word") != VietnameseTokenizer("syllable")
    assert pickle.loads(pickle.dumps(FoldFilter())) == FoldFilter()


from hypothesis import given, settings
from hypothesis import strategies as st

from vnsearch.text.terms import index_terms, syllable_terms
from vnsearch.text.normalize import normalize


@given(st.one_of(st.text(max_size=200), st.sampled_from([TEXT, "công_nghệ thông_tin", "TP. HCM và UBND.", ""])))
@settings(max_examples=200, deadline=None)
def test_indexing_fast_path_gives_the_same_terms_as_analyze(x):
    # the index is built from index_terms, queries and highlights use analyze: they must agree
    text = normalize(x)
    a = analyze(text, normalized=True)
    words, syllables = index_terms(text)
    assert words == [t for t, _, _ in a.words]
    assert syllables == [t for t, _, _ in a.syllables] == syllable_terms(text)


def test_pairs_are_folded_syllables_side_by_side_never_across_punctuation():
    from vnsearch.text.terms import PAIR_BUCKETS, index_streams, pair_key, pair_terms

    want = [("ha", "noi"), ("hue", "va"), ("va", "tp"), ("tp", "da"), ("da", "nang")]  # not "noi hue"
    assert pair_terms("Hà Nội, Huế và TP. Đà Nẵng") == sorted({pair_key(a, b) for a, b in want})
    words, syllables, pairs = index_streams("Công nghệ thông tin, công nghệ")
    assert pairs == sorted({pair_key("cong", "nghe"), pair_key("nghe", "thong"), pair_key("thong", "tin")})
    assert pair_key("ha", "noi") == pair_key("ha", "noi") and int(pair_key("ha", "noi"), 16) < PAIR_BUCKETS

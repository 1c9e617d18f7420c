import re
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vnsearch.text.normalize import normalize
from vnsearch.text import segment as segment_module
from vnsearch.text.segment import (MAX_TOKEN, Token, segment, syllable_spans, syllables, tokenize,
                                   words_from_syllables, words_of)


@pytest.fixture(scope="module")
def pyvi_tokenize():
    from pyvi import ViTokenizer

    return ViTokenizer.tokenize


SAMPLES = [
    "Công nghệ thông tin phát triển mạnh ở Hà Nội.",
    "Chủ tịch UBND TP. Pleiku, ông Đỗ Việt Hưng, đã ký kết ngày 26-7-2003.",
    "Giá vàng hôm nay 3.500.000 đồng/chỉ; email: ban.doc@example.com, web https://baomoi.com/x?y=1",
    "Dòng một\nDòng hai ==> kết quả... >> tiếp -> hết",
    "Mr. Smith và Dr. Lan gặp ThS. Hùng ở Tp. Hồ Chí Minh",
    "ở à ạ ý",
    "   ",
    "",
    "🙂 emoji and English words mixed với tiếng Việt",
]


@pytest.mark.parametrize("text", SAMPLES)
def test_same_as_pyvi(text, pyvi_tokenize):
    assert tokenize(text) == pyvi_tokenize(text)


def test_tokens_have_offsets_and_positions():
    text = "Công nghệ thông tin"
    toks = segment(text)
    assert toks == [Token("Công_nghệ", 0, 9, 0), Token("thông_tin", 10, 19, 1)]
    assert text[toks[0].start : toks[0].end] == "Công nghệ"


def _surface_ok(text, tokens):
    """Each word's span holds exactly its syllables, separated by nothing but white space.

    (pyvi writes ``_`` between the syllables it joins, whether or not the
    text had a space there, e.g. a letter followed by a control character;
    it may even join a line break to the next syllable: "\\ne\\n" -> "\\n_e \\n".)
    """
    for t in tokens:
        assert 0 <= t.start <= t.end <= len(text)
        surface = text[t.start : t.end]
        if t.text == "\n":  # pyvi keeps line breaks as tokens
            assert surface == "\n"
            continue
        word = t.text.replace("_", "")
        assert re.sub(r"\s+", "", surface).replace("_", "") == re.sub(r"\s+", "", word)
        assert surface[:1].isspace() == word[:1].isspace() and surface[-1:].isspace() == word[-1:].isspace()


@given(st.text(max_size=300))
@settings(max_examples=300, deadline=None)
def test_offsets_slice_back_to_surface(x):
    text = normalize(x)
    _surface_ok(text, segment(text))
    toks, starts, ends = syllable_spans(text)
    assert all(text[s:e] == t for t, s, e in zip(toks, starts, ends))


def test_line_break_joined_like_pyvi(pyvi_tokenize):
    text = "\ne\n"  # found by hypothesis
    assert tokenize(text) == pyvi_tokenize(text) == "\n_e \n"
    _surface_ok(text, segment(text))


def test_large_and_odd_inputs():
    big = ("Hà Nội là thủ đô của Việt Nam. " * 170_000)[:5_000_000]
    toks = segment(big)
    assert toks[-1].end <= len(big)
    for odd in ["", "\u0301", "\x00\x01\x02", "a\u0301\u0301\u0301", "\ud800x", "Ð" * 10, "中文 العربية"]:
        _surface_ok(odd, segment(odd))


def test_same_as_pyvi_on_500_baomoi_articles(pyvi_tokenize, baomoi_texts):
    texts = [unicodedata.normalize("NFC", t) for t in baomoi_texts(500)]
    differing = [i for i, t in enumerate(texts) if tokenize(t) != pyvi_tokenize(t)]
    assert differing == []


@given(st.text(max_size=300) | st.sampled_from(SAMPLES))
@settings(max_examples=300, deadline=None)
def test_offset_free_path_gives_the_same_tokens_and_words(x):
    """Indexing reads `syllables` and `words_of`, queries and highlights the spans: the same words."""
    text = normalize(x)
    toks, starts, ends = syllable_spans(text)
    assert syllables(text) == toks
    assert words_of(toks) == words_from_syllables(toks, starts, ends)[0]


def test_long_tokens_are_cut_the_same_way_without_offsets():
    text = "a" * (2 * MAX_TOKEN + 7) + " Hà Nội " + "https://x.vn/" + "b" * 600
    assert syllables(text) == syllable_spans(text)[0]
    assert max(map(len, syllables(text))) == MAX_TOKEN


def test_labels_the_same_when_the_syllable_table_starts_over(pyvi_tokenize, monkeypatch):
    """The model's per-syllable rows are bounded: starting them over mid-stream changes nothing."""
    text = "Chủ tịch UBND TP. Pleiku, ông Đỗ Việt Hưng, đã ký kết ngày 26-7-2003 ở Hà Nội."
    monkeypatch.setattr(segment_module._Model, "MAX_ROWS", 8)
    model = segment_module._Model()
    monkeypatch.setattr(segment_module, "_model", model)
    for _ in range(3):
        assert tokenize(text) == pyvi_tokenize(text)
        assert len(model.rows) <= max(8, len(syllables(text)))

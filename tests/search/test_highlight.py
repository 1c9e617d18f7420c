import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vnsearch.search.highlight import MatchTerms, fold_aligned, fragments, match_spans
from vnsearch.text.normalize import fold


def _reference(text: str) -> str:
    """Fold each character on its own, keeping it when its fold is not exactly one character.

    Only below U+2000: the stored text is normalized, and what lies above
    (symbols, CJK, emoji, surrogates) is left as it is.
    """
    out = []
    for c in text:
        f = fold(c) if ord(c) < 0x2000 else c
        out.append(f if len(f) == 1 else c)
    return "".join(out)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=()), max_size=200)
       | st.text(alphabet="aàảãáạăằẳẵắặâầẩẫấậđĐÀỆỳỸ \n\u0301\ud800😀ǅ", max_size=200))
def test_fold_aligned_is_fold_per_character(text):
    out = fold_aligned(text)
    assert len(out) == len(text)
    assert out == _reference(text)


def test_fold_aligned_vietnamese():
    assert fold_aligned("Đường Hồ Chí Minh, thuỷ điện") == "duong ho chi minh, thuy dien"


def test_match_spans_exact_folded_and_sequences():
    text = "Hà Nội, ha noi và HÀ NỘI; Hàn Quốc"
    terms = MatchTerms(syllables={"hà", "nội"}, folded=set(), sequences=set())
    assert [text[a:b] for a, b in match_spans(text, terms)] == ["Hà Nội", "HÀ NỘI"]
    terms = MatchTerms(folded={"ha", "noi"})
    assert [text[a:b] for a, b in match_spans(text, terms)] == ["Hà Nội", "ha noi", "HÀ NỘI"]
    terms = MatchTerms(sequences={("hàn", "quốc")})
    assert [text[a:b] for a, b in match_spans(text, terms)] == ["Hàn Quốc"]


@pytest.mark.parametrize("syllables, folded", [({"hà", "nội"}, set()), (set(), {"ha", "noi"}), ({"hà"}, {"noi"})])
def test_a_sequence_whose_syllables_light_up_alone_gives_the_same_spans(syllables, folded):
    """Such a sequence is not searched for (its syllables' spans merge into it): nothing changes."""
    text = "Hà Nội,  hà\n nội; hà một mình; Nội Bài; Hà Nội-Hà Nội"
    alone = match_spans(text, MatchTerms(syllables=set(syllables), folded=set(folded)))
    both = MatchTerms(syllables=set(syllables), folded=set(folded), sequences={("hà", "nội")})
    assert not both.patterns()[1]  # the sequence is left out ...
    assert match_spans(text, both) == alone  # ... and the spans are those it would have merged into
    assert [text[a:b] for a, b in alone][:2] == ["Hà Nội", "hà\n nội"]
    partly = MatchTerms(syllables={"hà"}, sequences={("hà", "nội")})  # nội alone does not light up
    assert [text[a:b] for a, b in match_spans(text, partly)] == ["Hà Nội", "hà\n nội", "hà", "Hà Nội", "Hà Nội"]


_SYLLABLES = ["hà", "nội", "ha", "noi", "Hà", "NỘI", "là", "la", "lá", "2", "covid", "x_y", "Đà"]
_BETWEEN = [" ", " ", ", ", "\n", "-", "(", "😀", "\u0301", "İ", ""]


@settings(max_examples=500, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(_SYLLABLES), st.sampled_from(_BETWEEN)), max_size=25),
       st.sets(st.sampled_from(_SYLLABLES + ["2,7", "-"])), st.sets(st.sampled_from(["ha", "noi", "la", "2,7"])))
def test_whole_words_found_by_find_are_the_patterns_spans(pieces, syllables, folded):
    """Whole words are looked for with str.find in a copy whose non-word characters are spaces:
    the spans are the ones the pattern finds (astral characters, targets with punctuation and
    letters whose lower case is longer included)."""
    text = "".join(w + b for w, b in pieces)
    syllables = {s.lower() for s in syllables}
    fast = MatchTerms(syllables=set(syllables), folded=set(folded))
    pattern = MatchTerms(syllables=set(syllables), folded=set(folded))
    pattern.patterns()
    pattern._patterns = pattern._patterns[:2] + (None,)  # no word list: the pattern's path
    assert match_spans(text, fast) == match_spans(text, pattern)


def test_fragments_slice_the_text_and_prefer_more_distinct_matches():
    text = ("mưa " * 100) + "Hà Nội có mưa lớn ở Hà Nội. " + ("nắng " * 100)
    terms = MatchTerms(syllables={"hà", "nội", "mưa"})
    frags = fragments(text, terms, max_fragments=1, width=80)
    assert len(frags) == 1
    f = frags[0]
    assert text[f.start : f.end] == f.text
    lit = {f.text[a:b].lower() for a, b in f.highlights}
    assert "hà nội" in lit and any("mưa" in x for x in lit)


def test_fragments_of_a_huge_document_with_a_common_word():
    """200,000 matches: windows are found by bisection, not by scanning the later spans for each match (quadratic)."""
    text = "mưa rơi " * 200_000
    frags = fragments(text, MatchTerms(syllables={"mưa"}), max_fragments=3)
    assert len(frags) == 3 and all(f.text[a:b] == "mưa" for f in frags for a, b in f.highlights)

"""Vietnamese text normalization shared by documents and queries.

`normalize` makes equal words equal code points: NFC, look-alike letters,
invisible characters removed, and one tone-mark placement per syllable.
`fold` maps text to its accent-free lower-case key for accent-insensitive
matching.  Both are pure functions of their input and never raise.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["normalize", "fold", "fold_word", "clean_chars", "place_tone", "has_diacritics"]

# Characters that carry no meaning but break matching, and look-alike letters.
_CHAR_MAP = {
    0x200B: None,  # zero width space
    0x200C: None,  # zero width non-joiner
    0x200D: None,  # zero width joiner
    0x2060: None,  # word joiner
    0xFEFF: None,  # BOM / zero width no-break space
    0x00AD: None,  # soft hyphen
    0x00D0: "\u0110",  # Ð (Icelandic eth) -> Đ
    0x00F0: "\u0111",  # ð -> đ
    0x0189: "\u0110",  # Ɖ (African D) -> Đ
    0x0256: "\u0111",  # ɖ -> đ
}
_LOOKALIKES = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad\u00d0\u00f0\u0189\u0256\ud800-\udfff]")
_SURROGATES = re.compile("[\ud800-\udfff]")

_TONES = ("", "\u0300", "\u0301", "\u0309", "\u0303", "\u0323")  # none, huyền, sắc, hỏi, ngã, nặng
_BASE_VOWELS = "aăâeêioôơuưy"
_VOWEL_SET = frozenset(_BASE_VOWELS)
_MARKED_VOWELS = frozenset("ăâêôơư")

# composed letter -> (tone-free letter, tone index); (tone-free letter, tone) -> composed
_SPLIT: dict[str, tuple[str, int]] = {}
_JOIN: dict[tuple[str, int], str] = {}
for _base in _BASE_VOWELS + _BASE_VOWELS.upper():
    for _t, _mark in enumerate(_TONES):
        _c = unicodedata.normalize("NFC", _base + _mark)
        _SPLIT[_c] = (_base, _t)
        _JOIN[(_base, _t)] = _c
for _c in "bcdđghklmnpqrstvx" + "fjwz":
    _SPLIT[_c] = (_c, 0)
    _SPLIT[_c.upper()] = (_c.upper(), 0)

_ONSETS = ("ngh", "ng", "nh", "ch", "gh", "gi", "kh", "ph", "qu", "th", "tr",
           "b", "c", "d", "đ", "g", "h", "k", "l", "m", "n", "p", "q", "r", "s", "t", "v", "x")
_CODAS = frozenset(("", "c", "ch", "m", "n", "ng", "nh", "p", "t"))

_TONED = "".join(c for (b, t), c in _JOIN.items() if t)
_ALL_VOWELS = "".join(_JOIN.values())
# Only a toned vowel next to another vowel can be misplaced: other words are left alone.
# A syllable has at most 8 letters (nghiêng), so a candidate is a whole word of at most 16
# letters: the bounds and the word-boundary look-arounds keep the scan linear (an unbounded
# letter run made every start position rescan the run: quadratic on a long word).
_LETTER = "[^\\W\\d_]"
_CANDIDATE = re.compile(
    f"(?<!{_LETTER}){_LETTER}{{0,7}}(?:[{_TONED}][{_ALL_VOWELS}]|[{_ALL_VOWELS}][{_TONED}]){_LETTER}{{0,7}}(?!{_LETTER})"
)


def _tone_target(base: str) -> int | None:
    """Index in `base` (lower case, tone-free) where the tone belongs, or None."""
    onset = ""
    for o in _ONSETS:
        if base.startswith(o):
            # gi- and qu- are onsets only when another vowel follows (gìn, quý vs. giữa)
            if o in ("gi", "qu") and (len(base) == 2 or base[2] not in _VOWEL_SET):
                if o == "qu":
                    return None
                onset = "g"
                break
            onset = o
            break
    i = len(onset)
    j = i
    while j < len(base) and base[j] in _VOWEL_SET:
        j += 1
    nucleus, coda = base[i:j], base[j:]
    if not nucleus or coda not in _CODAS or len(nucleus) > 3:
        return None
    marked = [k for k, ch in enumerate(nucleus) if ch in _MARKED_VOWELS]
    if marked:
        pos = marked[-1]
    elif coda:
        pos = len(nucleus) - 1
    elif len(nucleus) == 3:
        pos = 1
    else:
        pos = 0  # open syllables: hòa, khỏe, thủy, mía, múa
    return i + pos


def place_tone(word: str) -> str:
    """Move the tone mark of one NFC syllable to its canonical vowel.

    Words that are not a single well-formed Vietnamese syllable with exactly
    one tone are returned unchanged.
    """
    parts = []
    tone = 0
    toned_at = -1
    for k, ch in enumerate(word):
        split = _SPLIT.get(ch)
        if split is None:
            return word
        if split[1]:
            if tone:
                return word
            tone, toned_at = split[1], k
        parts.append(split[0])
    if not tone:
        return word
    target = _tone_target("".join(parts).lower())
    if target is None or target == toned_at:
        return word
    parts[target] = _JOIN[(parts[target], tone)]
    return "".join(parts)


_retone_cache: dict[str, str] = {}


def _retone_match(m: re.Match) -> str:
    w = m.group(0)
    end = m.end()
    if end < len(m.string) and unicodedata.combining(m.string[end]):
        return w  # a stray combining mark follows: not a syllable we understand
    r = _retone_cache.get(w)
    if r is None:
        r = place_tone(w)
        if len(_retone_cache) < 200_000:
            _retone_cache[w] = r
    return r


def clean_chars(text: str) -> str:
    """Drop invisible characters and map look-alike letters to Vietnamese ones."""
    if _LOOKALIKES.search(text):
        # lone surrogates cannot be stored as UTF-8: they become U+FFFD
        return _SURROGATES.sub("\ufffd", text.translate(_CHAR_MAP))
    return text


def normalize(text: str) -> str:
    """Canonical form of Vietnamese text: the one form documents and queries are compared in."""
    text = clean_chars(text)
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    return _CANDIDATE.sub(_retone_match, text)


def _strip_marks(text: str) -> str:
    d = unicodedata.normalize("NFD", text)
    return "".join(c for c in d if not unicodedata.combining(c))


_fold_cache: dict[str, str] = {}


def fold(text: str) -> str:
    """Accent-insensitive key: lower case, no diacritics, đ -> d."""
    text = clean_chars(text)
    if text.isascii():
        return text.lower()
    s = _strip_marks(_strip_marks(text).lower())
    return s.replace("đ", "d")


def fold_word(word: str) -> str:
    """`fold` for a single token, memoized: vocabularies are small, token streams are not."""
    r = _fold_cache.get(word)
    if r is None:
        r = fold(word)
        if len(_fold_cache) < 500_000:
            _fold_cache[word] = r
    return r


def fold_list(words: list[str]) -> list[str]:
    """`fold_word` over a list: the indexing fast path."""
    out = list(map(_fold_cache.get, words))
    if None in out:
        out = [f if f is not None else fold_word(w) for f, w in zip(out, words)]
    return out


def has_diacritics(text: str) -> bool:
    """True if folding would change more than the case of `text`."""
    return fold(text) != clean_chars(text).lower()

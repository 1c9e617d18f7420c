"""Terms of the small fields: a document's metadata (``author:``, ``tags:``...) and where it lives.

Metadata terms carry their field's name, so every field shares one index
field: ``author:nguyễn`` (the syllable as written) and ``author~nguyen``
(folded), so ``author:nguyen`` finds every spelling and ``author:Nguyễn``
only that one, as in free text.  A path yields itself and each folder
above it (``/home/u/bao/``), so "everything under this folder" is one term.
"""

from __future__ import annotations

import unicodedata

from vnsearch.text.normalize import fold_word, has_diacritics, normalize
from vnsearch.text.terms import syllable_terms

EXACT, FOLDED = ":", "~"


def pack_fields(fields: dict[str, str]) -> str:
    """Metadata as the one string the index stores (name TAB value, a line each)."""
    return "\n".join(f"{k}\t{' '.join(str(v).split())}" for k, v in sorted(fields.items()) if k and v)


def unpack_fields(text: str | None) -> dict[str, str]:
    out = {}
    for line in (text or "").split("\n"):
        name, sep, value = line.partition("\t")
        if sep:
            out[name] = value
    return out


def value_syllables(value: str) -> list[str]:
    return [s.lower() for s in syllable_terms(normalize(value))]


def meta_terms(packed: str) -> list[str]:
    """Index terms of packed metadata: each syllable of each value, exact and folded, with its field."""
    terms = []
    for name, value in unpack_fields(packed).items():
        for s in dict.fromkeys(value_syllables(value)):
            terms.append(f"{name}{EXACT}{s}")
            terms.append(f"{name}{FOLDED}{fold_word(s)}")
    return list(dict.fromkeys(terms))


def meta_query_terms(name: str, value: str, accents: bool = True) -> list[str]:
    """The terms a document must hold for ``name:value``: diacritics typed are matched as typed."""
    syl = value_syllables(value)
    if accents and has_diacritics(value):
        return [f"{name}{EXACT}{s}" for s in dict.fromkeys(syl)]
    return [f"{name}{FOLDED}{fold_word(s)}" for s in dict.fromkeys(syl)]


def field_names(terms) -> list[str]:
    """The field names among metadata terms (sorted terms: each name's terms are side by side)."""
    names = []
    for t in terms:
        name = t.split(EXACT, 1)[0].split(FOLDED, 1)[0]
        if not names or names[-1] != name:
            names.append(name)
    return sorted(set(names))


def path_terms(path: str) -> list[str]:
    """A path, and each folder above it ending with "/" (``/a/b/c.txt`` -> ``/a/``, ``/a/b/``)."""
    if not path:
        return []
    p = unicodedata.normalize("NFC", path).replace("\\", "/")
    out = [p]
    at = p.find("/", 1 if p.startswith("/") else 0)
    while 0 <= at < len(p) - 1:
        out.append(p[: at + 1])
        at = p.find("/", at + 1)
    return list(dict.fromkeys(out))


def folder_term(folder: str) -> str:
    """The term every document under `folder` (an absolute path) holds."""
    p = unicodedata.normalize("NFC", folder).replace("\\", "/")
    return p if p.endswith("/") else p + "/"

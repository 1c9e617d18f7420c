"""Synonyms and abbreviations: forms that mean the same, found whichever one a query uses.

A group is one line of equivalent forms separated by ``=`` (``UBND = ủy ban
nhân dân``).  The package's `abbreviations.txt` holds the common ones of news
text; a user's file (``--synonyms FILE``, or ``synonyms.txt`` in the index
folder) adds more.  Forms are read like queries: normalized, cut into
syllables, compared without case or diacritics, so ``UBND``, ``ubnd`` and
``Ủy ban nhân dân`` all meet.  The planner (`query.plan`) ORs each run of
query words that spells a form with the group's other forms, each found
side by side like a word of several syllables.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from vnsearch.errors import VnsearchError
from vnsearch.text.normalize import fold_word, has_diacritics
from vnsearch.text.terms import analyze

USER_FILE = "synonyms.txt"  # read from the index folder when present
_BUILT_IN = Path(__file__).with_name("abbreviations.txt")


class Synonyms:
    """Forms by their folded syllables, each with the other forms of its group (lower-case
    syllables); a query's syllables typed with diacritics must match a form's exactly."""

    def __init__(self):
        # folded form -> [(the form as written, the other forms of its group)]
        self._alts: dict[tuple[str, ...], list[tuple[tuple[str, ...], list[tuple[str, ...]]]]] = {}
        self.longest = 0

    def __len__(self) -> int:
        return len(self._alts)

    def add_group(self, forms: list[str]) -> None:
        read = []
        for form in forms:
            syl = tuple(t for t, _, _ in analyze(form).syllables)
            if syl and syl not in read:
                read.append(syl)
        for syl in read:
            key = tuple(fold_word(s) for s in syl)
            entries = self._alts.setdefault(key, [])
            others = [o for o in read if o != syl]
            for written, alts in entries:
                if written == syl:
                    alts.extend(o for o in others if o not in alts)
                    break
            else:
                entries.append((syl, others))
            self.longest = max(self.longest, len(key))

    def read(self, lines, source: str) -> "Synonyms":
        """Add the groups of a file's lines (``#`` starts a comment); a line with one form is an
        error naming `source` and the line."""
        for n, line in enumerate(lines, 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            forms = [f.strip() for f in line.split("=") if f.strip()]
            if len(forms) < 2:
                raise VnsearchError(f"{source}:{n}: a synonym line needs two forms or more, like 'UBND = ủy ban nhân dân'")
            self.add_group(forms)
        return self

    def with_file(self, path: str | Path) -> "Synonyms":
        """A copy with the groups of a user's file added."""
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as e:
            raise VnsearchError(f"cannot read the synonyms file {p}: {getattr(e, 'strerror', None) or e}") from None
        out = Synonyms()
        out._alts = {k: [(w, list(a)) for w, a in v] for k, v in self._alts.items()}
        out.longest = self.longest
        return out.read(text.splitlines(), str(p))

    def runs(self, syllables: list[list[str]]) -> list[tuple[int, int, list[tuple[str, ...]]]]:
        """(first word, end word, other forms) for the runs of whole query words (each a list of
        syllables) that spell a form: longest first, left to right, not overlapping."""
        out = []
        folded = [[fold_word(s) for s in w] for w in syllables]
        i = 0
        while i < len(folded):
            found = None
            span = 0
            for j in range(i + 1, len(folded) + 1):
                span += len(folded[j - 1])
                if span > self.longest:
                    break
                key = tuple(s for w in folded[i:j] for s in w)
                typed = [s for w in syllables[i:j] for s in w]
                for written, alts in self._alts.get(key, ()):
                    # accents as typed: a syllable with diacritics must have the form's own
                    if all(t == w or not has_diacritics(t) for t, w in zip(typed, written)):
                        found = (i, j, alts)
                        break
            if found:
                out.append(found)
                i = found[1]
            else:
                i += 1
        return out


@lru_cache(maxsize=1)
def built_in() -> Synonyms:
    """The package's abbreviations."""
    return Synonyms().read(_BUILT_IN.read_text(encoding="utf-8").splitlines(), str(_BUILT_IN))


def for_index(folder: Path, extra: str | Path | None = None) -> Synonyms:
    """The built-in abbreviations, plus the index folder's synonyms.txt and `extra` when given."""
    syn = built_in()
    if (folder / USER_FILE).is_file():
        syn = syn.with_file(folder / USER_FILE)
    if extra is not None:
        syn = syn.with_file(extra)
    return syn

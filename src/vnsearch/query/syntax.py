"""Query segmentation: Whoosh query syntax whose free text is segmented like documents.

Whoosh's parser splits on spaces before any analyzer runs, so ``công nghệ``
would become ``công AND nghệ`` and never meet the indexed word
``công_nghệ``.  `segment_query` rewrites a query so that each free-text word
is one space-free term (``công_nghệ``), leaving the syntax intact.

The rules, in the order they are tried at each point of the query:

* ``"..."`` is a phrase; its inside is segmented; ``"..."~N`` sets its slop.
* ``(`` ``)`` group; ``[a TO b]`` / ``{a TO b}`` (and the open forms
  ``[a TO]``, ``[TO b]``) are ranges; ``^N`` after a term, phrase or group
  boosts it; ``word~`` / ``word~N`` is a fuzzy term.
* ``AND`` ``OR`` ``NOT`` ``ANDNOT`` in upper case, standing alone, are operators.
* ``name:`` is a field prefix only when ``name`` is a field of the index;
  otherwise the colon is punctuation (``Lưu ý: ...``).  ``date:`` also takes
  ``>X``, ``>=X``, ``<X``, ``<=X``.
* ``*`` inside a word makes it a wildcard.  ``?`` is a wildcard only with a
  letter or digit right after it (``ng?y``); a ``?`` ending a word or
  standing alone is a question mark.
* Everything else is free text: ``, . ' ? ! ;`` and other punctuation are
  separators, exactly as in documents.  Free text with diacritics is
  segmented into words with pyvi; free text without any diacritic
  (``ha noi``) is kept as separate syllables, because pyvi cannot segment
  unaccented Vietnamese and would invent words.

Errors (unbalanced quotes, parentheses or brackets, a range without ``TO``,
an operator with nothing to apply to) raise `QueryError` with the position.
"""

from __future__ import annotations

import re

from vnsearch.text.terms import analyze
from vnsearch.errors import QueryError
from vnsearch.text.normalize import has_diacritics, normalize

__all__ = ["QueryError", "segment_query"]

_BINARY = ("AND", "OR", "ANDNOT")
_OPERATOR = re.compile(r"(AND|OR|NOT|ANDNOT)(?=[\s(\"]|$)")
# a field prefix: a value follows at once, or nothing does ("title:" at the end: an error, not text)
_FIELD = re.compile(r"([A-Za-z_][A-Za-z0-9_]*):(?=[^\s]|\s*$)")
_WORD = re.compile(r"[^\s()\[\]{}\"^~]+")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_PLAIN_TERM = re.compile(r"^\w+$")
_COMPARE = re.compile(r"(>=|<=|>|<)")


def _is_wildcard(word: str) -> bool:
    if "*" in word:
        return any(c.isalnum() for c in word) or word == "*"
    for i, c in enumerate(word):
        if c == "?" and i + 1 < len(word) and word[i + 1].isalnum():
            return True
    return False


def _literal(term: str) -> str:
    """A term Whoosh will read back as exactly one term."""
    if _PLAIN_TERM.match(term):
        return term
    return "'" + term.replace("'", "") + "'"


def _free_terms(text: str) -> list[str]:
    """Terms of a run of free text, segmented as documents are."""
    a = analyze(text)
    if has_diacritics(a.text):
        return [t for t, _, _ in a.words]
    return [t for t, _, _ in a.syllables]


class _Rewriter:
    def __init__(self, query: str, fields: frozenset[str], raw_fields: frozenset[str]):
        self.q = query
        self.fields = fields
        self.raw_fields = raw_fields
        self.out: list[str] = []
        self.text: list[str] = []  # pending free text
        self.text_start = 0
        self.prefix = ""  # pending field prefix
        self.prefix_pos = 0
        self.depth: list[int] = []
        self.last_operator: tuple[str, int] | None = None
        self.operands = 0
        self.max_phrase_words = 32

    # -- output -----------------------------------------------------------
    def emit(self, item: str) -> None:
        if self.prefix:
            item = self.prefix + item
            self.prefix = ""
        self.out.append(item)
        self.last_operator = None
        self.operands += 1

    def flush(self) -> None:
        if not self.text:
            return
        terms = _free_terms("".join(self.text))
        self.text = []
        for t in terms:
            self.emit(_literal(t))

    def attach(self, suffix: str, pos: int) -> None:
        """Append ^N or ~N to the item just emitted."""
        self.flush()
        if not self.out or self.last_operator or self.out[-1] in ("(",) or self.prefix:
            raise QueryError(f"'{suffix[0]}' must follow a term, phrase or group", self.q, pos)
        self.out[-1] += suffix

    # -- scanning ---------------------------------------------------------
    def run(self) -> str:
        q = self.q
        n = len(q)
        i = 0
        while i < n:
            c = q[i]
            at_start = i == 0 or q[i - 1].isspace() or q[i - 1] in "("
            if c.isspace():
                self.text.append(" ")
                i += 1
            elif c == '"':
                i = self.phrase(i)
            elif c == "(":
                self.flush()
                self.depth.append(i)
                self.out.append(self.prefix + "(")
                self.prefix = ""
                self.last_operator = None
                i += 1
            elif c == ")":
                self.flush()
                if not self.depth:
                    raise QueryError("unmatched ')'", q, i)
                if self.prefix:
                    raise QueryError(f"field '{self.prefix[:-1]}' needs a value", q, self.prefix_pos)
                if self.last_operator:
                    op, pos = self.last_operator
                    raise QueryError(f"{op} has nothing after it", q, pos)
                self.depth.pop()
                self.out.append(")")
                i += 1
            elif c in "[{":
                i = self.range(i)
            elif c in "]}":
                raise QueryError(f"unmatched '{c}'", q, i)
            elif c in "^~" and i > 0 and not q[i - 1].isspace():
                m = _NUMBER.match(q, i + 1)
                if c == "^" and not m:
                    raise QueryError("'^' needs a number after it", q, i)
                end = m.end() if m else i + 1
                self.attach(q[i:end], i)
                i = end
            elif at_start and ((m := _OPERATOR.match(q, i)) or _is_minus(q, i)):
                self.flush()
                op = m.group(1) if m else "NOT"
                m_end = m.end() if m else i + 1
                if op in _BINARY and (self.last_operator or self.operands == 0 or self.out[-1] == "("):
                    raise QueryError(f"{op} needs a term before it", q, i)
                if op == "NOT" and self.last_operator and self.last_operator[0] == "NOT":
                    raise QueryError("NOT NOT: say it once", q, i)
                if self.prefix:
                    raise QueryError(f"field '{self.prefix[:-1]}' needs a value", q, self.prefix_pos)
                self.out.append(op)
                self.last_operator = (op, i)
                i = m_end
            elif at_start and (m := _FIELD.match(q, i)) and m.group(1) in self.fields:
                self.flush()
                if self.prefix:
                    raise QueryError(f"field '{self.prefix[:-1]}' needs a value", q, self.prefix_pos)
                self.prefix = m.group(1) + ":"
                self.prefix_pos = i
                i = m.end()
                if m.group(1) in self.raw_fields:
                    i = self.raw_value(i)
            elif at_start and (m := _WORD.match(q, i)) and _is_wildcard(m.group()):
                self.flush()
                self.emit(_literal_wildcard(m.group()))
                i = m.end()
            else:
                self.text.append(c)
                i += 1
        self.flush()
        if self.prefix:
            raise QueryError(f"field '{self.prefix[:-1]}' needs a value", q, self.prefix_pos)
        if self.depth:
            raise QueryError("'(' is never closed", q, self.depth[-1])
        if self.last_operator:
            op, pos = self.last_operator
            raise QueryError(f"{op} has nothing after it", q, pos)
        return " ".join(self.out)

    def phrase(self, i: int) -> int:
        q = self.q
        end = q.find('"', i + 1)
        if end < 0:
            raise QueryError("unterminated quote", q, i)
        self.flush()
        inner = q[i + 1 : end]
        a = analyze(inner)
        words = [t for t, _, _ in a.words]
        if len(a.syllables) > self.max_phrase_words:
            raise QueryError(f"a phrase of {len(a.syllables):,} words; the limit is {self.max_phrase_words} "
                             f"(VNSEARCH_MAX_PHRASE_WORDS)", q, i)
        if words:
            # words keep their inner punctuation ("1.000", "29,6"), as documents index them;
            # only what the phrase syntax itself reads (a backslash) is dropped
            words = [w for w in (w.replace("\\", "") for w in words) if w]
            self.emit('"' + " ".join(words) + '"')
        elif self.prefix:
            raise QueryError(f"field '{self.prefix[:-1]}' needs a value", q, self.prefix_pos)
        return end + 1

    def range(self, i: int) -> int:
        q = self.q
        close = min((p for p in (q.find("]", i), q.find("}", i)) if p >= 0), default=-1)
        if close < 0:
            raise QueryError(f"'{q[i]}' is never closed", q, i)
        inner = q[i + 1 : close]
        parts = re.split(r"\s+TO\s+|^\s*TO\s+|\s+TO\s*$", inner)
        if len(parts) != 2:
            raise QueryError("a range needs the form [a TO b]", q, i)
        self.flush()
        raw = self.prefix[:-1] in self.raw_fields
        lo, hi = (p.strip() if raw else normalize(p.strip()).lower() for p in parts)
        self.emit(f"{q[i]}{_range_end(lo)} TO {_range_end(hi)}{q[close]}")
        return close + 1

    def raw_value(self, i: int) -> int:
        """The verbatim value of a non-text field (date:2023-07, id:abc), or its range."""
        q = self.q
        if i >= len(q) or q[i].isspace():
            raise QueryError(f"field '{self.prefix[:-1]}' needs a value", q, self.prefix_pos)
        if q[i] in "[{":
            return self.range(i)
        if q[i] == '"':  # a quoted value keeps its spaces: path:"ghi chú/a b.txt"
            end = q.find('"', i + 1)
            if end < 0:
                raise QueryError("unterminated quote", q, i)
            if end == i + 1:
                raise QueryError(f"field '{self.prefix[:-1]}' needs a value", q, i)
            self.emit(_literal(q[i + 1 : end]))
            return end + 1
        m = _COMPARE.match(q, i)
        start = m.end() if m else i
        vm = re.compile(r"[^\s()]+").match(q, start)
        if not vm:
            raise QueryError(f"field '{self.prefix[:-1]}' needs a value", q, i)
        v = vm.group()
        if m:
            op = m.group(1)
            self.emit(f"[{v} TO]" if op[0] == ">" else f"[TO {v}]")
        else:
            self.emit(_literal(v))
        return vm.end()


def _range_end(v: str) -> str:
    return v.replace(" ", "_")


def _literal_wildcard(word: str) -> str:
    w = normalize(word).lower()
    return re.sub(r"[^\w*?]", "", w) or "*"


def _is_minus(q: str, i: int) -> bool:
    """A ``-`` that excludes: at the start of a token, right before a letter, a quote or a group."""
    return q[i] == "-" and i + 1 < len(q) and (q[i + 1].isalpha() or q[i + 1] in "\"(")


def plain_text(query: str) -> bool:
    """True for words only: no field, phrase, group, wildcard, boost or operator syntax."""
    return not (_SYNTAX.search(query) or any(op in query.split() for op in ("AND", "OR", "NOT", "ANDNOT")))


# a ? is a wildcard only inside a word, a - excludes only before a word, phrase or group (see above)
_SYNTAX = re.compile(r'[:"()\[\]{}*^~\u201c\u201d\u201e\u201f\u00ab\u00bb]|\?(?=\w)|(?:^|(?<=\s))-(?=[^\W\d_]|["(])')


_OPENING = "\u201c\u201e\u201f\u00ab"  # “ „ ‟ «
_CLOSING = "\u201d\u00bb\u201c"  # ” » and “ (German „…“)


def _typographic_quotes(query: str) -> str:
    """Paired typographic quotes (“…”, „…“, «…») read as straight ones, one character for one so
    positions hold; a lone one stays punctuation, as in a title quoted only in part."""
    if not any(c in query for c in _OPENING):
        return query
    chars = list(query)
    i = 0
    while i < len(chars):
        if chars[i] in _OPENING:
            close = next((j for j in range(i + 1, len(chars)) if chars[j] in _CLOSING), -1)
            if close > 0:
                chars[i] = chars[close] = '"'
                i = close
        i += 1
    return "".join(chars)



def segment_query(query: str, fields=("title", "path", "id", "date"), raw_fields=("path", "id", "date"),
                  max_phrase_words: int = 32) -> str:
    """Rewrite `query` into Whoosh syntax with its free text segmented; raise `QueryError` if malformed.

    “Curly” and «angle» quotes are quotes; ``-word`` (a minus before a word, a phrase or a
    group) excludes like ``NOT word``.
    """
    query = _typographic_quotes(query)
    r = _Rewriter(query, frozenset(fields), frozenset(raw_fields))
    r.max_phrase_words = max_phrase_words
    return r.run()

"""The query language: text as typed to a tree (`query.ast`), free text segmented like documents.

A parser that splits on spaces before analysis (Whoosh's does) turns
``công nghệ`` into ``công AND nghệ``, which never meets the indexed word
``công_nghệ``.  Here free text is read in runs and segmented as documents
are, and the syntax around it becomes nodes with their source offsets.

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

``date:>X`` excludes X itself (all of it: ``date:>2023`` starts in 2024), ``date:<X`` likewise.

Errors (unbalanced quotes, parentheses or brackets, a range without ``TO``,
an operator with nothing to apply to) raise `QueryError` with the position.
"""

from __future__ import annotations

import re

from dataclasses import replace

from vnsearch.errors import QueryError
from vnsearch.query import ast
from vnsearch.text.normalize import has_diacritics, normalize
from vnsearch.text.terms import analyze

__all__ = ["QueryError", "parse", "segment_query", "plain_text"]

_BINARY = ("AND", "OR", "ANDNOT")
_OPERATOR = re.compile(r"(AND|OR|NOT|ANDNOT)(?=[\s(\"]|$)")
# a field prefix: a value follows at once, or nothing does ("title:" at the end: an error, not text)
_FIELD = re.compile(r"([A-Za-z_][A-Za-z0-9_]*):(?=[^\s]|\s*$)")
_WORD = re.compile(r"[^\s()\[\]{}\"^~]+")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_COMPARE = re.compile(r"(>=|<=|>|<)")


def _is_wildcard(word: str) -> bool:
    if "*" in word:
        return any(c.isalnum() for c in word) or word == "*"
    for i, c in enumerate(word):
        if c == "?" and i + 1 < len(word) and word[i + 1].isalnum():
            return True
    return False


def _free_terms(text: str) -> list[tuple[str, int, int]]:
    """Terms of a run of free text with their offsets, segmented as documents are."""
    a = analyze(text)
    return a.words if has_diacritics(a.text) else a.syllables


class _Scanner:
    """Reads the query left to right into tokens: leaf nodes, operators and brackets."""

    def __init__(self, query: str, fields: frozenset[str], raw_fields: frozenset[str]):
        self.q = query
        self.fields = fields
        self.raw_fields = raw_fields
        self.out: list = []  # leaf nodes, ("op", name, pos), ("(", pos, field), (")", pos, boost)
        self.text: list[str] = []  # pending free text
        self.text_start = 0
        self.prefix = ""  # pending field prefix (its name)
        self.prefix_pos = 0
        self.depth: list[int] = []
        self.last_operator: tuple[str, int] | None = None
        self.operands = 0
        self.max_phrase_words = 32

    # -- output -----------------------------------------------------------
    def emit(self, node: ast.Node) -> None:
        if self.prefix:
            node = replace(node, field=self.prefix, start=min(node.start, self.prefix_pos))
            self.prefix = ""
        self.out.append(node)
        self.last_operator = None
        self.operands += 1

    def flush(self) -> None:
        if not self.text:
            return
        base = self.text_start
        words = _free_terms("".join(self.text))
        self.text = []
        for t, s, e in words:
            self.emit(ast.Term(base + s, base + e, t))

    def attach(self, suffix: str, pos: int) -> None:
        """Apply ^N (a boost) or ~N (fuzziness, or a phrase's slop) to the item just read."""
        self.flush()
        last = self.out[-1] if self.out else None
        if last is None or self.last_operator or (isinstance(last, tuple) and last[0] != ")") or self.prefix:
            raise QueryError(f"'{suffix[0]}' must follow a term, phrase or group", self.q, pos)
        value = suffix[1:]
        if suffix[0] == "^":
            boost = float(value)
            if isinstance(last, tuple):
                self.out[-1] = (")", last[1], last[2] * boost)
            else:
                self.out[-1] = replace(last, boost=last.boost * boost, end=pos + len(suffix))
            return
        if isinstance(last, ast.Phrase):
            self.out[-1] = replace(last, slop=max(1, int(float(value or 1))), slop_given=True, end=pos + len(suffix))
        elif isinstance(last, ast.Term):
            self.out[-1] = ast.Fuzzy(last.start, pos + len(suffix), last.text, last.field,
                                     int(float(value)) if value else 1, last.boost)
        else:
            raise QueryError("'~' must follow a word (fuzzy) or a phrase (slop)", self.q, pos)

    # -- scanning ---------------------------------------------------------
    def run(self) -> list:
        q = self.q
        n = len(q)
        i = 0
        while i < n:
            c = q[i]
            at_start = i == 0 or q[i - 1].isspace() or q[i - 1] in "("
            if c.isspace():
                self.free(" ", i)
                i += 1
            elif c == '"':
                i = self.phrase(i)
            elif c == "(":
                self.flush()
                self.depth.append(i)
                self.out.append(("(", i, self.prefix or None))
                self.prefix = ""
                self.last_operator = None
                i += 1
            elif c == ")":
                self.flush()
                if not self.depth:
                    raise QueryError("unmatched ')'", q, i)
                if self.prefix:
                    raise QueryError(f"field '{self.prefix}' needs a value", q, self.prefix_pos)
                if self.last_operator:
                    op, pos = self.last_operator
                    raise QueryError(f"{op} has nothing after it", q, pos)
                self.depth.pop()
                self.out.append((")", i, 1.0))
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
                last = self.out[-1] if self.out else None
                if op in _BINARY and (self.last_operator or self.operands == 0
                                      or (isinstance(last, tuple) and last[0] == "(")):
                    raise QueryError(f"{op} needs a term before it", q, i)
                if op == "NOT" and self.last_operator and self.last_operator[0] == "NOT":
                    raise QueryError("NOT NOT: say it once", q, i)
                if self.prefix:
                    raise QueryError(f"field '{self.prefix}' needs a value", q, self.prefix_pos)
                self.out.append(("op", op, i))
                self.last_operator = (op, i)
                i = m_end
            elif at_start and (m := _FIELD.match(q, i)) and m.group(1) in self.fields:
                self.flush()
                if self.prefix:
                    raise QueryError(f"field '{self.prefix}' needs a value", q, self.prefix_pos)
                self.prefix = m.group(1)
                self.prefix_pos = i
                i = m.end()
                if m.group(1) in self.raw_fields:
                    i = self.raw_value(i)
            elif at_start and (m := _WORD.match(q, i)) and _is_wildcard(m.group()):
                self.flush()
                self.emit(ast.Pattern(i, m.end(), _literal_wildcard(m.group())))
                i = m.end()
            else:
                self.free(c, i)
                i += 1
        self.flush()
        if self.prefix:
            raise QueryError(f"field '{self.prefix}' needs a value", q, self.prefix_pos)
        if self.depth:
            raise QueryError("'(' is never closed", q, self.depth[-1])
        if self.last_operator:
            op, pos = self.last_operator
            raise QueryError(f"{op} has nothing after it", q, pos)
        return self.out

    def free(self, c: str, i: int) -> None:
        if not self.text:
            self.text_start = i
        self.text.append(c)

    def phrase(self, i: int) -> int:
        q = self.q
        end = q.find('"', i + 1)
        if end < 0:
            raise QueryError("unterminated quote", q, i)
        self.flush()
        inner = q[i + 1 : end]
        a = analyze(inner)
        if len(a.syllables) > self.max_phrase_words:
            raise QueryError(f"a phrase of {len(a.syllables):,} words; the limit is {self.max_phrase_words} "
                             f"(VNSEARCH_MAX_PHRASE_WORDS)", q, i)
        # words keep their inner punctuation ("1.000", "29,6"), as documents index them
        words = tuple(t for t, _, _ in a.words)
        if words:
            self.emit(ast.Phrase(i, end + 1, words))
        elif self.prefix:
            raise QueryError(f"field '{self.prefix}' needs a value", q, self.prefix_pos)
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
        raw = self.prefix in self.raw_fields
        lo, hi = (p.strip() if raw else normalize(p.strip()).lower() for p in parts)
        self.emit(ast.Range(i, close + 1, None, _range_end(lo) or None, _range_end(hi) or None,
                            q[i] == "{", q[close] == "}"))
        return close + 1

    def raw_value(self, i: int) -> int:
        """The verbatim value of a non-text field (date:2023-07, id:abc), or its range."""
        q = self.q
        if i >= len(q) or q[i].isspace():
            raise QueryError(f"field '{self.prefix}' needs a value", q, self.prefix_pos)
        if q[i] in "[{":
            return self.range(i)
        if q[i] == '"':  # a quoted value keeps its spaces: path:"ghi chú/a b.txt"
            end = q.find('"', i + 1)
            if end < 0:
                raise QueryError("unterminated quote", q, i)
            if end == i + 1:
                raise QueryError(f"field '{self.prefix}' needs a value", q, i)
            self.emit(ast.Term(i, end + 1, q[i + 1 : end]))
            return end + 1
        m = _COMPARE.match(q, i)
        start = m.end() if m else i
        vm = re.compile(r"[^\s()]+").match(q, start)
        if not vm:
            raise QueryError(f"field '{self.prefix}' needs a value", q, i)
        v = vm.group()
        if m:
            op = m.group(1)
            if op[0] == ">":
                self.emit(ast.Range(i, vm.end(), None, v, None, low_excl=op == ">"))
            else:
                self.emit(ast.Range(i, vm.end(), None, None, v, high_excl=op == "<"))
        elif _is_wildcard(v) and self.prefix != "date":
            self.emit(ast.Pattern(i, vm.end(), v))
        else:
            self.emit(ast.Term(i, vm.end(), v))
        return vm.end()


class _Parser:
    """Tokens to a tree: NOT binds tightest, then AND, then OR, then ANDNOT; items side by side
    form a "seq" group (Whoosh's precedence, so queries read as they always did)."""

    def __init__(self, tokens: list):
        self.t = tokens
        self.i = 0

    def peek(self):
        return self.t[self.i] if self.i < len(self.t) else None

    def _is(self, kind: str, name: str | None = None) -> bool:
        tok = self.peek()
        return isinstance(tok, tuple) and tok[0] == kind and (name is None or tok[1] == name)

    def seq(self) -> ast.Node | None:
        items = []
        while self.peek() is not None and not self._is(")"):
            node = self.binary(("ANDNOT", "OR", "AND"))
            if node is not None:
                items.append(node)
        return _group("seq", items)

    def binary(self, ops: tuple[str, ...]) -> ast.Node | None:
        if not ops:
            return self.unary()
        op = ops[0]
        items = [self.binary(ops[1:])]
        while self._is("op", op):
            self.i += 1
            items.append(self.binary(ops[1:]))
        return _group(op.lower(), [x for x in items if x is not None]) if len(items) > 1 else items[0]

    def unary(self) -> ast.Node | None:
        tok = self.peek()
        if self._is("op", "NOT"):
            self.i += 1
            child = self.unary()
            return ast.Not(tok[2], child.end, child) if child is not None else None
        self.i += 1
        if isinstance(tok, tuple) and tok[0] != "(":  # the scanner lets no stray operator through
            return None
        if isinstance(tok, tuple):
            inner = self.seq()
            close = self.peek()
            self.i += 1
            if inner is None:
                return None
            if not isinstance(inner, ast.Group) or inner.paren:
                inner = ast.Group(inner.start, inner.end, "seq", (inner,))
            return replace(inner, start=tok[1], end=close[1] + 1, paren=True, boost=close[2], field=tok[2])
        return tok


def _group(op: str, items: list) -> ast.Node | None:
    items = [x for x in items if x is not None]
    if not items:
        return None
    if len(items) == 1 and op == "seq":
        return items[0]
    return ast.Group(items[0].start, items[-1].end, op, tuple(items))


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



def parse(query: str, fields=("title", "path", "id", "date"), raw_fields=("path", "id", "date"),
          max_phrase_words: int = 32) -> ast.ParsedQuery:
    """Read `query` into a tree, its free text segmented as documents are; raise `QueryError`
    (with the position) if it is malformed.

    “Curly” and «angle» quotes are quotes; ``-word`` (a minus before a word, a phrase or a
    group) excludes like ``NOT word``.
    """
    query = _typographic_quotes(query)
    s = _Scanner(query, frozenset(fields), frozenset(raw_fields))
    s.max_phrase_words = max_phrase_words
    p = _Parser(s.run())
    root = p.seq()
    plain = plain_text(query)
    syllables = tuple(analyze(query).syllables) if plain else ()
    return ast.ParsedQuery(query, root, plain, syllables)


def segment_query(query: str, fields=("title", "path", "id", "date"), raw_fields=("path", "id", "date"),
                  max_phrase_words: int = 32) -> str:
    """`query` as it is read, written back in the query language (``công nghệ`` -> ``công_nghệ``)."""
    return ast.render(parse(query, fields, raw_fields, max_phrase_words).root)

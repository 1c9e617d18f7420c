"""A parsed query: a tree of nodes that remember where in the typed text they came from.

`query.syntax.parse` builds it once per search; `query.plan` turns it into
what the scorer evaluates, as often as a search needs (AND, then OR; typed
accents, then any), without reading the text again.  ``field`` is None for
free text (the default field).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Iterator


@dataclass(frozen=True)
class Node:
    start: int  # offsets into the query as typed
    end: int

    def children(self) -> tuple["Node", ...]:
        return ()

    def walk(self) -> Iterator["Node"]:
        yield self
        for c in self.children():
            yield from c.walk()


@dataclass(frozen=True)
class Term(Node):
    """One word (syllables joined by ``_``), or a field's verbatim value (``id:abc``)."""

    text: str
    field: str | None = None
    boost: float = 1.0


@dataclass(frozen=True)
class Phrase(Node):
    words: tuple[str, ...]
    field: str | None = None
    slop: int = 1  # each word at most this many positions after the previous one
    boost: float = 1.0
    slop_given: bool = False


@dataclass(frozen=True)
class Pattern(Node):
    """A wildcard (``*`` any run, ``?`` one character); ``*`` alone is every document."""

    text: str
    field: str | None = None
    boost: float = 1.0


@dataclass(frozen=True)
class Fuzzy(Node):
    text: str
    field: str | None = None
    maxdist: int = 1
    boost: float = 1.0


@dataclass(frozen=True)
class Range(Node):
    field: str | None
    low: str | None
    high: str | None
    low_excl: bool = False
    high_excl: bool = False
    boost: float = 1.0


@dataclass(frozen=True)
class Not(Node):
    child: Node


@dataclass(frozen=True)
class Group(Node):
    """Children joined by ``op``: "and", "or", "andnot" (the first without the rest), or "seq"
    (written side by side: the search policy decides AND or OR).  ``paren``: typed in brackets."""

    op: str
    items: tuple[Node, ...]
    boost: float = 1.0
    paren: bool = False
    field: str | None = None  # a field prefix before the brackets: title:(a b)

    def children(self) -> tuple[Node, ...]:
        return self.items


LEAVES = (Term, Phrase, Pattern, Fuzzy, Range)


@dataclass(frozen=True)
class ParsedQuery:
    """The tree of one query as typed, with what the search policy asks of it."""

    text: str
    root: Node | None  # None: nothing searchable (only punctuation)
    #: only free-text words side by side (no field, phrase, operator, group, pattern or boost)
    plain: bool = False
    #: the free text's syllables with their offsets, for plain queries (to re-read as other words)
    syllables: tuple[tuple[str, int, int], ...] = field(default=())

    def words_only(self) -> bool:
        """Only free-text words side by side, as read (a lone typographic quote is no syntax)."""
        r = self.root
        items = r.items if isinstance(r, Group) and r.op == "seq" and not r.paren and r.boost == 1.0 else (r,)
        return r is not None and all(isinstance(n, Term) and n.field is None and n.boost == 1.0 for n in items)

    def leaves(self) -> list[Node]:
        return [n for n in self.root.walk() if isinstance(n, LEAVES)] if self.root else []

    def words(self) -> list[str]:
        """Free-text words and phrase words, in order."""
        out: list[str] = []
        for n in self.leaves():
            if isinstance(n, Term) and n.field is None:
                out.append(n.text)
            elif isinstance(n, Phrase):
                out.extend(n.words)
        return out

    def with_words(self, words: list[tuple[str, int, int]]) -> "ParsedQuery":
        """A plain query read as other words (``_``-joined syllables with their offsets)."""
        if not self.plain:
            raise ValueError("only a plain query can be re-read as other words")
        terms = tuple(Term(s, e, w) for w, s, e in words)
        root = terms[0] if len(terms) == 1 else Group(terms[0].start, terms[-1].end, "seq", terms) if terms else None
        return replace(self, root=root)


_PLAIN_TERM = re.compile(r"^\w+$")


def _num(x: float) -> str:
    return f"{x:g}"


def render(node: Node | None) -> str:
    """The query as it was read, in the query language (free text segmented: ``công_nghệ``)."""
    if node is None:
        return ""
    prefix = f"{node.field}:" if getattr(node, "field", None) and not isinstance(node, Group) else ""
    boost = f"^{_num(node.boost)}" if getattr(node, "boost", 1.0) != 1.0 else ""
    if isinstance(node, Term):
        t = node.text if _PLAIN_TERM.match(node.text) else "'" + node.text.replace("'", "") + "'"
        return f"{prefix}{t}{boost}"
    if isinstance(node, Phrase):
        slop = f"~{node.slop}" if node.slop_given else ""
        return f'{prefix}"{" ".join(node.words)}"{slop}{boost}'
    if isinstance(node, Pattern):
        return f"{prefix}{node.text}{boost}"
    if isinstance(node, Fuzzy):
        return f"{prefix}{node.text}~{node.maxdist}{boost}"
    if isinstance(node, Range):
        lo, hi = node.low or "", node.high or ""
        inner = f"{lo} TO {hi}".strip() if lo and hi else (f"{lo} TO" if lo else f"TO {hi}")
        return f"{prefix}{'{' if node.low_excl else '['}{inner}{'}' if node.high_excl else ']'}{boost}"
    if isinstance(node, Not):
        return f"NOT {render(node.child)}"
    if isinstance(node, Group):
        glue = {"seq": " ", "and": " AND ", "or": " OR ", "andnot": " ANDNOT "}[node.op]
        inner = glue.join(render(c) for c in node.items)
        if node.paren:
            return f"{node.field + ':' if node.field else ''}( {inner} ){boost}"
        return inner
    raise TypeError(f"not a query node: {node!r}")

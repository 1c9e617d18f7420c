"""From a parsed query (`query.ast`) to a plan over vnsearch's fields, which `search.scorer` evaluates.

The plan says which field each word is looked up in and with what weight,
so exact words outrank syllable matches, which outrank accent-insensitive
ones; whether words side by side are ANDed or ORed; which words must carry
the diacritics as typed; and date and field filters.  Its nodes are plain
values in vnsearch's terms: no engine object, nothing to parse again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from itertools import groupby

from vnsearch.errors import QueryError
from vnsearch.limits import Limits, env_name
from vnsearch.query import ast
from vnsearch.query.syntax import parse as parse_syntax
from vnsearch.text.fields import FOLDED, folder_term, meta_query_terms
from vnsearch.text.normalize import fold_word, has_diacritics
from vnsearch.text.terms import pair_key

#: fields a query may name with ``name:``, and those whose value is taken verbatim (besides these,
#: a document's metadata fields: ``author:``, ``tags:``...)
QUERY_FIELDS = ("title", "path", "id", "date", "body", "type")
RAW_QUERY_FIELDS = ("path", "id", "date", "type")
#: the fields of the index itself; any other field a query names is metadata
OWN_FIELDS = frozenset(QUERY_FIELDS) | {"source"}
#: what people call a format -> the name vnsearch stores
TYPE_NAMES = {"text": "txt", "markdown": "md", "htm": "html", "xhtml": "html", "email": "eml", "mail": "eml",
              "ndjson": "jsonl", "json": "jsonl", "word": "docx"}
TEXT = (None, "body")  # free text: the default field


@dataclass(frozen=True)
class Ranking:
    """Field weights and query policy; the defaults are the tuned ones (bench/README.md)."""

    words: float = 1.0
    syllables: float = 0.25
    folded: float = 0.25
    title: float = 0.0  # free text does not search the title fields (see bench/README.md)
    operator: str = "auto"  # "and", "or", or "auto": AND up to `and_max_terms` terms, else OR
    and_max_terms: int = 3
    # A query typed with no diacritic at all says little about accents: its accents are
    # restored from the index's own words (ha noi -> hà nội) and matches of the restored
    # form weigh `restored_exact`; with no restoration its literal-form matches
    # (bang = bang, not băng/bảng/bàng) only break ties (`accentless_exact`).
    restore_accents: bool = True
    # plain queries of up to this many syllables are split into words with the index's own
    # vocabulary, not pyvi's case-sensitive CRF (0: always pyvi)
    index_words_max: int = 4
    # a word typed with diacritics matches only those diacritics (cháy is not chạy); without any, all
    accents_as_typed: bool = True
    # a word of several syllables matches only where they stand side by side (công phượng is not
    # "công ty ... phượng"); a plain query of up to `index_words_max` syllables is first tried with
    # all its syllables side by side, then anywhere
    words_side_by_side: bool = True
    # another form of a query's words (an abbreviation, a synonym) weighs this much of the form typed
    synonym_weight: float = 0.5
    short_queries_side_by_side: bool = True
    # words ORed side by side: a document's score times (share of the words it holds, each
    # weighed by its best score) ** coverage
    coverage: float = 0.5
    coverage_max_words: int = 6  # longer queries (questions) are full of words answers need not hold
    # a pair of syllables side by side in the query adds proximity * (the smaller idf of the two)
    # to a match where they stand side by side too (the pairs field); queries of at most
    # `proximity_max_syllables` syllables
    proximity: float = 2.0
    proximity_max_syllables: int = 12  # keywords and names; 24 (questions too) cost +50% latency for +0.001 MRR
    restored_exact: float = 0.3
    accentless_exact: float = 0.1
    b: float = 1.0
    k1: float = 2.0
    # added to Lucene's idf: 0 lets words in nearly every document weigh nothing; 1 is close
    # to Whoosh's ln(N / (df + 1)) + 1, which keeps them weighty
    idf_floor: float = 0.25

    def with_(self, **kw) -> "Ranking":
        return replace(self, **kw)


# -- plan nodes ------------------------------------------------------------------------


def _hashed_once(cls):
    """A frozen node class whose hash is computed once: plans are deduplicated and memoized by
    node, and a dataclass hashes every descendant each time it is asked (a question's OR of
    thirty items was hashed thousands of times a search).  The remembered hash stays in its
    process: pickling drops it (string hashes differ between processes)."""
    computed = cls.__hash__

    def __hash__(self):
        try:
            return self.__dict__["_hash"]
        except KeyError:
            h = self.__dict__["_hash"] = computed(self)
            return h

    def __getstate__(self):
        state = dict(self.__dict__)
        state.pop("_hash", None)
        return state

    cls.__hash__ = __hash__
    cls.__getstate__ = __getstate__
    return cls


@dataclass(frozen=True)
class Term:
    field: str
    text: str
    boost: float = 1.0


@_hashed_once
@dataclass(frozen=True)
class Phrase:
    field: str
    words: tuple[str, ...]
    slop: int = 1
    boost: float = 1.0


@dataclass(frozen=True)
class Expand:
    """Index terms that a pattern stands for, each scored like a word: ``kind`` is "wildcard"
    (`text`), "fuzzy" (`text` within `maxdist` edits) or "range" (`low`..`high`)."""

    field: str
    kind: str
    text: str = ""
    maxdist: int = 0
    low: str | None = None
    high: str | None = None
    low_excl: bool = False
    high_excl: bool = False
    boost: float = 1.0


@dataclass(frozen=True)
class Dates:
    """Documents dated within [low, high] (either open); undated ones never match."""

    low: datetime | None
    high: datetime | None
    boost: float = 1.0


@_hashed_once
@dataclass(frozen=True)
class And:
    items: tuple
    boost: float = 1.0


@_hashed_once
@dataclass(frozen=True)
class Or:
    items: tuple
    boost: float = 1.0
    coverage: float = 0.0  # scores times (share of items matched) ** coverage
    best: bool = False  # score a document by its best item, not the sum (forms of one meaning)


@_hashed_once
@dataclass(frozen=True)
class Adjacent:
    """Proximity: for each pair of folded syllables, documents holding it side by side score
    `weight` times the smaller idf of its two syllables (the scorer knows the frequencies)."""

    pairs: tuple[tuple[str, str], ...]
    weight: float


@_hashed_once
@dataclass(frozen=True)
class Maybe:
    """Matches of `required`, scored with `optional` where it also matches."""

    required: object
    optional: object


@_hashed_once
@dataclass(frozen=True)
class AndNot:
    positive: object
    negative: object


@_hashed_once
@dataclass(frozen=True)
class Not:
    child: object


@dataclass(frozen=True)
class Every:
    boost: float = 1.0


@_hashed_once
@dataclass(frozen=True)
class Filter:
    """Matches of `child`, adding nothing to the score."""

    child: object


class _Nothing:
    def __repr__(self) -> str:
        return "NOTHING"


NOTHING = _Nothing()


def matches_nothing(p) -> bool:
    return p is NOTHING


def children(p) -> tuple:
    if isinstance(p, Adjacent):
        return ()
    if isinstance(p, (And, Or)):
        return p.items
    if isinstance(p, Maybe):
        return (p.required, p.optional)
    if isinstance(p, AndNot):
        return (p.positive, p.negative)
    if isinstance(p, (Not, Filter)):
        return (p.child,)
    return ()


def positive_leaves(p):
    """The leaves whose matches make a document match or score (not what it must lack)."""
    if isinstance(p, (Not, Filter)):
        return
    if isinstance(p, AndNot):
        yield from positive_leaves(p.positive)
        return
    kids = children(p)
    if not kids and p is not NOTHING:
        yield p
    for c in kids:
        yield from positive_leaves(c)


# -- reading a query -------------------------------------------------------------------


def parse(text: str, limits: Limits = Limits(), meta_fields=()) -> ast.ParsedQuery:
    """The query's tree, within the limits; raises QueryError.  `meta_fields` are the metadata
    fields of the index (``author``...), read as fields too."""
    if not text.strip():
        raise QueryError("the query is empty", text, 0)
    if len(text) > limits.query_chars:
        raise QueryError(f"the query is {len(text):,} characters long; the limit is {limits.query_chars:,} "
                         f"({env_name('query_chars')})", text, limits.query_chars)
    parsed = parse_syntax(text, fields=QUERY_FIELDS + tuple(meta_fields), raw_fields=RAW_QUERY_FIELDS,
                          max_phrase_words=limits.phrase_words)
    terms = sum(len(n.words) if isinstance(n, ast.Phrase) else 1 for n in parsed.leaves())
    if terms > limits.query_terms:
        raise QueryError(f"the query has {terms:,} terms; the limit is {limits.query_terms:,} "
                         f"({env_name('query_terms')})", text, 0)
    return parsed


def uses_and(parsed: ast.ParsedQuery, ranking: Ranking, operator: str | None = None) -> bool:
    """Whether words side by side must all match: "auto" ANDs short queries (few free-text terms)."""
    operator = operator or ranking.operator
    if operator != "auto":
        return operator == "and"
    return sum(1 for n in parsed.leaves() if getattr(n, "field", None) in TEXT) <= ranking.and_max_terms


def _syllables(word: str) -> list[str]:
    return [p for p in word.split("_") if p]


def _seq(field: str, parts: list[str], boost: float, slop: int = 1):
    if len(parts) == 1:
        return Term(field, parts[0], boost)
    return Phrase(field, tuple(parts), slop, boost)


def _one(kind, items: list, boost: float = 1.0):
    """`kind` of `items`; a word typed twice counts once (``gì gì``), as a set of clauses."""
    items = list(dict.fromkeys(i for i in items if i is not NOTHING))
    if not items:
        return NOTHING
    if len(items) == 1 and boost == 1.0:
        return items[0]
    return kind(tuple(items), boost)


class Planner:
    """Maps a parsed query onto vnsearch's fields.

    Free-text words are a bag of terms, not phrases of syllables: a phrase
    check decodes positions for every candidate document, which made common
    words cost hundreds of milliseconds, while terms are scored as arrays
    (`search/scorer.py`).  Quoted phrases stay phrases.
    """

    def __init__(self, ranking: Ranking, use_and: bool = True, exact: float = 1.0, max_fuzzy: int = 2,
                 accents: bool = True, adjacent: bool = False, synonyms=None):
        self.adjacent = adjacent  # a plain query's words must stand side by side
        self.synonyms = synonyms  # query.synonyms.Synonyms: runs of words ORed with their other forms
        self.max_fuzzy = max_fuzzy
        # a word typed with diacritics matches those diacritics (False: the accent-insensitive retry)
        self.accents = accents and exact == 1.0 and ranking.accents_as_typed
        self.r = ranking
        self.use_and = use_and
        self.exact = exact  # weight of exact-field matches: below 1 when the query's accents are guesses

    def plan(self, parsed: ast.ParsedQuery, since: datetime | None = None, until: datetime | None = None,
             filters: dict | None = None):
        """The plan of `parsed`, restricted to a date range and exact field values (which add no score)."""
        p = self.node(parsed.root, None) if parsed.root is not None else NOTHING
        if p is NOTHING:
            return NOTHING
        flt = [Filter(Dates(since, until))] if since or until else []
        if self.adjacent:
            flt += [Filter(Term("pairs", pair_key(a, b))) for a, b in between_words(parsed)]
        near = self.proximity(parsed)
        if near is not None:
            p = Maybe(p, near)
        for k, v in (filters or {}).items():
            if k == "in":  # under any of these folders
                flt.append(Filter(_one(Or, [Term("path", folder_term(f)) for f in v])) if v else NOTHING)
            elif k == "type":
                flt.append(Filter(self.term(v, "type", 1.0)))
            else:
                flt.append(Filter(Term(k, v)))
        if NOTHING in flt:
            return NOTHING
        return And((p, *flt)) if flt else p

    def proximity(self, parsed: ast.ParsedQuery):
        """The syllable pairs side by side in a free-text query (inside and across its words, not
        across punctuation), to score where they stand side by side in documents too."""
        r = self.r
        if not r.proximity:
            return None
        words = _touching(parsed)
        if not words or sum(len(syl) for syl, _ in words) > r.proximity_max_syllables:
            return None
        pairs = []  # in query order: inside each word, then to the next when they touch
        for (syl, touch), (nxt, _) in zip(words, (*words[1:], ([], False))):
            pairs += zip(syl, syl[1:])
            if touch and syl and nxt:
                pairs.append((syl[-1], nxt[0]))
        pairs = tuple(dict.fromkeys(p for p in pairs if p[0] != p[1]))
        return Adjacent(pairs, r.proximity) if pairs else None

    # -- nodes ----------------------------------------------------------------------
    def node(self, n: ast.Node, field: str | None):
        field = getattr(n, "field", None) or field
        if isinstance(n, ast.Term):
            return self.term(n.text, field, n.boost)
        if isinstance(n, ast.Phrase):
            if field in TEXT:
                return self.phrase(list(n.words), n.slop, n.boost)
            if field == "title":
                return self.phrase(list(n.words), n.slop, n.boost, title_only=True)
            if field not in OWN_FIELDS:
                return self.meta(field, " ".join(n.words), n.boost)
            return Phrase(field, n.words, n.slop, n.boost)
        if isinstance(n, ast.Pattern):
            if field == "path":
                return self.path(n.text, n.boost)
            if field not in OWN_FIELDS and field is not None:
                return self.meta(field, n.text, n.boost, pattern=True)
            return self.pattern(n.text, field, n.boost)
        if isinstance(n, ast.Fuzzy):
            target = "title_folded" if field == "title" else "folded" if field in TEXT else field
            text = fold_word(n.text) if target in ("folded", "title_folded") else n.text
            return Expand(target, "fuzzy", text, maxdist=max(0, min(n.maxdist, self.max_fuzzy)), boost=n.boost)
        if isinstance(n, ast.Range):
            return self.range(n, field)
        if isinstance(n, ast.Not):
            child = self.node(n.child, field)
            return NOTHING if child is NOTHING else Not(child)
        if isinstance(n, ast.Group):
            return self.group(n, field)
        raise TypeError(f"not a query node: {n!r}")

    def group(self, g: ast.Group, field: str | None):
        items = self.items(list(g.items), field)
        if not items:
            return NOTHING
        if g.op == "andnot":
            pos, neg = items[0], items[1:]
            return AndNot(pos, _one(Or, neg)) if neg else pos
        op = g.op if g.op != "seq" else ("and" if self.use_and else "or")
        if op == "or":
            # ``a b NOT c`` (and ``-c``) read as ORs means a or b, without c, not "or anything but c"
            neg = [i.child for i in items if isinstance(i, Not)]
            pos = [i for i in items if not isinstance(i, Not)]
            if neg and pos:
                return AndNot(_one(Or, pos, g.boost), _one(Or, neg))
        if op == "or" and g.op == "seq" and self.r.coverage and 1 < len(items) <= self.r.coverage_max_words:
            return Or(tuple(dict.fromkeys(items)), g.boost, self.r.coverage)
        return _one(And if op == "and" else Or, items, g.boost)

    def items(self, nodes: list, field: str | None) -> list:
        """Plans of side-by-side nodes; a run of free-text words that spells a synonym or an
        abbreviation becomes (those words) OR (each other form, found side by side)."""
        runs = []
        if self.synonyms is not None and field in TEXT:
            at = 0
            plain = lambda n: isinstance(n, ast.Term) and n.field is None and n.boost == 1.0  # noqa: E731
            for is_plain, group in groupby(nodes, key=plain):  # each stretch of plain words on its own
                stretch = list(group)
                if is_plain:
                    runs += [(at + i, at + j, alts)
                             for i, j, alts in self.synonyms.runs([_syllables(n.text) for n in stretch])]
                at += len(stretch)
        out, at = [], 0
        for i, j, alts in runs:
            out += [self.node(n, field) for n in nodes[at:i]]
            out.append(self.forms([n.text for n in nodes[i:j]], alts))
            at = j
        out += [self.node(n, field) for n in nodes[at:]]
        return [i for i in out if i is not NOTHING]

    def forms(self, words: list[str], alts: list[tuple[str, ...]]):
        """Words as typed OR each other form of their meaning (found side by side, weighed
        `synonym_weight`), a document scored by its best form."""
        same = _one(And, [self.words(w) for w in words])
        alt = [self.words("_".join(a), self.r.synonym_weight) for a in alts]
        return Or(tuple(dict.fromkeys([same] + alt)), best=True)

    def term(self, text: str, field: str | None, boost: float):
        if field in TEXT:
            runs = self.synonyms.runs([_syllables(text)]) if self.synonyms is not None and boost == 1.0 else []
            return self.forms([text], runs[0][2]) if runs else self.words(text, boost)
        if field == "title":
            return self.phrase([text], 1, boost, title_only=True)
        if field == "date":
            low, high = date_span(text)
            return Dates(low, high, boost)
        if field == "path":
            return self.path(text, boost)
        if field == "type":
            t = text.lower().lstrip(".")
            return Term("type", TYPE_NAMES.get(t, t), boost)
        if field not in OWN_FIELDS:
            return self.meta(field, text, boost)
        return Term(field, text, boost)

    def meta(self, name: str, text: str, boost: float, pattern: bool = False):
        """``author:Nguyễn``: every syllable of the value in that metadata field, diacritics as typed."""
        if pattern:
            folded = not (self.accents and has_diacritics(text))
            value = fold_word(text.lower()) if folded else text.lower()
            return Expand("meta", "wildcard", f"{name}{FOLDED if folded else ':'}{value}", boost=boost)
        terms = meta_query_terms(name, text, self.accents)
        return _one(And, [Term("meta", t, boost) for t in terms]) if terms else NOTHING

    def path(self, text: str, boost: float):
        """``path:`` a file or folder: absolute as given, or relative (``thoi-su/*``, ``bao/a.txt``)
        anywhere below a folder; ``*`` and ``?`` are wildcards; ``folder/*`` is everything under it."""
        value = text.replace("\\", "/")
        absolute = value.startswith("/") or re.match(r"[A-Za-z]:/", value) is not None
        if value.endswith("/*") or value.endswith("/**"):
            value = value.rstrip("*")
        wild = any(c in value for c in "*?")
        if absolute and not wild:
            return Term("path", folder_term(value), boost) if value.endswith("/") else \
                Or((Term("path", value, boost), Term("path", folder_term(value), boost)))
        pattern = value if absolute else "*/" + value.lstrip("./")
        if wild or value.endswith("/"):
            return Expand("path", "wildcard", pattern, boost=boost)
        return Or((Expand("path", "wildcard", pattern, boost=boost), Expand("path", "wildcard", pattern + "/", boost=boost)))

    def words(self, word: str, boost: float = 1.0):
        """One free-text word: matched on folded syllables (or, typed with diacritics, on those
        syllables), scored on exact words and syllables where they occur.

        Every document with the word (exact or not, any segmentation) has all its folded
        syllables, so those alone decide what matches; the exact fields then only score.
        """
        r = self.r
        syl = _syllables(word)
        if not syl:
            return NOTHING
        folded = [fold_word(s) for s in syl]
        share = 1.0 / len(syl)
        exact = self.exact * boost
        extra = []
        side = [Filter(Term("pairs", pair_key(a, b))) for a, b in zip(folded, folded[1:])] if r.words_side_by_side else []
        if self.accents and has_diacritics(word):
            syl_w = (r.syllables or 0.01) * exact * share
            required = _one(And, [Term("syllables", x, syl_w) for x in dict.fromkeys(syl)] + side)
            if r.words:
                extra.append(Term("words", word, r.words * exact))
        else:
            folded_w = (r.folded or 0.01) * boost * share  # matching needs the folded terms even when unweighted
            required = _one(And, [Term("folded", f, folded_w) for f in dict.fromkeys(folded)] + side)
            if r.words:
                extra.append(Term("words", word, r.words * exact))
            if r.syllables:
                extra += [Term("syllables", x, r.syllables * exact * share) for x in dict.fromkeys(syl)]
        if r.title:
            extra += [Term("title", x, r.title * boost * share) for x in dict.fromkeys(syl)]
        return Maybe(required, _one(Or, extra)) if extra else required

    def phrase(self, words: list[str], slop: int, boost: float, title_only: bool = False):
        syl = [s for w in words for s in _syllables(w)]
        if not syl:
            return NOTHING
        folded = [fold_word(s) for s in syl]
        typed = self.accents and has_diacritics(" ".join(syl))  # then only those diacritics match
        if title_only:
            if typed:
                return _seq("title", syl, boost, slop)
            return Or((_seq("title", syl, boost, slop), _seq("title_folded", folded, boost * 0.5, slop)))
        if typed:
            return _seq("syllables", syl, (self.r.syllables + self.r.folded) * boost, slop)
        return Or((_seq("syllables", syl, self.r.syllables * boost, slop),
                   _seq("folded", folded, self.r.folded * boost, slop)))

    def pattern(self, text: str, field: str | None, boost: float):
        if text == "*" and field in TEXT:  # a lone *: every document
            return Every(boost)
        if field not in TEXT and field != "title":
            return Expand(field, "wildcard", text, boost=boost)
        text = text.lower()
        exact, folded = ("title", "title_folded") if field == "title" else ("syllables", "folded")
        if has_diacritics(text):
            return Expand(exact, "wildcard", text, boost=boost)
        return Or((Expand(exact, "wildcard", text, boost=boost),
                   Expand(folded, "wildcard", fold_word(text), boost=boost * 0.5)))

    def range(self, n: ast.Range, field: str | None):
        if field == "date":
            low = high = None
            span = f"{n.low or ''} TO {n.high or ''}".strip()
            try:
                if n.low:
                    a, b = date_span(n.low)
                    low = b + timedelta(microseconds=1) if n.low_excl else a
                if n.high:
                    a, b = date_span(n.high)
                    high = a - timedelta(microseconds=1) if n.high_excl else b
            except QueryError:
                raise QueryError(f"'{span}' is not a date range", span, 0) from None
            return Dates(low, high, n.boost)
        target = {"title": "title", None: "syllables", "body": "syllables"}.get(field, field)
        return Expand(target, "range", low=n.low, high=n.high, low_excl=n.low_excl, high_excl=n.high_excl,
                      boost=n.boost)


def _touching(parsed: ast.ParsedQuery) -> list[tuple[list[str], bool]]:
    """A plain query's words as folded syllables, each with whether it touches the next word
    (only spaces between them); empty for anything but words side by side."""
    if not parsed.words_only():
        return []
    root = parsed.root
    terms = root.items if isinstance(root, ast.Group) else (root,)
    return [([fold_word(x) for x in _syllables(a.text)], b is not None and not parsed.text[a.end : b.start].strip())
            for a, b in zip(terms, (*terms[1:], None))]


def between_words(parsed: ast.ParsedQuery) -> list[tuple[str, str]]:
    """The folded syllable pairs that join a plain query's words where only spaces separate them."""
    words = _touching(parsed)
    out = [(a[-1], b[0]) for (a, touch), (b, _) in zip(words, words[1:]) if touch and a and b]
    return list(dict.fromkeys(out))


_DATE = re.compile(r"^(\d{4})(?:[-/.]?(\d{1,2})(?:[-/.]?(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?)?)?$")


def date_span(text: str) -> tuple[datetime, datetime]:
    """The first and last instant a date names: ``2023`` is all of 2023, ``2023-07-01 08:30`` one minute."""
    m = _DATE.match(text.strip())
    try:
        if not m:
            raise ValueError
        y, mo, d, h, mi, s = (int(g) if g else None for g in m.groups())
        first = datetime(y, mo or 1, d or 1, h or 0, mi or 0, s or 0)
        if mo is None:
            last = first.replace(year=y + 1)
        elif d is None:
            last = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
        elif h is None:
            last = first + timedelta(days=1)
        elif s is None:
            last = first + timedelta(minutes=1)
        else:
            last = first + timedelta(seconds=1)
    except (ValueError, OverflowError):
        raise QueryError(f"'{text}' is not a date (use YYYY, YYYY-MM or YYYY-MM-DD)", text, 0) from None
    return first, last - timedelta(microseconds=1)

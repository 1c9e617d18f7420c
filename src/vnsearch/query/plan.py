"""From a user's query to a Whoosh query over vnsearch's fields.

`segment_query` makes the free text Whoosh-safe; Whoosh's parser (with no
schema, so it analyzes nothing) reads the syntax; `expand` then maps each
default-field node onto the word, syllable and folded fields with the
ranking weights, so exact words outrank syllable matches, which outrank
accent-insensitive ones.  `search/scorer.py` evaluates the result.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from whoosh import query as Q
from whoosh.qparser import AndGroup, FuzzyTermPlugin, OrGroup, QueryParser

from vnsearch.errors import QueryError
from vnsearch.limits import Limits, env_name
from vnsearch.text.normalize import fold_word, has_diacritics
from vnsearch.query.syntax import plain_text, segment_query
from vnsearch.engine.whoosh.schema import QUERY_FIELDS, RAW_QUERY_FIELDS

DEFAULT_FIELD = "text"


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
    restored_exact: float = 0.3
    accentless_exact: float = 0.1
    b: float = 1.0
    k1: float = 2.0
    # added to Lucene's idf: 0 lets words in nearly every document weigh nothing; 1 is close
    # to Whoosh's ln(N / (df + 1)) + 1, which keeps them weighty
    idf_floor: float = 0.25

    def with_(self, **kw) -> "Ranking":
        return replace(self, **kw)


def _parser(group) -> QueryParser:
    p = QueryParser(DEFAULT_FIELD, schema=None, group=group)
    p.add_plugin(FuzzyTermPlugin())
    return p


_AND = _parser(AndGroup)
_OR = _parser(OrGroup)


def parse(text: str, ranking: Ranking = Ranking(), operator: str | None = None,
          limits: Limits = Limits()) -> tuple[Q.Query, str, bool]:
    """(Whoosh query on the default field, the segmented query, whether AND was used)."""
    if not text.strip():
        raise QueryError("the query is empty", text, 0)
    if len(text) > limits.query_chars:
        raise QueryError(f"the query is {len(text):,} characters long; the limit is {limits.query_chars:,} "
                         f"({env_name('query_chars')})", text, limits.query_chars)
    segmented = segment_query(text, fields=QUERY_FIELDS, raw_fields=RAW_QUERY_FIELDS,
                              max_phrase_words=limits.phrase_words)
    terms = len(segmented.split())
    if terms > limits.query_terms:
        raise QueryError(f"the query has {terms:,} terms; the limit is {limits.query_terms:,} "
                         f"({env_name('query_terms')})", text, 0)
    if not segmented.strip():
        return Q.NullQuery, segmented, False
    operator = operator or ranking.operator
    try:
        if operator == "auto":
            q = _OR.parse(segmented, normalize=False)
            use_and = sum(1 for leaf in q.leaves() if leaf.field() == DEFAULT_FIELD) <= ranking.and_max_terms
            if use_and and isinstance(q, Q.Or) and plain_text(segmented):
                q = Q.And(q.subqueries, boost=q.boost)  # words only: the top group is the implicit one
            elif use_and:
                q = _AND.parse(segmented, normalize=False)
        else:
            use_and = operator == "and"
            q = (_AND if use_and else _OR).parse(segmented, normalize=False)
    except Exception as e:  # Whoosh's parser is lenient; anything it still rejects is the query's fault
        raise QueryError(f"cannot parse query ({e})", text, 0) from None
    return _exclusions(q), segmented, use_and


def _exclusions(q: Q.Query) -> Q.Query:
    """``a b NOT c`` (and ``-c``) in an OR group means a or b, without c: Whoosh makes it
    ``a OR b OR (NOT c)``, which matches nearly everything."""
    if isinstance(q, Q.CompoundQuery):
        subs = [_exclusions(s) for s in q.subqueries]
        if isinstance(q, Q.Or):
            neg = [s.query for s in subs if isinstance(s, Q.Not)]
            pos = [s for s in subs if not isinstance(s, Q.Not)]
            if neg and pos:
                return Q.AndNot(Q.Or(pos, boost=q.boost) if len(pos) > 1 else pos[0],
                                Q.Or(neg) if len(neg) > 1 else neg[0])
        return type(q)(subs, boost=q.boost)
    return q


def filtered(q: Q.Query, since=None, until=None, filters: dict | None = None) -> Q.Query:
    """`q` (normalized) restricted to a date range and exact field values, which add no score."""
    flt = []
    if since or until:
        flt.append(Q.DateRange("date", since, until))
    for k, v in (filters or {}).items():
        flt.append(Q.Term(k, v))
    q = q.normalize()
    if flt and q is not Q.NullQuery:
        q = Q.And([q] + [Q.ConstantScoreQuery(f, 0.0) for f in flt])
    return q


def matches_nothing(q: Q.Query) -> bool:
    return q is Q.NullQuery


def _seq(field: str, parts: list[str], boost: float, slop: int = 1) -> Q.Query:
    if len(parts) == 1:
        return Q.Term(field, parts[0], boost=boost)
    return Q.Phrase(field, parts, slop=slop, boost=boost)


def _syllables(word: str) -> list[str]:
    return [p for p in word.split("_") if p]


class Expander:
    """Maps parsed default-field nodes onto vnsearch's fields.

    With ``bag=True`` (free text) a word's syllables are separate terms
    instead of a phrase: phrase checks decode positions for every candidate
    document, which made common words cost hundreds of milliseconds, while
    terms are scored as arrays (`search/scorer.py`).  Quoted phrases stay phrases.
    """

    def __init__(self, schema, ranking: Ranking, bag: bool = False, exact: float = 1.0, max_fuzzy: int = 2,
                 accents: bool = True):
        self.max_fuzzy = max_fuzzy
        # a word typed with diacritics matches those diacritics (False: the accent-insensitive retry)
        self.accents = accents and exact == 1.0 and ranking.accents_as_typed
        self.schema = schema
        self.r = ranking
        self.bag = bag
        self.exact = exact  # weight of exact-field matches: below 1 when the query's accents are guesses

    def text_clauses(self, word: str, boost: float = 1.0) -> Q.Query:
        """One free-text word on the words, syllables and folded fields."""
        r = self.r
        syl = _syllables(word)
        if not syl:
            return Q.NullQuery
        folded = [fold_word(s) for s in syl]
        if self.bag:
            return self._bag_clauses(word, syl, folded, boost)
        clauses = []
        if r.words:
            clauses.append(Q.Term("words", word, boost=r.words * boost))
        if r.syllables:
            clauses.append(_seq("syllables", syl, r.syllables * boost))
        if r.folded:
            clauses.append(_seq("folded", folded, r.folded * boost))
        if r.title:
            clauses.append(_seq("title", syl, r.title * boost))
        return Q.Or(clauses) if len(clauses) > 1 else clauses[0]

    def _bag_clauses(self, word: str, syl: list[str], folded: list[str], boost: float) -> Q.Query:
        """Match on folded syllables, score exact words and syllables where they occur.

        Every document with the word (exact or not, any segmentation) has all
        its folded syllables, so the folded terms alone decide what matches.
        The exact fields are then only scored on those documents (AndMaybe).
        """
        r = self.r
        share = 1.0 / len(syl)
        exact = self.exact * boost
        if self.accents and has_diacritics(word):
            # typed with diacritics: those syllables decide what matches (cháy is not chạy)
            syl_w = (r.syllables or 0.01) * exact * share
            need = [Q.Term("syllables", x, boost=syl_w) for x in dict.fromkeys(syl)]
            required = need[0] if len(need) == 1 else Q.And(need)
            extra = [Q.Term("words", word, boost=r.words * exact)] if r.words else []
            if r.title:
                extra += [Q.Term("title", x, boost=r.title * boost * share) for x in dict.fromkeys(syl)]
            return Q.AndMaybe(required, extra[0] if len(extra) == 1 else Q.Or(extra)) if extra else required
        folded_w = (r.folded or 0.01) * boost * share  # matching needs the folded terms even when unweighted
        need = [Q.Term("folded", f, boost=folded_w) for f in dict.fromkeys(folded)]
        required = need[0] if len(need) == 1 else Q.And(need)
        extra = []
        if r.words:
            extra.append(Q.Term("words", word, boost=r.words * exact))
        if r.syllables:
            extra += [Q.Term("syllables", x, boost=r.syllables * exact * share) for x in dict.fromkeys(syl)]
        if r.title:
            extra += [Q.Term("title", x, boost=r.title * boost * share) for x in dict.fromkeys(syl)]
        if not extra:
            return required
        return Q.AndMaybe(required, extra[0] if len(extra) == 1 else Q.Or(extra))

    def phrase_clauses(self, words: list[str], slop: int, boost: float, title_only: bool = False) -> Q.Query:
        syl = [s for w in words for s in _syllables(w)]
        if not syl:
            return Q.NullQuery
        folded = [fold_word(s) for s in syl]
        typed = self.accents and has_diacritics(" ".join(syl))  # then only those diacritics match
        if title_only:
            if typed:
                return _seq("title", syl, boost, slop)
            return Q.Or([_seq("title", syl, boost, slop), _seq("title_folded", folded, boost * 0.5, slop)])
        if typed:
            return _seq("syllables", syl, (self.r.syllables + self.r.folded) * boost, slop)
        return Q.Or([_seq("syllables", syl, self.r.syllables * boost, slop),
                     _seq("folded", folded, self.r.folded * boost, slop)])

    def expand(self, q: Q.Query) -> Q.Query:
        if isinstance(q, Q.Every):  # a lone *: every document
            return Q.Every(boost=q.boost)
        if isinstance(q, Q.Term):
            return self.term(q)
        if isinstance(q, Q.Phrase):
            if q.fieldname in (DEFAULT_FIELD, "body"):
                return self.phrase_clauses(q.words, q.slop, q.boost)
            if q.fieldname == "title":
                return self.phrase_clauses(q.words, q.slop, q.boost, title_only=True)
            return Q.Phrase(q.fieldname, q.words, slop=q.slop, boost=q.boost)
        if isinstance(q, Q.FuzzyTerm):
            field = "title_folded" if q.fieldname == "title" else "folded"
            return Q.FuzzyTerm(field, fold_word(q.text), boost=q.boost, maxdist=min(q.maxdist, self.max_fuzzy),
                               prefixlength=q.prefixlength)
        if isinstance(q, (Q.Prefix, Q.Wildcard)):
            return self.pattern(q)
        if isinstance(q, Q.TermRange):
            return self.range(q)
        if isinstance(q, Q.Not):
            return Q.Not(self.expand(q.query), boost=q.boost)
        if isinstance(q, Q.AndNot):
            return Q.AndNot(self.expand(q.a), self.expand(q.b))
        if isinstance(q, Q.AndMaybe):
            return Q.AndMaybe(self.expand(q.a), self.expand(q.b))
        if isinstance(q, Q.CompoundQuery):
            subs = [self.expand(s) for s in q.subqueries]
            subs = [s for s in subs if s is not Q.NullQuery]
            if not subs:
                return Q.NullQuery
            return type(q)(subs, boost=q.boost)
        return q

    def term(self, q: Q.Term) -> Q.Query:
        f = q.fieldname
        if f in (DEFAULT_FIELD, "body"):
            return self.text_clauses(q.text, q.boost)
        if f == "title":
            return self.phrase_clauses([q.text], 1, q.boost, title_only=True)
        if f == "date":
            return self.date(q.text, q.boost)
        return Q.Term(f, q.text, boost=q.boost)

    def pattern(self, q) -> Q.Query:
        cls = type(q)
        f = q.fieldname
        text = q.text.lower()
        if f in ("id", "path"):
            return cls(f, q.text, boost=q.boost)
        exact, folded = ("title", "title_folded") if f == "title" else ("syllables", "folded")
        if has_diacritics(text):
            return cls(exact, text, boost=q.boost)
        return Q.Or([cls(exact, text, boost=q.boost), cls(folded, fold_word(text), boost=q.boost * 0.5)])

    def date(self, text: str, boost: float) -> Q.Query:
        field = self.schema["date"]
        return _parsed_date(lambda: field.parse_query("date", text, boost=boost),
                            f"'{text}' is not a date (use YYYY, YYYY-MM or YYYY-MM-DD)", text)

    def range(self, q: Q.TermRange) -> Q.Query:
        f = q.fieldname
        if f == "date":
            field, span = self.schema["date"], f"{q.start} TO {q.end}"
            return _parsed_date(lambda: field.parse_range("date", q.start, q.end, q.startexcl, q.endexcl, boost=q.boost),
                                f"'{span}' is not a date range", span)
        target = {"title": "title", DEFAULT_FIELD: "syllables", "body": "syllables"}.get(f, f)
        return Q.TermRange(target, q.start, q.end, q.startexcl, q.endexcl, boost=q.boost)


def _parsed_date(parse, message: str, text: str) -> Q.Query:
    """A DATETIME field's query, or QueryError: Whoosh answers an unparsable date with a query matching nothing."""
    try:
        q = parse()
    except Exception:
        q = Q.NullQuery
    if isinstance(q, type(Q.NullQuery)):
        raise QueryError(message, text, 0)
    return q

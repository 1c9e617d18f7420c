"""From a user's query to a Whoosh query over vnsearch's fields.

`segment_query` makes the free text Whoosh-safe; Whoosh's parser (with no
schema, so it analyzes nothing) reads the syntax; `expand` then maps each
default-field node onto the word, syllable and folded fields with the
ranking weights, so exact words outrank syllable matches, which outrank
accent-insensitive ones.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from whoosh import query as Q
from whoosh.qparser import AndGroup, FuzzyTermPlugin, OrGroup, QueryParser

from .errors import QueryError
from .normalize import fold_word, has_diacritics
from .query import segment_query
from .schema import QUERY_FIELDS, RAW_QUERY_FIELDS

DEFAULT_FIELD = "text"


@dataclass(frozen=True)
class Ranking:
    """Field weights and query policy; the defaults are the tuned ones (bench/README.md)."""

    words: float = 1.0
    syllables: float = 0.5
    folded: float = 0.25
    title: float = 0.0  # free text does not search the title fields (see bench/README.md)
    operator: str = "auto"  # "and", "or", or "auto": AND up to `and_max_terms` terms, else OR
    and_max_terms: int = 3
    # In OR queries of at least `prune_min_terms` terms, terms found in more than this
    # share of documents are dropped (they cost most of the time and add little).
    prune_df: float = 1.0
    prune_min_terms: int = 4
    b: float = 0.75
    k1: float = 1.2

    def with_(self, **kw) -> "Ranking":
        return replace(self, **kw)


def _parser(group) -> QueryParser:
    p = QueryParser(DEFAULT_FIELD, schema=None, group=group)
    p.add_plugin(FuzzyTermPlugin())
    return p


_AND = _parser(AndGroup)
_OR = _parser(OrGroup)


def parse(text: str, ranking: Ranking = Ranking()) -> tuple[Q.Query, str, bool]:
    """(Whoosh query on the default field, the segmented query, whether AND was used)."""
    segmented = segment_query(text, fields=QUERY_FIELDS, raw_fields=RAW_QUERY_FIELDS)
    if not segmented.strip():
        return Q.NullQuery, segmented, False
    use_and = ranking.operator == "and"
    if ranking.operator == "auto":
        n = sum(1 for leaf in _OR.parse(segmented).leaves() if leaf.field() == DEFAULT_FIELD)
        use_and = n <= ranking.and_max_terms
    try:
        q = (_AND if use_and else _OR).parse(segmented)
    except Exception as e:  # Whoosh's parser is lenient; anything it still rejects is the query's fault
        raise QueryError(f"cannot parse query ({e})", text, 0) from None
    return q, segmented, use_and


def _seq(field: str, parts: list[str], boost: float, slop: int = 1) -> Q.Query:
    if len(parts) == 1:
        return Q.Term(field, parts[0], boost=boost)
    return Q.Phrase(field, parts, slop=slop, boost=boost)


def _syllables(word: str) -> list[str]:
    return [p for p in word.split("_") if p]


class Expander:
    """Maps parsed default-field nodes onto vnsearch's fields.

    With ``bag=True`` (OR queries: questions and other long queries) a word's
    syllables become separate terms instead of a phrase: only term queries
    let Whoosh skip whole posting blocks that cannot reach the top hits,
    which is what keeps long queries fast.
    """

    def __init__(self, schema, ranking: Ranking, bag: bool = False):
        self.schema = schema
        self.r = ranking
        self.bag = bag

    def _syllable_clause(self, field: str, parts: list[str], boost: float) -> Q.Query:
        if self.bag and len(parts) > 1:
            share = boost / len(parts)
            return Q.Or([Q.Term(field, p, boost=share) for p in parts])
        return _seq(field, parts, boost)

    def text_clauses(self, word: str, boost: float = 1.0) -> Q.Query:
        """One free-text word on the words, syllables and folded fields."""
        r = self.r
        syl = _syllables(word)
        if not syl:
            return Q.NullQuery
        folded = [fold_word(s) for s in syl]
        clauses = []
        if r.words:
            clauses.append(Q.Term("words", word, boost=r.words * boost))
        if r.syllables:
            clauses.append(self._syllable_clause("syllables", syl, r.syllables * boost))
        if r.folded:
            clauses.append(self._syllable_clause("folded", folded, r.folded * boost))
        if r.title:
            clauses.append(_seq("title", syl, r.title * boost))
        return Q.Or(clauses) if len(clauses) > 1 else clauses[0]

    def phrase_clauses(self, words: list[str], slop: int, boost: float, title_only: bool = False) -> Q.Query:
        syl = [s for w in words for s in _syllables(w)]
        if not syl:
            return Q.NullQuery
        folded = [fold_word(s) for s in syl]
        if title_only:
            return Q.Or([_seq("title", syl, boost, slop), _seq("title_folded", folded, boost * 0.5, slop)])
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
            return Q.FuzzyTerm(field, fold_word(q.text), boost=q.boost, maxdist=q.maxdist,
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
        try:
            return field.parse_query("date", text, boost=boost)
        except Exception:
            raise QueryError(f"'{text}' is not a date (use YYYY, YYYY-MM or YYYY-MM-DD)", text, 0) from None

    def range(self, q: Q.TermRange) -> Q.Query:
        f = q.fieldname
        if f == "date":
            field = self.schema["date"]
            try:
                return field.parse_range("date", q.start, q.end, q.startexcl, q.endexcl, boost=q.boost)
            except Exception:
                raise QueryError(f"'{q.start} TO {q.end}' is not a date range", f"{q.start} TO {q.end}", 0) from None
        target = {"title": "title", DEFAULT_FIELD: "syllables", "body": "syllables"}.get(f, f)
        return Q.TermRange(target, q.start, q.end, q.startexcl, q.endexcl, boost=q.boost)


def prune_common(q: Q.Query, reader, ranking: Ranking) -> Q.Query:
    """Drop the terms found in more than `Ranking.prune_df` of documents from a long OR query.

    They cost most of the time (their posting lists cover most documents)
    and, having almost no idf, add little to the ranking.
    """
    if ranking.prune_df >= 1.0 or not isinstance(q, Q.Or):
        return q
    n = max(1, reader.doc_count())
    limit = ranking.prune_df * n

    def keep(node) -> bool:
        if isinstance(node, Q.Term) and node.fieldname in ("words", "syllables", "folded"):
            return reader.doc_frequency(node.fieldname, node.text) <= limit
        return True

    def prune(node):
        if isinstance(node, Q.Or):
            subs = [x for x in (prune(c) for c in node.subqueries) if x is not None]
            return type(node)(subs, boost=node.boost) if subs else None
        return node if keep(node) else None

    if len(q.subqueries) < ranking.prune_min_terms:
        return q
    pruned = prune(q)
    return pruned if pruned is not None else q

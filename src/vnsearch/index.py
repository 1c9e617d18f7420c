"""The `Index`: vnsearch's Python API, which the CLI and REPL only wrap.

    from vnsearch import Index
    ix = Index.open("index", create=True)
    ix.add_sources(["corpus/"])
    result = ix.search("công nghệ")
    for hit in result.hits:
        print(hit.rank, hit.title, hit.score)

The storage engine stays behind this class (`vnsearch.engine`): nothing it returns is an
engine object.
"""

from __future__ import annotations

import os
import pickle
import struct
import time
import unicodedata
import zlib
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import wraps
from datetime import datetime, timedelta
from pathlib import Path
from typing import Callable, Iterable, NamedTuple

from vnsearch import engine
from vnsearch.engine import shards as sharding
from vnsearch.engine import READING_CODE, DamagedFile
from vnsearch.errors import IndexCorruptError, QueryError, SearchError, StaleShard, VnsearchError
from vnsearch.ingest.sources import SourceError
from vnsearch.ingest.indexing import Indexer, IndexReport, Progress
from vnsearch.limits import Limits
from vnsearch.query.ast import ParsedQuery, render
from vnsearch.query.synonyms import for_index
from vnsearch.query.plan import Planner, Ranking, between_words, matches_nothing, parse, uses_and
from vnsearch.search.highlight import Fragment, MatchTerms, fragments, whole
from vnsearch.search.pruning import COUNT_TO
from vnsearch.search.scorer import Scorer
from vnsearch.search.sharded import ShardedScorer
from vnsearch.text.normalize import fold_word, has_diacritics
from vnsearch.text.terms import analyze
from vnsearch.text.fields import unpack_fields
from vnsearch.ingest.sources import Document, DocumentError, FieldMap, Source, as_datetime, open_source
from vnsearch.search.suggest import suggest
from vnsearch.search.vocabulary import Vocabulary, saved_segments

__all__ = ["Index", "Hit", "SearchResult", "IndexReport", "Document", "Ranking"]


class BuiltQuery(NamedTuple):
    query: object  # the plan (query.plan), date and field filters included
    segmented: str  # the query as it was read (query.ast.render)
    operator: str  # "and" or "or"
    restored: str | None  # accents restored for ranking (queries typed without any)


class _Reading(NamedTuple):
    """One way of reading a parsed query: its words, how much exact matches weigh, restored accents."""

    parsed: ParsedQuery
    exact: float
    restored: str | None


@dataclass
class Hit:
    rank: int
    id: str
    title: str
    path: str
    date: datetime | None
    score: float
    fragments: list[Fragment] = field(default_factory=list)
    title_highlights: list[tuple[int, int]] = field(default_factory=list)
    #: the format it was read from (pdf, html, txt, jsonl...) and its metadata fields
    type: str = ""
    fields: dict = field(default_factory=dict)


@dataclass
class SearchResult:
    query: str
    total: int
    took_ms: float
    hits: list[Hit]
    offset: int
    limit: int
    suggestion: str | None = None
    parsed: str = ""
    operator: str = "and"
    restored: str | None = None  # the accented reading that ranked a query typed without diacritics
    fallback: bool = False  # no document held every word: these hold any of them
    accents_ignored: bool = False  # nothing had the diacritics as typed: these have the words with any
    #: on a cluster: milliseconds of each round over the shards (statistics, maxima, scores) and their count
    phases: dict | None = None
    #: False when `total` is a lower bound: past `COUNT_TO` matches a search may stop counting
    #: (ask with exact_count=True for every match counted)
    total_exact: bool = True

    @property
    def page(self) -> int:
        return self.offset // self.limit + 1 if self.limit else 1

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.limit)) if self.limit else 1


def _pinned(method):
    """Run `method` on one commit of the index (see `Index._snapshot`)."""

    @wraps(method)
    def run(self, *args, **kwargs):
        with self._snapshot():
            return method(self, *args, **kwargs)

    return run


class Index:
    """A vnsearch index in a folder.  Not shared between threads: open one per thread."""

    def __init__(self, path: str | os.PathLike, store, ranking: Ranking | None = None, limits: Limits | None = None,
                 synonyms: str | os.PathLike | None = None, cluster=None):
        self.path = Path(path)
        self._cluster = cluster  # a `vnsearch.cluster.Cluster`: shards searched and documents analyzed there
        self._synonyms_file = synonyms
        self._synonyms = None  # read at the first search (see `synonyms`): indexing never needs them
        self._store = store  # the engine's side of the folder (vnsearch.engine.Store)
        self.ranking = ranking or Ranking()
        self.limits = limits or _limits()
        store.set_cache_bytes(self.limits.postings_cache_bytes)
        self._snap = None  # the latest engine snapshot opened
        self._scorer: Scorer | None = None
        self._vocab: Vocabulary | None = None
        self._meta_cache: tuple | None = None  # (snapshot, its metadata field names)
        self._pinned = None  # the snapshot an operation in progress reads (see _snapshot)

    @property
    def synonyms(self):
        """The package's abbreviations, the index folder's synonyms.txt and the `synonyms` file given,
        read once (they are analyzed like queries: the segmentation model loads)."""
        if self._synonyms is None:
            self._synonyms = for_index(self.path, self._synonyms_file)
        return self._synonyms

    # -- opening ----------------------------------------------------------------
    @classmethod
    def open(cls, path: str | os.PathLike = "index", create: bool = False, ranking: Ranking | None = None,
             limits: Limits | None = None, synonyms: str | os.PathLike | None = None,
             shards: int | None = None, cluster: str | None = None) -> "Index":
        """Open the index at `path`; with `create`, make it if the folder holds none, split into
        `shards` shards (default: `engine.shards.default_shards()`; fixed once created).  `synonyms`: a
        file of groups of equivalent forms (``UBND = ủy ban nhân dân``), one group a line.

        `cluster` (a Dask scheduler's address), or a path spelled ``dask://host:port/path``: the
        shards are searched, and documents analyzed, on that cluster's workers (the index lies on
        a path they all reach; see `vnsearch.cluster`)."""
        from vnsearch.cluster import split_location

        where = split_location(str(path))
        if where is not None:
            cluster, path = cluster or where[0], where[1]
        if cluster is not None:
            from vnsearch.cluster import Cluster

            c = Cluster(cluster)
            try:
                ix = cls.open(Path(path).resolve(), create, ranking, limits, synonyms, shards)
            except BaseException:
                c.close()
                raise
            ix._cluster = c
            return ix
        p = Path(path)
        if create and not (p / engine.META).exists():
            if p.exists() and not p.is_dir():
                raise VnsearchError(f"{p} exists and is not a folder")
            if engine.foreign_files(p):
                raise IndexCorruptError(f"{p} is not empty and holds no vnsearch index; choose another --index")
            count = sharding.default_shards() if shards is None else _count("shards", shards, 1)
            return cls(p, sharding.create_store(p, count), ranking, limits, synonyms)
        ix = cls(p, sharding.open_store(p), ranking, limits, synonyms)
        if shards is not None and create and _count("shards", shards, 1) != ix.shard_count:
            raise VnsearchError(f"{p} has {ix.shard_count} shard{'s' if ix.shard_count != 1 else ''}; the number is "
                                f"fixed when an index is created (rebuild it into a new folder to change it)")
        return ix

    @property
    def shard_count(self) -> int:
        return getattr(self._store, "count", 1)

    @classmethod
    def rebuild(cls, path: str | os.PathLike, sources: list[Source], jobs: int | None = None,
                lock_timeout: float = 10.0, progress: Callable[[Progress], None] | None = None,
                batch_docs: int | None = None, shard_count: int | None = None, cluster: str | None = None) -> IndexReport:
        """Index `sources` into a new index beside the one at `path`, then swap it in at once
        (a sharded index: shard by shard; `shard_count`: the shards of an index not there yet).

        Searches see the old index until the swap (even a damaged one, or one of another
        schema version); an interrupted rebuild leaves it untouched, and running the same
        rebuild again resumes where it stopped.  Only vnsearch's own files are ever removed:
        a folder holding anything else is refused.  `cluster`: analyze the documents on that
        Dask cluster's workers.
        """
        if cluster is not None:
            from vnsearch.cluster import Cluster

            c = Cluster(cluster)
            try:
                from vnsearch.cluster.writing import ClusterPool

                return cls._rebuild(path, sources, jobs, lock_timeout, progress, batch_docs, shard_count,
                                    ClusterPool(c))
            finally:
                c.close()
        return cls._rebuild(path, sources, jobs, lock_timeout, progress, batch_docs, shard_count, None)

    @classmethod
    def _rebuild(cls, path, sources, jobs, lock_timeout, progress, batch_docs, shard_count, executor) -> IndexReport:
        p = Path(path)
        if p.exists() and not p.is_dir():
            raise VnsearchError(f"{p} exists and is not a folder")
        engine.refuse_foreign(p, "rebuild")
        engine.make_folder(p)
        with engine.WriteLock(p, lock_timeout):
            try:  # a rebuild keeps the index's shards; a new folder gets `shards`
                count = sharding.shard_count(p)
            except VnsearchError:
                count = sharding.default_shards() if shard_count is None else _count("shards", shard_count, 1)
            names = sorted(s.name for s in sources)
            if count > 1:
                store = sharding.staging(p, count, names)
                report = Indexer(store, store.existing(), jobs=jobs, batch_docs=batch_docs, progress=progress,
                                 limits=_limits(), executor=executor).run(sources)
                if not report.interrupted:
                    sharding.swap_in(p, store)
                    cls.open(p)._record_run(sources, report)
                return report
            built = engine.staging(p, names)
            aside = cls(built, engine.Store.open(built))
            report = Indexer(aside._store, aside._store.existing(), jobs=jobs, batch_docs=batch_docs,
                             progress=progress, limits=aside.limits, executor=executor).run(sources)
            aside._record_run(sources, report, vocabulary=False)  # saved once swapped in
            if not report.interrupted:
                engine.swap_in(p, built)
                cls.open(p)._save_vocabulary()
        return report

    def close(self) -> None:
        self._drop_scorer()
        if self._snap is not None:
            self._snap.close()
            self._snap = None
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None

    def _drop_scorer(self) -> None:
        if isinstance(self._scorer, ShardedScorer):
            self._scorer.close()  # its threads
        self._scorer = None

    def __enter__(self) -> "Index":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- reading ----------------------------------------------------------------
    def _get_snapshot(self):
        """The snapshot of the operation in progress, else one of the latest commit.

        A new snapshot is opened whenever another commit has landed (opening costs little:
        index files are read a part at a time, when asked).
        """
        if self._pinned is not None:
            return self._pinned
        s = self._snap
        if s is None or not s.is_current():
            fresh = self._store.snapshot()
            if s is not None:
                s.close()
            self._drop_scorer()
            self._snap = fresh
        return self._snap

    @contextmanager
    def _snapshot(self):
        """Pin one commit for a whole operation (a search reads the index several times)."""
        if self._pinned is not None:
            yield self._pinned
            return
        self._pinned = self._get_snapshot()
        try:
            yield self._pinned
        finally:
            self._pinned = None

    def _get_scorer(self) -> Scorer:
        """The array scorer of the current snapshot (a new one when the index changed)."""
        s = self._get_snapshot()
        r = self.ranking
        if self._scorer is None or self._scorer.snap is not s or self._scorer.params != (r.k1, r.b, r.idf_floor):
            self._drop_scorer()
            args = dict(k1=r.k1, b=r.b, idf_floor=r.idf_floor, max_expansions=self.limits.expansions,
                        cache_bytes=self.limits.scores_cache_bytes // len(getattr(s, "shards", [s])),
                        memo_bytes=self.limits.search_mb << 20)
            if self._cluster is not None:
                from vnsearch.cluster.scorer import ClusterScorer

                stores = getattr(self._store, "shards", [self._store])
                self._scorer = ClusterScorer(s, self._cluster, [st.path.resolve() for st in stores], **args)
            else:
                kind = ShardedScorer if isinstance(s, sharding.ShardedSnapshot) else Scorer
                self._scorer = kind(s, **args)
        return self._scorer

    def reload(self) -> None:
        """See documents committed since this Index was opened."""
        self._get_snapshot()

    @_pinned
    def __len__(self) -> int:
        return self._get_snapshot().doc_count()

    @_pinned
    def get(self, doc_id: str) -> dict | None:
        """A document's stored fields (id, title, body, path, date, source, type, fields), or None."""
        s = self._get_snapshot()
        docnum = s.doc_number(doc_id)
        if docnum is None:
            return None
        d = s.stored(docnum)
        out = {k: d.get(k) for k in ("id", "title", "body", "path", "date", "source")}
        out["type"] = d.get("type") or ""
        out["fields"] = unpack_fields(d.get("meta"))
        return out

    # -- writing ----------------------------------------------------------------
    def add_sources(self, specs: Iterable[str | Source], fields: FieldMap | None = None, jobs: int | None = None,
                    include=None, exclude=(), lock_timeout: float = 10.0,
                    progress: Callable[[Progress], None] | None = None, batch_docs: int | None = None,
                    stdin=None) -> IndexReport:
        """Index folders, JSONL/CSV files or ``-`` (stdin) incrementally; see `IndexReport`."""
        from vnsearch.ingest.sources import DEFAULT_INCLUDE

        sources = [s if isinstance(s, Source) else open_source(s, fields, include or DEFAULT_INCLUDE, exclude, stdin,
                                                                self.limits)
                   for s in specs]
        return self.add_from(sources, jobs=jobs, lock_timeout=lock_timeout, progress=progress, batch_docs=batch_docs)

    def add_from(self, sources: list[Source], jobs: int | None = None, lock_timeout: float = 10.0,
                 progress: Callable[[Progress], None] | None = None, batch_docs: int | None = None,
                 gone: Iterable[str] = (), record: bool = True) -> IndexReport:
        """Index `sources`, then remove the documents of `gone` (see `Indexer.run`)."""
        with engine.WriteLock(self.path, lock_timeout):
            with self._damage_reported():  # the ids and hashes an incremental run compares with
                existing = self._store.existing()
            indexer = Indexer(self._store, existing, jobs=jobs, batch_docs=batch_docs, progress=progress,
                              limits=self.limits, executor=self._executor())
            report = indexer.run(sources, gone)
            self._record_run(sources if record else [], report)
        return report

    def _executor(self):
        """Where documents are analyzed: the cluster's workers, or (None) local worker processes."""
        if self._cluster is None:
            return None
        from vnsearch.cluster.writing import ClusterPool

        return ClusterPool(self._cluster)

    def refresh(self, source: Source, paths: Iterable[str], jobs: int | None = 1,
                lock_timeout: float = 10.0) -> IndexReport:
        """Bring the documents of some changed paths of `source` up to date (what `vnsearch watch`
        does with each burst of changes): files added or changed are read, vanished ones removed.
        A source that cannot tell paths apart (JSONL, CSV) is read again whole, incrementally."""
        changes = getattr(source, "changes", None)
        if changes is None:
            return self.add_from([source], jobs=jobs, lock_timeout=lock_timeout)
        changed, gone = changes(paths)
        return self.add_from([changed], jobs=jobs, lock_timeout=lock_timeout, gone=gone, record=False)

    def add(self, docs: Iterable[Document], lock_timeout: float = 10.0, jobs: int = 1) -> IndexReport:
        """Add or replace documents given directly (analyzed in this process unless `jobs` > 1)."""
        docs = list(docs)
        for d in docs:
            if not isinstance(d, Document):
                raise DocumentError(f"Index.add takes Document objects, not {type(d).__name__}")
        src = _ListSource(docs)
        return self.add_from([src], jobs=jobs, lock_timeout=lock_timeout)

    update = add

    def known_sources(self) -> tuple[list[Source], list[str]]:
        """The sources earlier runs read, opened as they were (for re-reading them all), and a line
        for each one that cannot be opened now (a folder gone or unmounted: its documents stay)."""
        from vnsearch.ingest.sources import reopen

        sources, problems = [], []
        for name, info in sorted(engine.read_meta(self.path).get("sources", {}).items()):
            try:
                sources.append(reopen(name, info.get("kind", ""), info.get("options") or {}, self.limits))
            except SourceError as e:
                problems.append(str(e))
        return sources, problems

    def remove(self, targets: Iterable[str] = (), ids: Iterable[str] = (), lock_timeout: float = 10.0) -> dict:
        """Remove documents: every document of each target (a source the index knows, which it then
        forgets, or any file or folder: the documents read from it), and documents by id.  Returns
        {"removed": n, "sources": names forgotten, "unmatched": targets that matched nothing}."""
        with engine.WriteLock(self.path, lock_timeout):
            with self._damage_reported():
                existing = self._store.existing()
            meta = engine.read_meta(self.path)
            known = meta.get("sources", {})
            gone, forgotten, unmatched = set(), [], []
            for t in targets:
                name = t if t in known else unicodedata.normalize("NFC", str(Path(t).expanduser().resolve()))
                found = {i for i, (_h, src) in existing.items()
                         if src == name or i == name or i.startswith(name.rstrip("/") + "/")}
                if name in known:
                    forgotten.append(name)
                elif not found:
                    unmatched.append(t)
                gone |= found
            wanted = list(ids)
            gone |= {i for i in wanted if i in existing}
            unmatched += [i for i in wanted if i not in existing]
            n = self._store.delete(sorted(gone)) if gone else 0
            meta = engine.read_meta(self.path)
            for name in forgotten:
                meta.get("sources", {}).pop(name, None)
            engine.write_meta(self.path, meta)
            self._record_run([], None)
        return {"removed": n, "sources": forgotten, "unmatched": unmatched}

    def delete(self, ids: Iterable[str], lock_timeout: float = 10.0) -> int:
        """Delete documents by id; returns how many existed."""
        with engine.WriteLock(self.path, lock_timeout):
            n = self._store.delete(ids)
            self._record_run([], None)
        return n

    def optimize(self, lock_timeout: float = 10.0) -> dict:
        """Merge each shard's segments into one (deleted documents dropped): searches then look each
        term up once a shard (bench/README.md has the gain).  For a collection done growing; the next
        indexing run adds segments again.  Returns segments before and after, and seconds."""
        t0 = time.perf_counter()
        with engine.WriteLock(self.path, lock_timeout), self._damage_reported():
            before = self._store.segment_count()
            if self._store.optimize():
                self._record_run([], None)  # the word model is tagged with the segments: saved anew
            after = self._store.segment_count()
        return {"segments_before": before, "segments_after": after, "seconds": time.perf_counter() - t0}

    def _record_run(self, sources: list[Source], report: IndexReport | None, vocabulary: bool = True) -> None:
        if vocabulary:
            self._save_vocabulary()
        meta = engine.read_meta(self.path)
        meta["updated"] = engine.now_iso()
        srcs = meta.setdefault("sources", {})
        for s in sources:
            if s.name and not isinstance(s, _ListSource):
                srcs[s.name] = {"kind": type(s).__name__.replace("Source", "").lower(), "last_run": meta["updated"],
                                "options": s.options()}
        engine.write_meta(self.path, meta)

    # -- searching --------------------------------------------------------------
    @_pinned
    def build_query(self, text: str, since: datetime | None = None, until: datetime | None = None,
                    filters: dict | None = None, operator: str | None = None, accents: bool = True) -> "BuiltQuery":
        """The plan and filter for `text`, and how it was read; raises QueryError."""
        return self._build(self._reading(self._parse(text)), since, until, filters, operator, accents)

    def _build(self, reading: _Reading, since, until, filters, operator: str | None = None,
               accents: bool = True, adjacent: bool = False) -> BuiltQuery:
        parsed = reading.parsed
        use_and = uses_and(parsed, self.ranking, operator)
        planner = Planner(self.ranking, use_and, reading.exact, self.limits.fuzzy_distance, accents, adjacent,
                          self.synonyms)
        return BuiltQuery(planner.plan(parsed, since, until, filters), render(parsed.root),
                          "and" if use_and else "or", reading.restored)

    def _parse(self, text: str) -> ParsedQuery:
        return parse(text, self.limits, self.meta_fields() if ":" in text else ())

    def meta_fields(self) -> list[str]:
        """The metadata fields documents of the index have (author, tags...): searchable as ``name:value``."""
        s = self._get_snapshot()
        if self._meta_cache is not None and self._meta_cache[0] is s:
            return self._meta_cache[1]
        names: list[str] = []
        start = ""
        while True:
            term = next(iter(s.terms("meta", start=start)), None)
            if term is None:
                break
            cut = min((i for i in (term.find(":"), term.find("~")) if i >= 0), default=len(term))
            if term[:cut] not in names:
                names.append(term[:cut])
            start = term[: cut + 1] + "\U0010ffff"  # past every term of this name and separator
        names.sort()
        self._meta_cache = (s, names)
        return names

    def _reading(self, parsed: ParsedQuery) -> _Reading:
        """How to read a parsed query's words: short plain queries with diacritics as the index's own
        words; plain queries without any with the accents the index suggests (weighed as guesses)."""
        if parsed.plain and has_diacritics(parsed.text):
            return _Reading(self._index_words(parsed), 1.0, None)
        if has_diacritics(render(parsed.root)):
            return _Reading(parsed, 1.0, None)
        if self.ranking.restore_accents and parsed.plain and parsed.syllables:
            words = self._vocabulary().restore([fold_word(t) for t, _, _ in parsed.syllables])
            restored = " ".join(words)
            if has_diacritics(restored):
                if len(parsed.syllables) > self.ranking.index_words_max:  # long: pyvi's words, as typed ones
                    words = [w for w, _, _ in analyze(restored).words]
                return _Reading(parsed.with_words(_placed(words, parsed.syllables)), self.ranking.restored_exact,
                                restored)
        return _Reading(parsed, self.ranking.accentless_exact, None)

    def _index_words(self, parsed: ParsedQuery) -> ParsedQuery:
        """A short plain query split into the index's own words, the same whatever its case (pyvi's
        CRF reads capitals as names); longer ones keep pyvi's words."""
        limit = self.ranking.index_words_max
        if not limit or len(parsed.text) > 200 or not 1 < len(parsed.syllables) <= limit:
            return parsed
        words = self._vocabulary().segment([t for t, _, _ in parsed.syllables])
        return parsed.with_words(_placed(words, parsed.syllables))

    def search(self, *args, **kwargs) -> SearchResult:
        """Search with Whoosh syntax over Vietnamese-segmented text; raises QueryError on bad syntax.

        Arguments: text, limit=10, page=1, offset=None, sort="score"|"date",
        since=None, until=None, filters=None (field -> exact value: id, path, source, type),
        within=None (folders: only documents under one of them),
        highlight=True, suggest_below=3, fragments_per_hit=2, exact_count=False (by default a
        search with more than 10,000 matches may give `total` as a lower bound, with
        `total_exact` False: counting every match of a common word costs reading its whole list).
        """
        try:
            with self._damage_reported(), self._snapshot():
                return self._search(*args, **kwargs)
        except StaleShard:
            pass
        # a cluster worker saw a newer commit of a shard than this snapshot: search the newest
        self.reload()
        with self._damage_reported(), self._snapshot():
            return self._search(*args, **kwargs)

    @contextmanager
    def _damage_reported(self):
        """Errors raised while reading index files become one `IndexCorruptError` saying how to
        rebuild; any other error is a bug in vnsearch's own logic and goes up as it is."""
        try:
            yield
        except _DAMAGE as e:
            if not _from_reading(e):
                raise
            raise IndexCorruptError(
                f"{self.path}: index files are damaged ({type(e).__name__}: {e}); "
                f"run 'vnsearch check', then rebuild with 'vnsearch index --rebuild SOURCE...'") from None

    def _search(self, text: str, limit: int = 10, page: int = 1, offset: int | None = None,
               sort: str = "score", since: datetime | None = None, until: datetime | None = None,
               filters: dict | None = None, within: Iterable[str] | None = None, highlight: bool = True,
               suggest_below: int = 3, fragments_per_hit: int = 2, exact_count: bool = False) -> SearchResult:
        t0 = time.perf_counter()
        if not isinstance(text, str):
            raise SearchError(f"the query must be text, not {type(text).__name__}")
        limit, page = _count("limit", limit, 0), _count("page", page, 1)
        offset = _count("offset", offset, 0) if offset is not None else (page - 1) * limit
        if sort not in ("score", "date"):
            raise SearchError(f"unknown sort {sort!r} (use 'score' or 'date')")
        since, until = date_bound(since, "since"), date_bound(until, "until", end=True)
        s = self._get_snapshot()
        for k in filters or {}:
            if k not in FILTER_FIELDS:
                raise SearchError(f"cannot filter on {k!r} (use one of {', '.join(FILTER_FIELDS)})")
        if within is not None:
            if isinstance(within, (str, os.PathLike)):
                within = [within]
            filters = {**(filters or {}), "in": tuple(_folder(f) for f in within)}
        parsed = self._parse(text)  # once: every attempt below plans from this tree
        reading = self._reading(parsed)
        scorer = self._get_scorer()
        by_date = sort == "date"
        scorer.remember()
        try:
            built, total, exact, top, fallback, accents_ignored = self._attempts(
                reading, since, until, filters, offset + limit, by_date, None if exact_count else COUNT_TO)
        finally:
            scorer.forget()
        hits: list[Hit] = []
        if not matches_nothing(built.query):
            terms = MatchTerms.from_plan(built.query, scorer.expansions) if highlight else MatchTerms()
            page = top[offset : offset + limit]
            fetch = getattr(scorer, "fetch", None)  # on a cluster: read and highlighted where they live
            rows = fetch([d for d, _ in page], terms, fragments_per_hit, highlight) if fetch else \
                [shown(s.stored(docnum, body=highlight), terms, fragments_per_hit, highlight) for docnum, _ in page]
            for rank, ((_docnum, score), d) in enumerate(zip(page, rows), offset + 1):
                hit = Hit(rank, d.get("id", ""), d.get("title") or "", d.get("path", ""), d.get("date"), score,
                          type=d.get("type") or "", fields=unpack_fields(d.get("meta")))
                hit.fragments, hit.title_highlights = d["fragments"], d["title_highlights"]
                hits.append(hit)
        suggestion = None
        if suggest_below and (total < suggest_below or fallback or self._has_unknown_word(parsed)):
            suggestion = suggest(parsed, s, self._vocabulary(), self.limits)
            if suggestion == reading.restored:  # already searched that way ("Ranked as")
                suggestion = None
        took = (time.perf_counter() - t0) * 1000
        phases = dict(scorer.phases) if getattr(scorer, "phases", None) is not None else None
        return SearchResult(text, total, took, hits, offset, limit, suggestion, built.segmented, built.operator,
                            reading.restored, fallback, accents_ignored, phases, exact)

    def _attempts(self, reading: _Reading, since, until, filters, k: int, by_date: bool, count_to: int | None):
        """(built query, total, whether it is exact, top k, fallback, accents ignored) of the first reading that finds
        anything: as typed; then, when nothing has the diacritics as typed, the same words with
        any (a wrong accent is likelier than unrelated words); then, for a short query whose words
        never all occur together, documents with any of them (typed diacritics first)."""
        scorer = self._get_scorer()
        first = self._build(reading, since, until, filters)
        tries = [(None, True, False)]
        r, parsed = self.ranking, reading.parsed
        if (r.short_queries_side_by_side and first.operator == "and" and parsed.words_only()
                and 1 < len(parsed.syllables) <= r.index_words_max and between_words(parsed)
                and not self.synonyms.runs([w.split("_") for w in parsed.words()])):
            tries.insert(0, (None, True, True))  # first: every syllable side by side, as typed
        ignore = r.accents_as_typed and reading.restored is None and has_diacritics(first.segmented)
        if ignore:
            tries.append((None, False, False))
        if (first.operator == "and" and r.operator == "auto" and parsed.words_only()
                and len(parsed.leaves()) > 1):
            tries += [("or", True, False)] + ([("or", False, False)] if ignore else [])
        for operator, accents, adjacent in tries:
            built = first if (operator, accents, adjacent) == (None, True, False) else self._build(
                reading, since, until, filters, operator=operator, accents=accents, adjacent=adjacent)
            if matches_nothing(built.query):
                continue
            total, top, exact = scorer.best(built.query, k, by_date=by_date, count_to=count_to)
            if total:
                return built, total, exact, top, operator == "or", not accents
        return first, 0, True, [], False, False

    def _has_unknown_word(self, parsed: ParsedQuery) -> bool:
        """True when a word of a plain query occurs nowhere in the index (a likely typo)."""
        snap = self._get_snapshot()
        return parsed.plain and any(not snap.doc_frequency("folded", fold_word(t))
                                    for t, _, _ in parsed.syllables[: self.limits.suggest_words])

    def _vocabulary(self) -> Vocabulary:
        """The word model of the commit being read: the one its writer saved, else built here."""
        snap = self._get_snapshot()
        v = self._vocab
        if v is None or v.segments != snap.segments:
            v = Vocabulary.load(self.path, snap.segments) or _build_vocabulary(snap)
            self._vocab = v
        return v

    def _save_vocabulary(self) -> None:
        """Save the latest commit's word model for searchers (under the write lock, after a commit;
        a commit that only deleted keeps the saved one).  Only a speed-up: when it cannot be written (a full disk, damaged index files), searches
        build the model themselves, and the run that committed is not failed for it."""
        try:
            snap = self._store.snapshot()
            try:
                if saved_segments(self.path) != snap.segments:
                    _build_vocabulary(snap).save(self.path)
            finally:
                snap.close()
        except _DAMAGE:
            pass

    @_pinned
    def suggest(self, text: str) -> str | None:
        """A "did you mean" query from the index's own words, or None."""
        try:
            parsed = self._parse(text)
        except QueryError:
            return None
        return suggest(parsed, self._get_snapshot(), self._vocabulary(), self.limits)

    @_pinned
    def restore_accents(self, text: str) -> str | None:
        """`text` (plain words typed without diacritics) with the accents the index's words suggest.

        None when the query has syntax or diacritics, or nothing could be restored.
        """
        try:
            parsed = self._parse(text)
        except QueryError:
            return None
        if has_diacritics(text) or not parsed.plain:
            return None
        return self._reading(parsed).restored

    # -- about ------------------------------------------------------------------
    def check(self) -> list[str]:
        """Read every term's postings and every stored document; the problems found (empty: healthy)."""
        problems = self._store.check(checksums=bool(engine.read_meta(self.path).get("checksums")))
        if not problems:
            with self._snapshot() as snap:
                saved = Vocabulary.load(self.path, snap.segments)
                damage = saved.damage() if saved is not None else None
                if damage:
                    problems.append(damage)
        return problems

    def stats_sources(self) -> list[str]:
        """The sources indexed so far (from the metadata file), for a rebuild."""
        return sorted(engine.read_meta(self.path).get("sources", {}))

    def stats(self) -> dict:
        with self._damage_reported():
            return self._stats()

    @_pinned
    def _stats(self) -> dict:
        s = self._get_snapshot()
        meta = engine.read_meta(self.path)
        terms = {f: s.term_count(f) for f in ("words", "syllables", "folded", "title")}
        size = sum(p.stat().st_size for p in self.path.rglob("*") if p.is_file())
        return {
            "path": str(self.path), "documents": s.doc_count(), "deleted": s.n - s.doc_count(),
            "segments": self._store.segment_count(), "shards": self.shard_count, "terms": terms, "size_bytes": size,
            "updated": meta.get("updated"), "created": meta.get("created"),
            "schema_version": meta.get("schema_version"), "sources": meta.get("sources", {}),
            "fields": self.meta_fields(), "types": self._type_counts(s),
        }

    @staticmethod
    def _type_counts(s) -> dict[str, int]:
        """Live documents of each format."""
        live = getattr(s, "live", None)
        out = {}
        for t in s.terms("type"):
            ids, _ = s.postings("type", t)
            n = int(live[ids].sum()) if live is not None and len(ids) else len(ids)
            if n:
                out[t] = n
        return dict(sorted(out.items(), key=lambda kv: -kv[1]))


FILTER_FIELDS = ("id", "path", "source", "type")


def _build_vocabulary(snap) -> Vocabulary:
    return Vocabulary.build(snap.term_frequencies("words"), snap.segments, snap.term_frequencies("folded"))


def shown(stored: dict, terms: MatchTerms, per_hit: int, highlight: bool) -> dict:
    """What a hit shows of a stored document: its fields, the body's best fragments and the
    title's matches (computed where the document is read: here, or on a cluster's worker)."""
    d = {k: stored.get(k) for k in ("id", "title", "path", "date", "type", "meta")}
    d["fragments"] = fragments(stored.get("body") or "", terms, per_hit) if highlight else []
    d["title_highlights"] = whole(d["title"] or "", terms).highlights if highlight else []
    return d


def _folder(value) -> str:
    """A folder as documents' paths spell it (absolute, symbolic links resolved, NFC)."""
    if not isinstance(value, (str, os.PathLike)):
        raise SearchError(f"a folder must be a path, not {type(value).__name__}")
    return unicodedata.normalize("NFC", str(Path(value).expanduser().resolve()))


def _limits() -> Limits:
    try:
        return Limits.from_env()
    except ValueError as e:
        raise VnsearchError(str(e)) from None


def _count(name: str, value, least: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise SearchError(f"{name} must be a whole number of at least {least}, not {value!r}")
    return value


def date_bound(value, name: str, end: bool = False) -> datetime | None:
    """A search's since/until from a datetime, a date or a ``YYYY[-MM[-DD]]`` string; an `until`
    given as a year or a month means its end (``until="2023"`` keeps all of 2023)."""
    if value is None or isinstance(value, datetime):
        return value
    d = as_datetime(value)
    if d is None:
        raise SearchError(f"{name}: {value!r} is not a date (use YYYY, YYYY-MM or YYYY-MM-DD, a date or a datetime)")
    if end and isinstance(value, str):
        parts = value.strip().split("-")
        if len(parts) == 1 and len(parts[0]) == 4:
            d = d.replace(month=12, day=31)
        elif len(parts) == 2:
            d = (d.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
        if len(parts) <= 3 and ":" not in value and "T" not in value:
            d = d.replace(hour=23, minute=59, second=59, microsecond=999999)
    elif end:  # a date (not a datetime): all of that day
        d = d.replace(hour=23, minute=59, second=59, microsecond=999999)
    return d




def _from_reading(e: BaseException) -> bool:
    """True when `e` was raised while reading index files (innermost Python frame in a reader)."""
    if isinstance(e, DamagedFile):
        return True
    tb = e.__traceback__
    last = None
    while tb is not None:
        last = tb.tb_frame.f_code.co_filename
        tb = tb.tb_next
    return last is not None and last.startswith(READING_CODE)


_DAMAGE = (DamagedFile, OSError, EOFError, struct.error, zlib.error, pickle.UnpicklingError, KeyError, IndexError,
           ValueError)


def _placed(words: list[str], syllables) -> list[tuple[str, int, int]]:
    """Words (syllables joined by spaces or ``_``) with the offsets of the syllables they cover."""
    out, i = [], 0
    for w in words:
        parts = w.replace("_", " ").split()
        if not parts:
            continue
        first, last = syllables[i], syllables[min(i + len(parts), len(syllables)) - 1]
        out.append(("_".join(parts), first[1], last[2]))
        i += len(parts)
    return out


class _ListSource(Source):
    """Documents handed to `Index.add` directly."""

    name = ""

    def __init__(self, docs: list[Document]):
        self.docs = docs

    def __iter__(self):
        return iter(self.docs)

"""The `Index`: vnsearch's Python API, which the CLI and REPL only wrap.

    from vnsearch import Index
    ix = Index.open("index", create=True)
    ix.add_sources(["corpus/"])
    result = ix.search("công nghệ")
    for hit in result.hits:
        print(hit.rank, hit.title, hit.score)

Whoosh stays behind this class: nothing it returns is a Whoosh object.
"""

from __future__ import annotations

import os
import pickle
import struct
import time
import zlib
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import wraps
from datetime import datetime, timedelta
from pathlib import Path
from typing import Callable, Iterable, NamedTuple

from vnsearch.engine.whoosh import storage
from vnsearch.engine.whoosh.storage import open_searcher
from vnsearch.errors import IndexCorruptError, SearchError, VnsearchError
from vnsearch.query.plan import Expander, Ranking, filtered, matches_nothing, parse
from vnsearch.search.highlight import Fragment, MatchTerms, fragments, whole
from vnsearch.ingest.indexing import Indexer, IndexReport, Progress
from vnsearch.limits import Limits
from vnsearch.engine.whoosh import READING_CODE
from vnsearch.engine.whoosh.integrity import DamagedFile, segment_files, verify_folder
from vnsearch.engine.whoosh.writes import delete_ids, segment_count
from vnsearch.text.terms import analyze
from vnsearch.text.normalize import fold_word, has_diacritics
from vnsearch.query.syntax import plain_text
from vnsearch.engine.whoosh.postings import IndexView, PostingCache, raw_postings, read_all
from vnsearch.engine.whoosh.schema import INVERTED_FIELDS
from vnsearch.search.scorer import Scorer
from vnsearch.ingest.sources import Document, DocumentError, FieldMap, Source, as_datetime, open_source
from vnsearch.search.suggest import Vocabulary, suggest

__all__ = ["Index", "Hit", "SearchResult", "IndexReport", "Document", "Ranking"]


class BuiltQuery(NamedTuple):
    query: object  # the planned query (query.plan), date and field filters included
    segmented: str
    operator: str  # "and" or "or"
    restored: str | None  # accents restored for ranking (queries typed without any)


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

    def __init__(self, path: str | os.PathLike, ix, ranking: Ranking | None = None, limits: Limits | None = None):
        self.path = Path(path)
        self._ix = ix
        self.ranking = ranking or Ranking()
        try:
            self.limits = limits or Limits.from_env()
        except ValueError as e:
            raise VnsearchError(str(e)) from None
        self._searcher = None
        self._scorer: Scorer | None = None
        self._postings = PostingCache()
        self._vocab: tuple[int, Vocabulary] | None = None
        self._pinned = None  # the searcher an operation in progress reads (see _snapshot)

    # -- opening ----------------------------------------------------------------
    @classmethod
    def open(cls, path: str | os.PathLike = "index", create: bool = False, ranking: Ranking | None = None,
             limits: Limits | None = None) -> "Index":
        """Open the index at `path`; with `create`, make it if the folder holds none."""
        p = Path(path)
        if create and not (p / storage.META).exists():
            if p.exists() and not p.is_dir():
                raise VnsearchError(f"{p} exists and is not a folder")
            if storage.foreign_files(p):
                raise IndexCorruptError(f"{p} is not empty and holds no vnsearch index; choose another --index")
            return cls(p, storage.create(p), ranking, limits)
        return cls(p, storage.open_existing(p), ranking, limits)

    @classmethod
    def rebuild(cls, path: str | os.PathLike, sources: list[Source], jobs: int | None = None,
                lock_timeout: float = 10.0, progress: Callable[[Progress], None] | None = None,
                batch_docs: int = 4000) -> IndexReport:
        """Index `sources` into a new index beside the one at `path`, then swap it in at once.

        Searches see the old index until the swap (even a damaged one, or one of another
        schema version); an interrupted rebuild leaves it untouched, and running the same
        rebuild again resumes where it stopped.  Only vnsearch's own files are ever removed:
        a folder holding anything else is refused.
        """
        p = Path(path)
        if p.exists() and not p.is_dir():
            raise VnsearchError(f"{p} exists and is not a folder")
        storage.refuse_foreign(p, "rebuild")
        storage.make_folder(p)
        with storage.WriteLock(p, lock_timeout):
            built = storage.staging(p, sorted(s.name for s in sources))
            aside = cls(built, storage.open_existing(built))
            report = Indexer(aside._ix, aside._existing(), jobs=jobs, batch_docs=batch_docs,
                             progress=progress, limits=aside.limits).run(sources)
            aside._record_run(sources, report)
            if not report.interrupted:
                storage.swap_in(p, built)
        return report

    def close(self) -> None:
        if self._searcher is not None:
            self._searcher.close()
            self._searcher = None
            self._scorer = None

    def __enter__(self) -> "Index":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- reading ----------------------------------------------------------------
    def _get_searcher(self):
        """The searcher of the operation in progress, else one on the latest commit.

        A new searcher is opened whenever another commit has landed: Whoosh's
        ``Searcher.refresh()`` reuses the old segment readers (with their old deletions)
        and even keeps segments the new commit no longer lists, so a refreshed searcher
        showed replaced and deleted documents.  Opening costs little (index files are
        mapped, not read).
        """
        if self._pinned is not None:
            return self._pinned
        s = self._searcher
        if s is None or not s.up_to_date():
            fresh = open_searcher(self._ix, k1=self.ranking.k1, b=self.ranking.b)
            if s is not None:
                s.close()
            self._searcher, self._scorer = fresh, None
        return self._searcher

    @contextmanager
    def _snapshot(self):
        """Pin one commit for a whole operation (a search reads the index several times)."""
        if self._pinned is not None:
            yield self._pinned
            return
        self._pinned = self._get_searcher()
        try:
            yield self._pinned
        finally:
            self._pinned = None

    def _get_scorer(self) -> Scorer:
        """The array scorer of the current searcher (a new one when the index changed)."""
        s = self._get_searcher()
        r = self.ranking
        if self._scorer is None or self._scorer.view.searcher is not s or self._scorer.params != (r.k1, r.b, r.idf_floor):
            self._scorer = Scorer(IndexView(s, self._postings), k1=r.k1, b=r.b, idf_floor=r.idf_floor,
                                  max_expansions=self.limits.expansions)
        return self._scorer

    def reload(self) -> None:
        """See documents committed since this Index was opened."""
        self._get_searcher()

    @_pinned
    def __len__(self) -> int:
        return self._get_searcher().doc_count()

    @_pinned
    def get(self, doc_id: str) -> dict | None:
        """A document's stored fields (id, title, body, path, date, source), or None."""
        s = self._get_searcher()
        docnum = s.document_number(id=doc_id)
        if docnum is None:
            return None
        d = s.stored_fields(docnum)
        return {k: d.get(k) for k in ("id", "title", "body", "path", "date", "source")}

    def _existing(self) -> dict[str, tuple[bytes, str]]:
        """id -> (content hash, source) of every live document, read from columns."""
        r = self._ix.reader()
        try:
            if r.doc_count_all() == 0:
                return {}
            ids = r.column_reader("id")
            hashes = r.column_reader("hash")
            srcs = r.column_reader("source")
            out = {}
            for d in r.all_doc_ids():
                i = ids[d]
                out[i.decode("utf-8") if isinstance(i, bytes) else i] = (
                    hashes[d], (lambda s: s.decode("utf-8") if isinstance(s, bytes) else s)(srcs[d]))
            return out
        finally:
            r.close()

    # -- writing ----------------------------------------------------------------
    def add_sources(self, specs: Iterable[str | Source], fields: FieldMap | None = None, jobs: int | None = None,
                    include=None, exclude=(), lock_timeout: float = 10.0,
                    progress: Callable[[Progress], None] | None = None, batch_docs: int = 4000,
                    stdin=None) -> IndexReport:
        """Index folders, JSONL/CSV files or ``-`` (stdin) incrementally; see `IndexReport`."""
        from vnsearch.ingest.sources import DEFAULT_INCLUDE

        sources = [s if isinstance(s, Source) else open_source(s, fields, include or DEFAULT_INCLUDE, exclude, stdin,
                                                                self.limits)
                   for s in specs]
        return self.add_from(sources, jobs=jobs, lock_timeout=lock_timeout, progress=progress, batch_docs=batch_docs)

    def add_from(self, sources: list[Source], jobs: int | None = None, lock_timeout: float = 10.0,
                 progress: Callable[[Progress], None] | None = None, batch_docs: int = 4000) -> IndexReport:
        with storage.WriteLock(self.path, lock_timeout):
            with self._damage_reported():  # the ids and hashes an incremental run compares with
                existing = self._existing()
            indexer = Indexer(self._ix, existing, jobs=jobs, batch_docs=batch_docs, progress=progress,
                              limits=self.limits)
            report = indexer.run(sources)
            self._record_run(sources, report)
        return report

    def add(self, docs: Iterable[Document], lock_timeout: float = 10.0, jobs: int = 1) -> IndexReport:
        """Add or replace documents given directly (analyzed in this process unless `jobs` > 1)."""
        docs = list(docs)
        for d in docs:
            if not isinstance(d, Document):
                raise DocumentError(f"Index.add takes Document objects, not {type(d).__name__}")
        src = _ListSource(docs)
        return self.add_from([src], jobs=jobs, lock_timeout=lock_timeout)

    update = add

    def delete(self, ids: Iterable[str], lock_timeout: float = 10.0) -> int:
        """Delete documents by id; returns how many existed."""
        with storage.WriteLock(self.path, lock_timeout):
            n = delete_ids(self._ix, ids)
            self._record_run([], None)
        return n

    def _record_run(self, sources: list[Source], report: IndexReport | None) -> None:
        meta = storage.read_meta(self.path)
        meta["updated"] = storage.now_iso()
        srcs = meta.setdefault("sources", {})
        for s in sources:
            if s.name and not isinstance(s, _ListSource):
                srcs[s.name] = {"kind": type(s).__name__.replace("Source", "").lower(), "last_run": meta["updated"]}
        storage.write_meta(self.path, meta)

    # -- searching --------------------------------------------------------------
    @_pinned
    def build_query(self, text: str, since: datetime | None = None, until: datetime | None = None,
                    filters: dict | None = None, operator: str | None = None, accents: bool = True) -> "BuiltQuery":
        """The Whoosh query and filter for `text`, and how it was read; raises QueryError."""
        q, segmented, used_and = parse(self._read_words(text), self.ranking, operator, self.limits)
        exact = 1.0
        restored = None
        if not has_diacritics(segmented):
            exact = self.ranking.accentless_exact
            restored = self.restore_accents(text) if self.ranking.restore_accents else None
            if restored:
                q, segmented, used_and = parse(restored, self.ranking, operator, self.limits)
                exact = self.ranking.restored_exact
        # the searcher's schema: Index.schema re-reads the table of contents from disk
        q = Expander(self._get_searcher().schema, self.ranking, bag=True, exact=exact,
                     max_fuzzy=self.limits.fuzzy_distance, accents=accents).expand(q)
        q = filtered(q, since, until, filters)
        return BuiltQuery(q, segmented, "and" if used_and else "or", restored)

    def search(self, *args, **kwargs) -> SearchResult:
        """Search with Whoosh syntax over Vietnamese-segmented text; raises QueryError on bad syntax.

        Arguments: text, limit=10, page=1, offset=None, sort="score"|"date",
        since=None, until=None, filters=None (field -> exact value),
        highlight=True, suggest_below=3, fragments_per_hit=2.
        """
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
               filters: dict | None = None, highlight: bool = True, suggest_below: int = 3,
               fragments_per_hit: int = 2) -> SearchResult:
        t0 = time.perf_counter()
        if not isinstance(text, str):
            raise SearchError(f"the query must be text, not {type(text).__name__}")
        limit, page = _count("limit", limit, 0), _count("page", page, 1)
        offset = _count("offset", offset, 0) if offset is not None else (page - 1) * limit
        if sort not in ("score", "date"):
            raise SearchError(f"unknown sort {sort!r} (use 'score' or 'date')")
        since, until = date_bound(since, "since"), date_bound(until, "until", end=True)
        s = self._get_searcher()
        for k in filters or {}:
            if k not in s.schema or k not in FILTER_FIELDS:
                raise SearchError(f"cannot filter on {k!r} (use one of {', '.join(FILTER_FIELDS)})")
        hits: list[Hit] = []
        by_date = sort == "date"
        (q, segmented, op, restored), total, top, fallback = self._attempt(text, since, until, filters,
                                                                          offset + limit, by_date)
        accents_ignored = False
        if not total and self.ranking.accents_as_typed and restored is None and has_diacritics(segmented):
            # nothing with the diacritics as typed: the same words with any diacritics, said so
            again = self._attempt(text, since, until, filters, offset + limit, by_date, accents=False)
            if again[1]:
                (q, segmented, op, restored), total, top, fallback = again
                accents_ignored = True
        if not matches_nothing(q):
            terms = MatchTerms.from_query(q) if highlight else MatchTerms()
            for rank, (docnum, score) in enumerate(top[offset : offset + limit], offset + 1):
                d = s.stored_fields(docnum)
                body = d.get("body") or ""
                title = d.get("title") or ""
                hit = Hit(rank, d.get("id", ""), title, d.get("path", ""), d.get("date"), score)
                if highlight:
                    hit.fragments = fragments(body, terms, fragments_per_hit)
                    hit.title_highlights = whole(title, terms).highlights
                hits.append(hit)
        suggestion = None
        if suggest_below and (total < suggest_below or fallback or self._has_unknown_word(text)):
            suggestion = self.suggest(text)
            if suggestion == restored:  # already searched that way ("Ranked as")
                suggestion = None
        took = (time.perf_counter() - t0) * 1000
        return SearchResult(text, total, took, hits, offset, limit, suggestion, segmented, op, restored, fallback,
                            accents_ignored)

    def _attempt(self, text, since, until, filters, k: int, by_date: bool, accents: bool = True):
        """(built query, total, top k, whether the AND-to-OR fallback gave them) for one reading."""
        built = self.build_query(text, since, until, filters, accents=accents)
        if matches_nothing(built.query):
            return built, 0, [], False
        scorer = self._get_scorer()
        total, top = scorer.top(*scorer.evaluate(built.query), k, by_date=by_date)
        if (not total and built.operator == "and" and self.ranking.operator == "auto"
                and len(built.segmented.split()) > 1 and plain_text(built.segmented)):
            # a short query whose words never all occur together: rank documents with any of them
            built = self.build_query(text, since, until, filters, operator="or", accents=accents)
            total, top = scorer.top(*scorer.evaluate(built.query), k, by_date=by_date)
            return built, total, top, total > 0
        return built, total, top, False

    def _has_unknown_word(self, text: str) -> bool:
        """True when a word of a plain query occurs nowhere in the index (a likely typo)."""
        if not plain_text(text):
            return False
        reader = self._get_searcher().reader()
        return any(not reader.doc_frequency("folded", fold_word(t))
                   for t, _, _ in analyze(text).syllables[: self.limits.suggest_words])

    def _vocabulary(self) -> Vocabulary:
        r = self._get_searcher().reader()
        gen = self._ix.latest_generation()
        if self._vocab is None or self._vocab[0] != gen:
            self._vocab = (gen, Vocabulary(r))
        return self._vocab[1]

    @_pinned
    def suggest(self, text: str) -> str | None:
        """A "did you mean" query from the index's own words, or None."""
        return suggest(text, self._get_searcher().reader(), self._vocabulary(), self.limits)

    def _read_words(self, text: str) -> str:
        """A short plain query typed with diacritics, split into the index's own words (``_``-joined),
        the same whatever its case; anything else as it is, for the query reader to segment."""
        limit = self.ranking.index_words_max
        if not limit or len(text) > 200 or not plain_text(text) or not has_diacritics(text):
            return text
        syllables = [t for t, _, _ in analyze(text).syllables]
        if not 1 < len(syllables) <= limit:
            return text
        return " ".join(self._vocabulary().segment(syllables))

    @_pinned
    def restore_accents(self, text: str) -> str | None:
        """`text` (plain words typed without diacritics) with the accents the index's words suggest.

        None when the query has syntax or diacritics, or nothing could be restored.
        """
        if has_diacritics(text) or not plain_text(text):
            return None
        syllables = [fold_word(t) for t, _, _ in analyze(text).syllables]
        if not syllables:
            return None
        restored = " ".join(self._vocabulary().restore(syllables))
        return restored if has_diacritics(restored) else None

    # -- about ------------------------------------------------------------------
    def check(self) -> list[str]:
        """Read every term's postings and every stored document; the problems found (empty: healthy)."""
        problems = []
        try:
            segments = self._ix._segments()
        except Exception as e:  # noqa: BLE001 - a damaged table of contents
            return [f"cannot read the table of contents ({type(e).__name__}: {e})"]
        missing = [f for seg in segments for f in _segment_files(self._ix, seg)
                   if not self._ix.storage.file_exists(f)]
        if missing:
            return [f"missing segment file {f}" for f in missing]
        folder = str(self.path)
        files = [n for seg in segments for n in segment_files(folder, seg)]
        files.append(f"_{storage.INDEX_NAME}_{self._ix.latest_generation()}.toc")
        if not storage.read_meta(self.path).get("checksums"):  # an index from before checksums
            files = [n for n in files if (self.path / (n + ".sum")).exists()]
        problems = verify_folder(folder, files)
        if problems:
            return problems
        try:
            with self._ix.reader() as r:
                for _ in r.all_terms():  # the whole term dictionary
                    pass
                for seg, _offset in r.leaf_readers():  # and every posting of the big fields, block by block
                    for field in INVERTED_FIELDS:
                        for term, info in seg.iter_field(field):
                            n = read_all(raw_postings(seg, field, term))
                            if n != info.doc_frequency():
                                problems.append(f"{field}:{term.decode(errors='replace')} has {n} postings, "
                                                f"its term info says {info.doc_frequency()}")
                for d in r.all_doc_ids():
                    r.stored_fields(d)
        except Exception as e:  # noqa: BLE001 - whatever reading damaged files raises is the finding
            problems.append(f"cannot read the index ({type(e).__name__}: {e})")
        return problems

    def stats_sources(self) -> list[str]:
        """The sources indexed so far (from the metadata file), for a rebuild."""
        return sorted(storage.read_meta(self.path).get("sources", {}))

    def stats(self) -> dict:
        with self._damage_reported():
            return self._stats()

    @_pinned
    def _stats(self) -> dict:
        s = self._get_searcher()
        r = s.reader()
        meta = storage.read_meta(self.path)
        terms = {}
        for f in ("words", "syllables", "folded", "title"):
            terms[f] = sum(1 for _ in r.lexicon(f))
        size = sum(p.stat().st_size for p in self.path.iterdir() if p.is_file())
        return {
            "path": str(self.path), "documents": r.doc_count(), "deleted": r.doc_count_all() - r.doc_count(),
            "segments": segment_count(self._ix), "terms": terms, "size_bytes": size,
            "updated": meta.get("updated"), "created": meta.get("created"),
            "schema_version": meta.get("schema_version"), "sources": meta.get("sources", {}),
        }


FILTER_FIELDS = ("id", "path", "source")


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


_DAMAGE = (DamagedFile, OSError, EOFError, struct.error, zlib.error, pickle.UnpicklingError, KeyError, IndexError)


def _segment_files(ix, seg) -> list[str]:
    """Names of the files a segment cannot do without."""
    if getattr(seg, "compound", False):
        return [seg.make_filename(".seg")]
    return [seg.make_filename(".trm"), seg.make_filename(".pst")]


class _ListSource(Source):
    """Documents handed to `Index.add` directly."""

    name = ""

    def __init__(self, docs: list[Document]):
        self.docs = docs

    def __iter__(self):
        return iter(self.docs)

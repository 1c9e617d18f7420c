"""The ``vnsearch`` command: parse arguments, call the `Index` API, render.

Exit status follows grep: 0 when a search finds something, 1 when it finds
nothing, 2 on any error (one line on stderr; ``--debug`` shows tracebacks).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
from rich.console import Console

from vnsearch import __version__
from vnsearch.cli.terminal import for_terminal, json_text, safe_markup
from vnsearch.errors import QueryError, VnsearchError
from vnsearch.ingest.sources import DEFAULT_INCLUDE, FieldMap, SourceError
from vnsearch.search.pruning import COUNT_TO

EXIT_HITS, EXIT_NONE, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 2, 130
DEFAULT_INDEX = "index"


class _Console(Console):
    def on_broken_pipe(self) -> None:
        # rich exits with status 1 when the reader goes away; grep's convention is 0
        _silence_stdout()
        raise SystemExit(EXIT_HITS)


def _console(stderr: bool = False) -> Console:
    # rich already honours NO_COLOR and plain output when not a terminal
    return _Console(stderr=stderr, highlight=False, soft_wrap=False)


class Fail(click.ClickException):
    """An error for the user: one line, exit 2."""

    exit_code = EXIT_ERROR

    def show(self, file=None) -> None:
        click.echo(f"vnsearch: error: {for_terminal(self.format_message())}", err=True)


class Group(click.Group):
    """Turns every vnsearch error into one line and exit status 2."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except QueryError as e:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            click.echo(f"vnsearch: query error: {for_terminal(str(e))}", err=True)
            click.echo(for_terminal(e.caret(), lines=True), err=True)
            ctx.exit(EXIT_ERROR)
        except (VnsearchError, SourceError) as e:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            raise Fail(str(e)) from None
        except (click.exceptions.Exit, click.ClickException, click.Abort, KeyboardInterrupt):
            raise
        except BrokenPipeError:
            # the reader went away (| head): end quietly, as grep does
            _silence_stdout()
            ctx.exit(EXIT_HITS)
        except Exception as e:  # a bug: still one line unless --debug
            if ctx.obj and ctx.obj.get("debug"):
                raise
            raise Fail(f"internal error: {type(e).__name__}: {e} (a bug in vnsearch: please report it; "
                       f"--debug shows the traceback)") from None


def _silence_stdout() -> None:
    """Point stdout at the null device, so flushing at exit raises no second BrokenPipeError."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


def _open_index(ctx, create: bool = False, shards: int | None = None):
    from vnsearch.index import Index

    return Index.open(ctx.obj["index"], create=create, synonyms=ctx.obj.get("synonyms"), shards=shards,
                      cluster=ctx.obj.get("cluster"))


@click.group(cls=Group, invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--index", "index_path", envvar="VNSEARCH_INDEX", default=DEFAULT_INDEX, show_default=True,
              type=click.Path(file_okay=False, path_type=Path), help="Index folder (also $VNSEARCH_INDEX).")
@click.option("--synonyms", "synonyms", envvar="VNSEARCH_SYNONYMS", default=None,
              type=click.Path(dir_okay=False, path_type=Path),
              help="File of equivalent forms, one group a line: 'UBND = ủy ban nhân dân' (adds to the built-in "
                   "abbreviations and the index folder's synonyms.txt).")
@click.option("--cluster", "cluster", envvar="VNSEARCH_CLUSTER", default=None, metavar="ADDRESS",
              help="A Dask scheduler (host:port): search the shards and analyze documents on its workers "
                   "(the index must lie on a path they reach; also $VNSEARCH_CLUSTER).")
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
@click.version_option(__version__, "--version", prog_name="vnsearch")
@click.pass_context
def main(ctx, index_path: Path, synonyms: Path | None, cluster: str | None, debug: bool):
    """Full-text search for Vietnamese text.

    \b
    Examples:
      vnsearch index ~/Documents             index a folder (text, Word, PDF, HTML, e-mail...)
      vnsearch search "công nghệ thông tin"   search it
      vnsearch search "ha noi" --json        accent-insensitive, JSON for scripts
      vnsearch                               interactive search (REPL)
    """
    ctx.ensure_object(dict)
    ctx.obj.update(index=index_path, debug=debug, synonyms=synonyms, cluster=cluster)
    if ctx.invoked_subcommand is None:
        ctx.invoke(repl)


# -- index ----------------------------------------------------------------------
@main.command()
@click.argument("sources", nargs=-1)
@click.option("--jobs", "-j", type=click.IntRange(1, 64), default=None, help="Worker processes (default: CPUs).")
@click.option("--id-field", default="id", show_default=True, help="JSONL/CSV field holding the document id.")
@click.option("--title-field", default="title", show_default=True, help="Field holding the title.")
@click.option("--text-field", default="text", show_default=True, help="Field holding the text.")
@click.option("--date-field", default="date", show_default=True, help="Field holding the date.")
@click.option("--include", multiple=True, help="Glob of files to index in folders (default: every file of a supported "
                                               "format; repeatable).")
@click.option("--exclude", multiple=True, help="Glob of files to leave out (repeatable).")
@click.option("--mtime-dates", is_flag=True, help="Date documents that state no date by their file's modification time.")
@click.option("--watch", "watch_after", is_flag=True, help="Then keep watching the folders and files (as 'vnsearch watch').")
@click.option("--rebuild", is_flag=True, help="Index everything again beside the index, then replace it in one step.")
@click.option("--optimize", "optimize_after", is_flag=True,
              help="Then merge the index into one segment a shard (as 'vnsearch optimize'): faster searches.")
@click.option("--shards", type=click.IntRange(1, 64), default=None,
              help="Split a new index into N shards, each scored in its own thread (default: one per two CPUs; fixed once created).")
@click.option("--lock-timeout", type=float, default=10.0, show_default=True, help="Seconds to wait for another indexing run.")
@click.option("--batch-docs", type=click.IntRange(1), default=None,
              help="Documents per commit (or 8 KB of text each): what an interrupted run can lose at most. "
                   "Larger batches index faster, with more memory. [default: 16000 with 16 GB of memory or more, else 4000]")
@click.option("--quiet", "-q", is_flag=True, help="No progress and no summary (errors still go to stderr).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON on stdout.")
@click.pass_context
def index(ctx, sources, jobs, id_field, title_field, text_field, date_field, include, exclude, mtime_dates,
          watch_after, rebuild, optimize_after, shards, lock_timeout, batch_docs, quiet, as_json):
    """Index folders, documents, JSONL or CSV files, or - (JSONL on stdin), incrementally.

    Folders are read recursively: text, Markdown, HTML, Word (.docx), OpenDocument (.odt),
    PDF, EPUB, RTF and e-mail (.eml, .mbox) files, chosen by content as well as by name.
    Re-running indexes only new and changed documents and removes documents
    whose files are gone from indexed folders; with no SOURCE, every source
    the index already knows is read again. Dotted field names reach into
    nested JSON (--text-field article.body); other fields become metadata.

    \b
    Examples:
      vnsearch index ~/Documents
      vnsearch index                      (read every known source again)
      vnsearch index news.jsonl --id-field name --jobs 2
      vnsearch index articles.csv --text-field content --date-field published
      zcat dump.jsonl.gz | vnsearch index -
    """
    from vnsearch.index import Index
    from vnsearch.ingest.sources import open_source

    fields = FieldMap(id=id_field, title=title_field, text=text_field, date=date_field)
    err = _console(stderr=True)
    if sources:
        opened = [open_source(s, fields, include or DEFAULT_INCLUDE, exclude, mtime_dates=mtime_dates) for s in sources]
    else:
        if rebuild or not Path(ctx.obj["index"]).exists():
            raise Fail("give a folder, a file or - to index (this index has no sources yet)" if not rebuild else
                       "--rebuild needs the sources to index")
        opened, problems = _open_index(ctx).known_sources()
        for p in problems:
            err.print(f"[yellow]vnsearch: skipped source:[/] {safe_markup(p)}")
        if not opened:
            raise Fail("this index knows no source that can be read again; give a folder or file to index")
    ix = None if rebuild else _open_index(ctx, create=True, shards=shards)
    progress = None if quiet else _progress_for(err, opened)
    run = dict(jobs=jobs, lock_timeout=lock_timeout, progress=progress, batch_docs=batch_docs)
    try:
        report = (Index.rebuild(ctx.obj["index"], opened, shard_count=shards, cluster=ctx.obj.get("cluster"), **run)
                  if rebuild
                  else ix.add_from(opened, **run))
    finally:
        if progress is not None:
            progress.close()
    if optimize_after and not report.interrupted:
        if not quiet and not as_json:
            err.print("optimizing (merging into one segment a shard)...")
        took = (ix or Index.open(ctx.obj["index"])).optimize(lock_timeout=lock_timeout)["seconds"]
        report.seconds += took
        report.merge_seconds += took
    if as_json:
        click.echo(json_text(report.to_dict()))
    elif not quiet:
        from vnsearch.cli.render import print_report

        print_report(err if report.interrupted else _console(), report)
    if report.interrupted:
        click.echo(f"vnsearch: interrupted; {report.indexed:,} documents committed and kept. "
                   f"Run the same command again to finish.", err=True)
        ctx.exit(EXIT_INTERRUPTED)
    if watch_after:
        _watch(ctx, ix or Index.open(ctx.obj["index"]), opened, jobs, quiet, as_json)


def _count_items(sources) -> int | None:
    """How many items the sources will yield, when cheap to know (for an ETA)."""
    from vnsearch.ingest.sources import FolderSource, JsonlSource

    total = 0
    for s in sources:
        if isinstance(s, FolderSource):
            total += sum(1 for _ in s.files())
        elif isinstance(s, JsonlSource) and s.stream is None and not s.path.endswith(".gz"):
            with open(s.path, "rb") as f:
                total += sum(1 for line in f if line.strip())
        else:
            return None
    return total


class _ProgressReporter:
    """A rich progress bar on a terminal, a log line every few seconds otherwise."""

    def __init__(self, console: Console, total: int | None):
        self.console = console
        self.total = total
        self.bar = None
        self.last_log = 0.0
        if console.is_terminal:
            from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

            self.bar = Progress(TextColumn("[bold]indexing"), BarColumn(), TextColumn("{task.completed:,} docs"),
                                TextColumn("{task.fields[mbs]}"), TimeRemainingColumn(), console=console,
                                transient=True)
            self.bar.start()
            self.task = self.bar.add_task("index", total=total, mbs="")

    def __call__(self, p) -> None:
        mbs = f"{p.bytes / 1e6 / p.seconds:.2f} MB/s" if p.seconds > 0 and p.bytes else ""
        if self.bar is not None:
            self.bar.update(self.task, completed=p.seen, mbs=mbs)
        elif p.seconds - self.last_log >= 5:
            self.last_log = p.seconds
            of = f"/{self.total:,}" if self.total else ""
            self.console.print(f"indexing: {p.seen:,}{of} read, {p.indexed:,} indexed, {mbs or '-'}, {p.seconds:.0f} s")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def _progress_for(console: Console, sources) -> _ProgressReporter:
    return _ProgressReporter(console, _count_items(sources))


# -- search ---------------------------------------------------------------------
@main.command()
@click.argument("query", nargs=-1, required=True)
@click.option("--limit", "-n", type=click.IntRange(1, 10_000), default=10, show_default=True, help="Results per page.")
@click.option("--page", "-p", type=click.IntRange(1), default=1, show_default=True, help="Page of results.")
@click.option("--sort", type=click.Choice(["score", "date"]), default="score", show_default=True, help="Order of results.")
@click.option("--since", help="Only documents dated on or after this (YYYY[-MM[-DD]]).")
@click.option("--until", help="Only documents dated on or before this (YYYY[-MM[-DD]]).")
@click.option("--fields", default=None,
              help="What to show of each hit, from rank,id,title,path,date,score,snippet "
                   "(default: all in JSON; all but id on the terminal).")
@click.option("--in", "within", multiple=True, type=click.Path(file_okay=False, path_type=Path),
              help="Only documents under this folder (repeatable).")
@click.option("--type", "types", multiple=True, help="Only documents of this format: pdf, docx, html, txt, md, eml... "
                                                     "(repeatable).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object with all results (shape in the README).")
@click.option("--jsonl", "as_jsonl", is_flag=True, help="One JSON object per hit, one a line.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "jsonl", "csv"]), default=None,
              help="Output format (--json and --jsonl are short for two of them).")
@click.option("--files", "-l", "files_only", is_flag=True, help="Print only the paths of matching files, one a line.")
@click.option("--compact", is_flag=True, help="One line a hit: rank, title, path, date.")
@click.option("--exact-count", is_flag=True,
              help=f"Count every match (by default past {COUNT_TO:,} matches the count may be a lower bound: "
                   "'at least N').")
@click.pass_context
def search(ctx, query, limit, page, sort, since, until, fields, within, types, as_json, as_jsonl, fmt, files_only,
           compact, exact_count):
    """Search the index. Exit status: 0 with hits, 1 without, 2 on error.

    Free text is segmented into Vietnamese words; accents are optional
    (ha noi finds Hà Nội, exact accents rank first). Whoosh syntax works:
    "quoted phrases", AND OR NOT, (groups), title:..., date:2023-07,
    date:[2023-01 TO 2023-06], prefix*, word~ (fuzzy), term^2 (boost).

    \b
    Examples:
      vnsearch search công nghệ thông tin
      vnsearch search '"Sư đoàn 320"' --since 2023
      vnsearch search 'title:Pleiku OR title:"Tam Kỳ"' --sort date
      vnsearch search ha noi --json | jq '.hits[].title'
    """
    from vnsearch.cli.render import (CSV_FIELDS, HIT_FIELDS, TEXT_FIELDS, hit_json, print_compact, print_csv,
                                     print_paths, print_results, result_json)

    chosen = [f for f, on in (("json", as_json), ("jsonl", as_jsonl), (fmt, fmt is not None), ("files", files_only),
                              ("compact", compact)) if on]
    if len(set(chosen)) > 1:
        raise Fail(f"choose one output: {', '.join(sorted(set(chosen)))}")
    out = chosen[0] if chosen else "text"
    if fields is None:
        wanted = {"json": HIT_FIELDS, "jsonl": HIT_FIELDS, "csv": CSV_FIELDS}.get(out, TEXT_FIELDS)
    else:
        wanted = tuple(f.strip() for f in fields.split(",") if f.strip())
    bad = [f for f in wanted if f not in HIT_FIELDS]
    if bad:
        raise Fail(f"--fields: unknown field(s) {', '.join(bad)}; choose from {','.join(HIT_FIELDS)}")
    ix = _open_index(ctx)
    filters = {"type": types[0]} if len(types) == 1 else None
    text = " ".join(query)
    if len(types) > 1:  # any of several formats
        text = f"({text}) AND ({' OR '.join('type:' + t for t in types)})"
    res = ix.search(text, limit=limit, page=page, sort=sort, since=since, until=until, filters=filters,
                    within=list(within) or None, exact_count=exact_count)
    if out == "json":
        click.echo(json_text(result_json(res, wanted)))
    elif out == "jsonl":
        for h in res.hits:
            click.echo(json_text(hit_json(h, wanted)))
    elif out == "csv":
        print_csv(sys.stdout, res, wanted)
    elif out == "files":
        print_paths(sys.stdout, res)
    elif out == "compact":
        print_compact(_console(), res)
    else:
        print_results(_console(), res, wanted)
    sys.stdout.flush()
    ctx.exit(EXIT_HITS if res.hits else EXIT_NONE)


# -- remove ---------------------------------------------------------------------
@main.command()
@click.argument("targets", nargs=-1)
@click.option("--id", "ids", multiple=True, help="Remove the document with this id (repeatable).")
@click.option("--lock-timeout", type=float, default=10.0, show_default=True, help="Seconds to wait for an indexing run.")
@click.option("--json", "as_json", is_flag=True, help="Print what was removed as JSON.")
@click.pass_context
def remove(ctx, targets, ids, lock_timeout, as_json):
    """Remove documents: every document of a SOURCE (a folder or file indexed before, which is then
    no longer read by 'vnsearch index' without arguments), of any folder or file, or by --id.

    \b
    Examples:
      vnsearch remove ~/Documents/old
      vnsearch remove --id /home/me/notes/a.txt
    """
    if not targets and not ids:
        raise Fail("give a source, a folder or file, or --id ID to remove")
    out = _open_index(ctx).remove(targets, ids, lock_timeout=lock_timeout)
    if as_json:
        click.echo(json_text(out))
    else:
        click.echo(f"removed {out['removed']:,} document{'s' if out['removed'] != 1 else ''}"
                   + (f"; forgot source{'s' if len(out['sources']) > 1 else ''} "
                      + ", ".join(for_terminal(s) for s in out["sources"]) if out["sources"] else ""))
        for t in out["unmatched"]:
            click.echo(f"vnsearch: nothing indexed from {for_terminal(t)}", err=True)
    if out["unmatched"] and not out["removed"]:
        ctx.exit(EXIT_NONE)


# -- watch ----------------------------------------------------------------------
@main.command()
@click.argument("sources", nargs=-1)
@click.option("--jobs", "-j", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Worker processes for each burst of changes.")
@click.option("--include", multiple=True, help="Glob of files to index in folders (repeatable).")
@click.option("--exclude", multiple=True, help="Glob of files to leave out (repeatable).")
@click.option("--mtime-dates", is_flag=True, help="Date undated documents by their file's modification time.")
@click.option("--no-initial", is_flag=True, help="Do not bring the index up to date before watching.")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing for each burst of changes.")
@click.option("--json", "as_json", is_flag=True, help="One JSON line for each burst of changes.")
@click.pass_context
def watch(ctx, sources, jobs, include, exclude, mtime_dates, no_initial, quiet, as_json):
    """Keep the index current as files are added, changed, renamed or deleted (Ctrl-C stops).

    With no SOURCE, watches every folder and file the index already knows.
    Bursts of changes (a folder copied in, a document saved) are indexed together.
    """
    from vnsearch.ingest.sources import open_source

    err = _console(stderr=True)
    if sources:
        opened = [open_source(s, None, include or DEFAULT_INCLUDE, exclude, mtime_dates=mtime_dates) for s in sources]
        ix = _open_index(ctx, create=True)
    else:
        if not Path(ctx.obj["index"]).exists():
            raise Fail("give a folder or file to watch (this index has no sources yet)")
        ix = _open_index(ctx)
        opened, problems = ix.known_sources()
        for p in problems:
            err.print(f"[yellow]vnsearch: not watched:[/] {safe_markup(p)}")
        if not opened:
            raise Fail("this index knows no folder or file to watch; give one")
    if not no_initial:
        report = ix.add_from(opened, jobs=jobs)
        if not quiet and not as_json:
            err.print(f"up to date: {report.indexed:,} indexed, {report.removed:,} removed, "
                      f"{report.unchanged:,} unchanged")
        if report.interrupted:
            ctx.exit(EXIT_INTERRUPTED)
    _watch(ctx, ix, opened, jobs, quiet, as_json)


def _watch(ctx, ix, sources, jobs, quiet: bool, as_json: bool) -> None:
    from vnsearch.ingest.watch import watch as watch_sources, watched_paths

    err = _console(stderr=True)

    def show(batch) -> None:
        r = batch.report
        if as_json:
            click.echo(json_text({"source": batch.source, "paths": batch.paths, **r.to_dict()}))
        elif not quiet:
            parts = [f"{n:,} {what}" for n, what in ((r.added, "added"), (r.updated, "updated"),
                                                    (r.removed, "removed"), (len(r.skipped), "skipped")) if n]
            err.print(f"{len(batch.paths):,} change{'s' if len(batch.paths) != 1 else ''}: "
                      f"{', '.join(parts) or 'nothing to index'}", soft_wrap=True)
            for s in r.skipped[:5]:
                err.print(f"  [dim]{safe_markup(s.where)}: {safe_markup(s.reason)}[/]", soft_wrap=True)

    def ready() -> None:
        if not quiet and not as_json:
            where = ", ".join(sorted(watched_paths(sources)))
            err.print(f"watching {safe_markup(where)} (Ctrl-C stops)", soft_wrap=True)

    try:
        watch_sources(ix, sources, on_batch=show, jobs=jobs, ready=ready)
    except ValueError as e:
        raise Fail(str(e)) from None
    except KeyboardInterrupt:
        pass
    if not quiet and not as_json:
        err.print("stopped watching")


# -- stats ----------------------------------------------------------------------
@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@click.pass_context
def stats(ctx, as_json):
    """Documents, terms per field, size on disk, last update, schema version, sources."""
    st = _open_index(ctx).stats()
    if as_json:
        click.echo(json_text(st))
    else:
        from vnsearch.cli.render import print_stats

        print_stats(_console(), st)


# -- optimize -------------------------------------------------------------------
@main.command()
@click.option("--lock-timeout", type=float, default=10.0, show_default=True, help="Seconds to wait for an indexing run.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@click.pass_context
def optimize(ctx, lock_timeout, as_json):
    """Merge the index into one segment (a shard), for faster searches of a collection done growing.

    Searches keep working meanwhile; the next indexing run adds segments again.
    """
    out = _open_index(ctx).optimize(lock_timeout=lock_timeout)
    if as_json:
        click.echo(json_text(out))
    else:
        click.echo(f"{out['segments_before']} segment{'s' if out['segments_before'] != 1 else ''} -> "
                   f"{out['segments_after']} in {out['seconds']:.1f} s")


# -- check ----------------------------------------------------------------------
@main.command()
@click.pass_context
def check(ctx):
    """Read the whole index and report damage (exit 0 healthy, 2 damaged), with how to rebuild."""
    ix = _open_index(ctx)
    problems = ix.check()
    if not problems:
        click.echo(f"ok: {len(ix):,} documents, every posting and stored document readable")
        return
    for p in problems:
        click.echo(f"vnsearch: damaged: {for_terminal(p)}", err=True)
    sources = " ".join(repr(s) for s in ix.stats_sources()) or "SOURCE..."
    click.echo(for_terminal(f"vnsearch: rebuild it with: vnsearch --index {ctx.obj['index']} index --rebuild {sources}"),
               err=True)
    ctx.exit(EXIT_ERROR)


# -- eval -----------------------------------------------------------------------
@main.command("eval")
@click.option("--queries", required=True, type=click.Path(exists=True, dir_okay=False), help="qid<TAB>query lines.")
@click.option("--qrels", required=True, type=click.Path(exists=True, dir_okay=False), help="TREC qrels: qid 0 docid rel.")
@click.option("--run", "run_file", type=click.Path(dir_okay=False), help="Also write a TREC run file here.")
@click.option("--strip-accents", is_flag=True, help="Remove diacritics from every query first.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@click.pass_context
def eval_(ctx, queries, qrels, run_file, strip_accents, as_json):
    """Measure relevance: MRR@10, nDCG@10, Recall@1/@10/@100 (ir-measures).

    Every query goes through the normal search path; only judged queries count.

    \b
    Example:
      vnsearch eval --queries dev.tsv --qrels qrels-dev.txt --run run.txt
    """
    from vnsearch.evaluate import evaluate, read_qrels, read_queries, write_run
    from vnsearch.text.normalize import fold

    ix = _open_index(ctx)
    ev = evaluate(ix, read_queries(queries), read_qrels(qrels), transform=fold if strip_accents else None)
    if run_file:
        write_run(ev.run, run_file)
    if as_json:
        click.echo(json_text(ev.to_dict()))
        return
    con = _console()
    names = {"RR@10": "MRR@10", "nDCG@10": "nDCG@10", "R@1": "Recall@1", "R@10": "Recall@10", "R@100": "Recall@100"}
    for k, v in ev.metrics.items():
        con.print(f"{names[k]:<11} {v:.4f}")
    con.print(f"[dim]{ev.queries} judged queries, {ev.mean_ms:.1f} ms each on average[/]")
    for qid, why in ev.failed:
        con.print(f"[yellow]query {safe_markup(qid)} failed:[/] {safe_markup(why)}")


# -- repl -----------------------------------------------------------------------
@main.command()
@click.option("--limit", "-n", type=click.IntRange(1, 1000), default=10, show_default=True, help="Results per page.")
@click.pass_context
def repl(ctx, limit):
    """Interactive search. Type a query; :help lists commands.

    With standard input not a terminal, reads one query a line and prints
    the results, so it can be scripted: printf 'hà nội\\n' | vnsearch repl
    """
    from vnsearch.cli.repl import Repl

    r = Repl(_open_index(ctx), _console(), limit=limit)
    if sys.stdin.isatty() and sys.stdout.isatty():
        r.interactive()
    else:
        r.run_lines(sys.stdin)


if __name__ == "__main__":  # pragma: no cover
    main()

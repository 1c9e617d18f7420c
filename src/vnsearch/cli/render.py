"""Turning API results into terminal output (rich) and JSON, for the CLI and the REPL alike.

The JSON shape is a contract for scripts (see README, "JSON output"):

    {"query", "total", "total_exact", "took_ms", "suggestion", "restored", "fallback", "accents_ignored",
     "page", "limit", "hits": [{"rank", "id", "title", "path", "date", "score", "type", "fields",
               "snippet", "snippet_highlights"}]}

``total`` counts the matching documents; past 10,000 it may be a lower bound,
and then ``total_exact`` is false (``--exact-count`` counts them all); ``restored`` is the
accented reading that ranked a query typed without diacritics, or null.  ``snippet`` is plain text (fragments joined by `` … ``) and
``snippet_highlights`` lists [start, end) character offsets into it.
``path`` is absolute; ``type`` is the format the document was read from and
``fields`` its metadata (``{"author": ...}``).  On the terminal a path inside
the current folder is shown relative to it.
"""

from __future__ import annotations

import csv
import io
import os

from rich.console import Console
from rich.table import Table
from rich.text import Text

from vnsearch.search.highlight import Fragment
from vnsearch.index import Hit, SearchResult
from vnsearch.ingest.indexing import IndexReport
from vnsearch.cli.terminal import finite, for_terminal, plain, safe_markup

HIT_FIELDS = ("rank", "id", "title", "path", "date", "score", "type", "fields", "snippet")
TEXT_FIELDS = ("rank", "title", "path", "date", "score", "fields", "snippet")
CSV_FIELDS = ("rank", "id", "title", "path", "date", "score", "type", "snippet")
INDENT = 5
SEPARATOR = " … "
MATCH_STYLE = "bold black on yellow"


def snippet(fragments: list[Fragment]) -> tuple[str, list[list[int]]]:
    """Fragments joined into one string, with highlight offsets into it."""
    parts, spans, pos = [], [], 0
    for i, f in enumerate(fragments):
        if i:
            parts.append(SEPARATOR)
            pos += len(SEPARATOR)
        text = " ".join(f.text.split())  # one line: collapse line breaks and runs of spaces
        mapping = _collapse_map(f.text)
        parts.append(text)
        for a, b in f.highlights:
            spans.append([pos + mapping[a], pos + mapping[b]])
        pos += len(text)
    return "".join(parts), spans


def _collapse_map(text: str) -> list[int]:
    """For each offset in `text`, its offset once white space runs collapse to one space and ends are stripped."""
    out = []
    j = 0
    prev_space = True  # leading space is dropped
    for ch in text:
        out.append(j)
        if ch.isspace():
            if not prev_space:
                j += 1
            prev_space = True
        else:
            j += 1
            prev_space = False
    out.append(j)
    collapsed = len(" ".join(text.split()))
    return [min(x, collapsed) for x in out]


def hit_json(hit: Hit, fields=HIT_FIELDS) -> dict:
    snip, spans = snippet(hit.fragments)
    full = {
        "rank": hit.rank, "id": hit.id, "title": hit.title, "path": hit.path,
        "date": hit.date.date().isoformat() if hit.date else None, "score": finite(round(hit.score, 4)),
        "type": hit.type, "fields": hit.fields, "snippet": snip, "snippet_highlights": spans,
    }
    keep = set(fields) | ({"snippet_highlights"} if "snippet" in fields else set())
    return {k: v for k, v in full.items() if k in keep}


def result_json(res: SearchResult, fields=HIT_FIELDS) -> dict:
    return {
        "query": res.query, "total": res.total, "total_exact": res.total_exact, "took_ms": round(res.took_ms, 2),
        "suggestion": res.suggestion, "restored": res.restored, "fallback": res.fallback,
        "accents_ignored": res.accents_ignored,
        "page": res.page, "limit": res.limit,
        "hits": [hit_json(h, fields) for h in res.hits],
    } | ({"took_ms_phases": {k: (round(v, 2) if k != "rounds" else v) for k, v in res.phases.items()}}
         if res.phases is not None else {})


def shown_path(path: str, cwd: str | None = None) -> str:
    """A path as people read it: relative to the current folder when it lies inside it."""
    if not path or not os.path.isabs(path):
        return path
    try:
        cwd = cwd or os.getcwd()
        rel = os.path.relpath(path, cwd)
    except (OSError, ValueError):  # the current folder is gone; another drive (Windows)
        return path
    return path if rel == ".." or rel.startswith(".." + os.sep) else rel


def print_paths(out, res: SearchResult) -> None:
    """One path a line, each file once (documents inside one mailbox share it): for xargs and fzf."""
    seen = set()
    for h in res.hits:
        p = shown_path(h.path)
        if p and p not in seen:
            seen.add(p)
            out.write(for_terminal(p) + "\n")


def print_csv(out, res: SearchResult, fields=CSV_FIELDS) -> None:
    """A header row, then a row a hit (for spreadsheets)."""
    w = csv.writer(out, lineterminator="\n")
    w.writerow(fields)
    for h in res.hits:
        row = hit_json(h, fields)
        if "fields" in row:
            row["fields"] = "; ".join(f"{k}={v}" for k, v in row["fields"].items())
        w.writerow(["" if row.get(f) is None else row.get(f) for f in fields])


def csv_text(res: SearchResult, fields=CSV_FIELDS) -> str:
    out = io.StringIO()
    print_csv(out, res, fields)
    return out.getvalue()


def print_compact(console: Console, res: SearchResult) -> None:
    """One line a hit: rank, title, path and date, cut to the terminal's width."""
    width = max(40, console.width)
    for hit in res.hits:
        line = Text(f"{hit.rank:>3}. ", style="bold")
        line.append_text(_marked(hit.title or "(untitled)", hit.title_highlights, "bold"))
        tail = [shown_path(hit.path)] + ([hit.date.date().isoformat()] if hit.date else [])
        line.append("  " + for_terminal("  ·  ".join(x for x in tail if x)), style="dim")
        line.truncate(width, overflow="ellipsis")
        console.print(line, no_wrap=True, overflow="ellipsis")


def _marked(text: str, spans, base_style: str = "", lines: bool = False) -> Text:
    t = Text(for_terminal(text, lines), style=base_style)
    for a, b in spans:
        t.stylize(MATCH_STYLE, a, b)
    return t


def print_summary(console: Console, res: SearchResult) -> bool:
    """The suggestion, notices and counts above the hits; False when there are no hits to show."""
    if res.suggestion:
        console.print(Text.assemble(("Did you mean: ", "italic"), (for_terminal(res.suggestion), "bold cyan"), "?"))
    if res.restored and res.hits:
        console.print(Text.assemble(("Ranked as: ", "italic dim"), (for_terminal(res.restored), "cyan"),
                                    (" (accents restored)", "dim")))
    query = for_terminal(res.query)
    if res.accents_ignored:
        console.print(Text("Nothing has these words with these diacritics; showing them with any diacritics.",
                           style="italic dim"))
    if res.fallback:
        console.print(Text("No document holds every word; showing documents with any of them.", style="italic dim"))
    count = Text.assemble(*([] if res.total_exact else ["at least "]), (f"{res.total:,}", "bold"),
                          f" result{'s' if res.total != 1 else ''} for ", (query, "bold"))
    if not res.hits:
        if res.total:
            console.print(count.append(f", none on page {res.page} ({res.took_ms:.0f} ms)"))
        else:
            console.print(Text.assemble(("No results", "yellow"), " for ", (query, "bold"), f" ({res.took_ms:.0f} ms)"))
        return False
    first, last = res.offset + 1, res.offset + len(res.hits)
    of = f"{res.pages:,}" if res.total_exact else f"at least {res.pages:,}"
    console.print(count.append(f", showing {first}–{last} (page {res.page} of {of}), {res.took_ms:.0f} ms"))
    return True


def print_results(console: Console, res: SearchResult, fields=TEXT_FIELDS) -> None:
    if not print_summary(console, res):
        return
    for hit in res.hits:
        console.print()
        rows = []  # (left margin, text): a grid, so every wrapped line keeps the text's indent
        if "title" in fields:
            rank = Text(f"{hit.rank:>3}. ", style="bold") if "rank" in fields else Text("")
            rows.append((rank, _marked(hit.title or "(untitled)", hit.title_highlights, "bold")))
        elif "rank" in fields:
            rows.append((Text(f"{hit.rank:>3}. ", style="bold"), Text("")))
        meta = []
        if "path" in fields and hit.path:
            meta.append((for_terminal(shown_path(hit.path)), "dim"))
        if "id" in fields and hit.id and hit.id != hit.path:
            meta.append((f"id {for_terminal(hit.id)}", "dim"))
        if "date" in fields and hit.date:
            meta.append((hit.date.date().isoformat(), "green"))
        if "score" in fields:
            meta.append((f"score {hit.score:.2f}", "dim"))
        if "fields" in fields and hit.fields:
            meta.append((for_terminal(", ".join(f"{k}: {v}" for k, v in list(hit.fields.items())[:4])), "cyan"))
        if meta:
            t = Text()
            for i, (s, style) in enumerate(meta):
                if i:
                    t.append("  ·  ", style="dim")
                t.append(s, style=style)
            rows.append((Text(""), t))
        if "snippet" in fields and hit.fragments:
            snip, spans = snippet(hit.fragments)
            rows.append((Text(""), _marked(snip, spans)))
        for left, text in rows:
            _hanging(console, left, text)


def _hanging(console: Console, left: Text, text: Text) -> None:
    """`left` in the margin, then `text` wrapped so that its every line starts at the indent."""
    width = max(20, console.width - INDENT)
    margin = Text(" " * INDENT)
    for i, segments in enumerate(console.render_lines(text, console.options.update(width=width), pad=False)):
        line = Text()
        line.append_text(left if i == 0 else margin)
        if i == 0 and left.cell_len < INDENT:
            line.append(" " * (INDENT - left.cell_len))
        for seg in segments:
            line.append(seg.text, seg.style)
        line.rstrip()
        console.print(line, no_wrap=True, crop=False)


def print_document(console: Console, doc: dict, spans) -> None:
    console.print(Text(for_terminal(doc.get("title") or "(untitled)"), style="bold"))
    meta = " · ".join(x for x in (shown_path(doc.get("path") or ""),
                                  doc.get("date").date().isoformat() if doc.get("date") else "") if x)
    if meta:
        console.print(Text(for_terminal(meta), style="dim"))
    console.print()
    console.print(_marked(doc.get("body") or "", spans, lines=True))


def print_report(console: Console, rep: IndexReport) -> None:
    t = Table(show_header=False, box=None, pad_edge=False)
    t.add_column(style="bold")
    t.add_column(justify="right")
    for name, n in (("added", rep.added), ("updated", rep.updated), ("unchanged", rep.unchanged),
                    ("removed", rep.removed), ("kept", rep.kept), ("truncated", rep.truncated),
                    ("skipped", len(rep.skipped))):
        if name not in ("kept", "truncated") or n:
            t.add_row(name, f"{n:,}")
    mbs = rep.bytes / 1e6 / rep.seconds if rep.seconds else 0.0
    t.add_row("time", f"{rep.seconds:.1f} s" + (f" ({mbs:.2f} MB/s)" if rep.bytes else ""))
    if rep.merge_seconds >= 1:  # merging segments at the end of the run: worth seeing when it took a while
        t.add_row("of which merging", f"{rep.merge_seconds:.1f} s")
    console.print(t)
    if rep.skipped:
        console.print("[bold]skipped:[/]")
        for reason, n in sorted(rep.skip_reasons().items(), key=lambda x: -x[1]):
            console.print(f"  {n:>6,}  {safe_markup(reason)}")
        for s in rep.skipped[:10]:  # not wrapped: a path stays whole for grep and copy
            console.print(f"          [dim]{safe_markup(s.where)}: {safe_markup(s.reason)}[/]", soft_wrap=True)
        if len(rep.skipped) > 10:
            console.print(f"          [dim]… and {len(rep.skipped) - 10:,} more (use --json for all)[/]")
    if rep.kept:
        console.print(f"[bold]kept:[/] {rep.kept:,} documents whose file or folder could not be read "
                      f"(not removed; listed under skipped)")
    if rep.notes:
        console.print("[bold]notes:[/]")
        for s in rep.notes[:10]:
            console.print(f"          [dim]{safe_markup(s.where)}: {safe_markup(s.reason)}[/]", soft_wrap=True)
        if len(rep.notes) > 10:
            console.print(f"          [dim]… and {len(rep.notes) - 10:,} more (use --json for all)[/]")


def print_stats(console: Console, st: dict) -> None:
    t = Table(show_header=False, box=None, pad_edge=False)
    t.add_column(style="bold")
    t.add_column()
    t.add_row("index", plain(st["path"]))
    t.add_row("documents", f"{st['documents']:,}")
    for f, n in st["terms"].items():
        t.add_row(f"terms ({f})", f"{n:,}")
    t.add_row("size on disk", f"{st['size_bytes'] / 1e6:.1f} MB")
    t.add_row("segments", str(st["segments"]))
    if st.get("shards", 1) > 1:
        t.add_row("shards", str(st["shards"]))
    t.add_row("last update", plain(st["updated"] or "never"))
    t.add_row("schema version", str(st["schema_version"]))
    if st.get("fields"):
        t.add_row("metadata fields", plain(", ".join(st["fields"])))
    if st.get("types"):
        t.add_row("formats", plain(", ".join(f"{k} {v:,}" for k, v in st["types"].items())))
    for i, (name, info) in enumerate(sorted(st["sources"].items())):
        t.add_row("sources" if i == 0 else "", plain(f"{name} ({info.get('kind')}, {info.get('last_run')})"))
    console.print(t)

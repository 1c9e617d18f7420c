"""The interactive search loop: prompt_toolkit for line editing, `Index` for everything else.

`Repl.handle` does one line (a query or a ``:command``) and is what tests
drive; `interactive` wraps it in a prompt with history, Ctrl-R search and
completion; `run_lines` serves piped input.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from rich.console import Console

from vnsearch.errors import QueryError, VnsearchError
from vnsearch.search.highlight import MatchTerms, match_spans
from vnsearch.search.pruning import COUNT_TO
from vnsearch.cli.render import print_compact, print_document, print_results, print_stats, print_summary, result_json
from vnsearch.cli.terminal import for_terminal, json_text, safe_markup

COMMANDS = {
    ":help": "this list",
    ":next": "next page of results (also :n)",
    ":prev": "previous page (also :p)",
    ":open N": "show result N whole, matches highlighted, in a pager (:open N --app: in its own program)",
    ":limit N": "results per page",
    ":compact": "toggle one line a result",
    ":json": "toggle JSON output",
    ":count": f"toggle counting every match (past {COUNT_TO:,} the count is otherwise 'at least N')",
    ":stats": "about the index",
    ":quit": "leave (also Ctrl-D)",
}
FIELD_PREFIXES = ("title:", "date:", "id:", "path:", "type:")
OPERATORS = ("AND", "OR", "NOT")


def system_opener(path: str) -> list[str] | None:
    """The command that opens `path` in its usual program, or None when the system has none."""
    if sys.platform == "darwin":
        return ["open", path]
    if sys.platform.startswith("win"):
        return ["start", path]
    opener = shutil.which("xdg-open")
    return [opener, path] if opener else None


class pager_environment:
    """While the pager runs: ``less`` told to show colours (``-R``) when the user has not set
    LESS or PAGER themselves (without it, highlights show as escape codes)."""

    def __enter__(self):
        self.saved = os.environ.get("LESS")
        if self.saved is None and not os.environ.get("PAGER"):
            os.environ["LESS"] = "-R"
        return self

    def __exit__(self, *exc):
        if self.saved is None:
            os.environ.pop("LESS", None)
        else:
            os.environ["LESS"] = self.saved
        return False


def history_path() -> Path:
    base = os.environ.get("VNSEARCH_HISTORY")
    if base:
        return Path(base)
    data = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share"))
    return data / "vnsearch" / "history"


class Repl:
    def __init__(self, index, console: Console, limit: int = 10, pager: bool = True):
        self.index = index
        self.console = console
        self.limit = limit
        self.as_json = False
        self.compact = False
        self.exact_count = False  # count every match (`:count`)
        self.pager = pager
        self.query: str | None = None
        self.page = 1
        self.result = None

    # -- one line -------------------------------------------------------------
    def handle(self, line: str) -> bool:
        """Do what `line` asks; False when the session should end."""
        line = line.strip()
        if not line:
            return True
        if line.startswith(":"):
            return self.command(line)
        self.query, self.page = line, 1
        self.show()
        return True

    def command(self, line: str) -> bool:
        name, _, arg = line.partition(" ")
        arg = arg.strip()
        c = self.console
        if name in (":quit", ":q", ":exit"):
            return False
        if name in (":help", ":h", ":?"):
            for k, v in COMMANDS.items():
                c.print(f"  [bold]{k:<9}[/] {v}")
            c.print("  Queries: free text (accents optional), \"phrases\", AND OR NOT, title:…, date:2023-07, word*")
        elif name in (":next", ":n"):
            if self._need_query() and self.result and self.page < self.result.pages:
                self.page += 1
                self.show()
            elif self.result:
                c.print("[dim]no more results[/]")
        elif name in (":prev", ":p"):
            if self._need_query() and self.page > 1:
                self.page -= 1
                self.show()
            elif self.result:
                c.print("[dim]already on the first page[/]")
        elif name == ":open":
            self.open(arg)
        elif name == ":limit":
            if arg.isdigit() and 0 < int(arg) <= 1000:
                self.limit = int(arg)
                c.print(f"{self.limit} results per page")
            else:
                c.print("[red]usage:[/] :limit N (1-1000)")
        elif name == ":compact":
            self.compact = not self.compact
            c.print(f"compact output {'on' if self.compact else 'off'}")
        elif name == ":json":
            self.as_json = not self.as_json
            c.print(f"JSON output {'on' if self.as_json else 'off'}")
        elif name == ":count":
            self.exact_count = not self.exact_count
            c.print(f"exact counts {'on' if self.exact_count else 'off'}")
            if self.query is not None:
                self.show()
        elif name == ":stats":
            print_stats(c, self.index.stats())
        else:
            c.print(f"[red]unknown command[/] {safe_markup(name)}; :help lists them")
        return True

    def _need_query(self) -> bool:
        if self.query is None:
            self.console.print("[dim]search for something first[/]")
            return False
        return True

    def show(self) -> None:
        c = self.console
        try:
            self.result = self.index.search(self.query, limit=self.limit, page=self.page,
                                            exact_count=self.exact_count)
        except QueryError as e:
            c.print(f"[red]query error:[/] {safe_markup(e.message)}")
            c.print(for_terminal(e.caret(), lines=True), markup=False, highlight=False)
            return
        except VnsearchError as e:
            c.print(f"[red]error:[/] {safe_markup(e)}")
            return
        if self.as_json:
            c.print(json_text(result_json(self.result), indent=2), markup=False, highlight=False, soft_wrap=True)
        elif self.compact:
            if print_summary(c, self.result):
                print_compact(c, self.result)
            if self.result.page < self.result.pages:
                c.print("[dim]:next for more, :open N to read one[/]")
        else:
            print_results(c, self.result)
            if self.result.page < self.result.pages:
                c.print("[dim]:next for more, :open N to read one[/]")

    def open(self, arg: str) -> None:
        c = self.console
        parts = arg.split()
        app = "--app" in parts
        parts = [p for p in parts if p != "--app"]
        if not self.result or len(parts) != 1 or not parts[0].isdigit():
            c.print("[red]usage:[/] :open N (or :open N --app), after a search")
            return
        n = int(parts[0])
        hit = next((h for h in self.result.hits if h.rank == n), None)
        if hit is None:
            c.print(f"[red]no result {n} on this page[/]")
            return
        if app:
            self.open_app(hit.path)
            return
        doc = self.index.get(hit.id)
        if doc is None:
            c.print("[red]that document is no longer in the index[/]")
            return
        q = self.index.build_query(self.query).query
        spans = match_spans(doc.get("body") or "", MatchTerms.from_plan(q))
        if self.pager and c.is_terminal:
            with pager_environment(), c.pager(styles=True):
                print_document(c, doc, spans)
        else:
            print_document(c, doc, spans)

    def open_app(self, path: str) -> None:
        """The original file in the program the system opens it with (xdg-open, open, start)."""
        c = self.console
        if not path or not os.path.isfile(path):
            c.print(f"[red]no file to open:[/] {safe_markup(path or '(this document came from no file)')}")
            return
        command = system_opener(path)
        if command is None:
            c.print("[red]no program to open files with[/] (xdg-open is not installed)")
            return
        try:
            if sys.platform.startswith("win"):
                os.startfile(path)  # noqa: S606 - the user asked to open their own file
            else:
                subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL, start_new_session=True)
        except OSError as e:
            c.print(f"[red]could not open it:[/] {safe_markup(e.strerror or e)}")
            return
        c.print(f"[dim]opened {safe_markup(path)}[/]")

    # -- loops ----------------------------------------------------------------
    def run_lines(self, lines) -> None:
        """One query or command a line, for piped input."""
        for line in lines:
            if not self.handle(line.rstrip("\n")):
                break

    def session(self, **kwargs):
        from prompt_toolkit import PromptSession
        from prompt_toolkit.completion import WordCompleter
        try:  # the index's own metadata fields complete too (author:, tags:...)
            meta = [f"{name}:" for name in self.index.meta_fields()]
        except VnsearchError:
            meta = []
        words = [k.split()[0] for k in COMMANDS] + list(FIELD_PREFIXES) + meta + list(OPERATORS)
        completer = WordCompleter(words, sentence=True, match_middle=False)
        if "history" not in kwargs:
            kwargs["history"] = self.history()
        return PromptSession(completer=completer, complete_while_typing=False, enable_history_search=False, **kwargs)

    def history(self):
        """The persistent history, or one kept in memory after a single warning when the file
        cannot be used (a folder, no permission, a full disk): never an error per query."""
        from prompt_toolkit.history import FileHistory, InMemoryHistory

        repl = self

        class KeptHistory(FileHistory):
            broken = False

            def load_history_strings(self):
                try:
                    return list(super().load_history_strings())
                except OSError as e:
                    self.fail(e)
                    return []

            def store_string(self, string: str) -> None:
                if not self.broken:
                    try:
                        super().store_string(string)
                    except OSError as e:
                        self.fail(e)

            def fail(self, e: OSError) -> None:
                self.broken = True
                repl.warn_history(self.filename, e)

        hp = history_path()
        try:
            hp.parent.mkdir(parents=True, exist_ok=True)
            with open(hp, "ab"):
                pass
        except OSError as e:
            self.warn_history(hp, e)
            return InMemoryHistory()
        return KeptHistory(str(hp))

    def warn_history(self, path, e: OSError) -> None:
        self.console.print(f"[yellow]warning:[/] history is not saved: cannot write {safe_markup(path)} "
                           f"({safe_markup(e.strerror or e)}); set VNSEARCH_HISTORY to another file")

    def interactive(self, session=None) -> None:
        """Prompt until :quit or Ctrl-D; Ctrl-C abandons the line (or the search) in progress."""
        session = session or self.session()
        self.console.print(f"vnsearch: {len(self.index):,} documents. Type a query, :help for commands, Ctrl-D to leave.")
        while True:
            try:
                line = session.prompt("tìm> ")
            except KeyboardInterrupt:
                continue
            except EOFError:
                break
            try:
                if not self.handle(line):
                    break
            except KeyboardInterrupt:
                self.console.print("[dim]cancelled[/]")

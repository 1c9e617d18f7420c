"""The command line and the REPL: parse, call the `Index` API, render.  Nothing here is
needed to use vnsearch from Python."""

from vnsearch.cli.commands import main

__all__ = ["main"]

"""The storage engine seam: what vnsearch needs from an index, in its own terms.

An engine is a subpackage of `vnsearch.engine` that exports the names in
`SEAM`; it is the only code that imports its storage library.  Above this
module nothing knows how postings are laid out on disk.

* ``Store.create(path)`` / ``Store.open(path)``: an index folder.
  ``store.snapshot()`` reads the latest commit; ``store.segment_writer()``
  files one new segment from chunks `encode_postings` prepared (in worker
  processes); ``store.delete(ids)``, ``store.merge(limitmb, written, submit)``,
  ``store.check(checksums)``, ``store.existing()`` (id -> (hash, source)).
* ``Snapshot``: one commit as arrays over global document numbers (deleted
  ones included; ``live`` says which are not): ``postings(field, term)`` ->
  (doc numbers, frequencies), ``positions(field, term, docs)``,
  ``lengths(field)``, ``total_length(field)``, ``column(field)``,
  ``stored(docnum, body=True)`` (the body only when asked), ``doc_number(id)``, ``terms(field, start, prefix)``,
  ``terms_within(field, text, maxdist, prefix)``, ``term_frequencies(field)``,
  ``kind(field)``, ``is_current()``, ``close()``.
* The folder around it: ``META`` and ``read_meta``/``write_meta``,
  ``WriteLock``, ``make_folder``, ``refuse_foreign``, ``foreign_files``,
  ``staging``/``swap_in`` (rebuilds), ``now_iso``; ``date_value`` (a
  datetime as the date column holds it); the inverted fields (``INVERTED_FIELDS``); ``DamagedFile`` and
  ``READING_CODE`` (where an exception means damaged files, not a bug).

``VNSEARCH_ENGINE`` names the engine when more than one is installed.
"""

from __future__ import annotations

import importlib
import os
import pkgutil

SEAM = ("Store", "Snapshot", "encode_postings", "date_value", "META", "read_meta", "write_meta", "WriteLock",
        "make_folder", "refuse_foreign", "foreign_files", "staging", "swap_in", "now_iso", "INVERTED_FIELDS",
        "DamagedFile", "READING_CODE")


def _engine():
    names = sorted(m.name for m in pkgutil.iter_modules(__path__) if m.ispkg)
    chosen = os.environ.get("VNSEARCH_ENGINE") or (names[0] if len(names) == 1 else "")
    if chosen not in names:
        raise ImportError(f"VNSEARCH_ENGINE must name one of the engines: {', '.join(names)}")
    return importlib.import_module(f"{__name__}.{chosen}")


_chosen = _engine()
globals().update({name: getattr(_chosen, name) for name in SEAM})
__all__ = list(SEAM)

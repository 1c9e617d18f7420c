"""Changes to an index other than adding segments or merging them: deletions, one commit each.

Every one goes through `SealedWriter`, so its table of contents carries checksums.
"""

from __future__ import annotations

from typing import Iterable

from vnsearch.engine.whoosh.integrity import SealedWriter


def delete_ids(ix, ids: Iterable[str]) -> int:
    """Delete the documents with these ids in one commit; how many existed."""
    w = SealedWriter(ix)
    n = 0
    try:
        for doc_id in ids:
            n += w.delete_by_term("id", doc_id)
        w.commit(merge=False)
    except BaseException:
        w.cancel()
        raise
    return n


def segment_count(ix) -> int:
    return len(ix._segments())

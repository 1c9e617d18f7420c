"""Changes to an index other than adding segments: deletions and merges, each one commit.

Every one goes through `SealedWriter`, so its table of contents carries checksums.
"""

from __future__ import annotations

from typing import Iterable

from whoosh import writing

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


def merge_small(ix, max_segments: int = 8, limitmb: int = 256) -> bool:
    """Many small segments slow searches down: merge the small ones when there are more than
    `max_segments`; True when a merge ran."""
    if segment_count(ix) <= max_segments:
        return False
    w = SealedWriter(ix, limitmb=limitmb)
    w.commit(mergetype=writing.MERGE_SMALL)
    return True

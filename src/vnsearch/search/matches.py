"""Matches as sparse arrays: ascending document numbers, one score each.

A plan node's matches are a pair (ids, scores), never an array the size of
the collection.  Combining them picks the cheaper of two ways by size:
small sets are merged by sorting and binary search; sets with more than
about n / DENSE_SHARE postings are marked in a scratch array of the
collection's size and read back (sorting those costs far more than one pass
over n).  Scores are summed item by item in the order the plan lists them,
from zero, so either way gives the same floating-point result.
"""

from __future__ import annotations

import numpy as np

from vnsearch.arrays import distinct

_NO_IDS = np.zeros(0, dtype=np.int64)
_NO_SCORES = np.zeros(0, dtype=np.float64)
#: more postings than n / DENSE_SHARE are merged through a scratch array of n entries
DENSE_SHARE = 32

Matches = tuple[np.ndarray, np.ndarray]


def none() -> Matches:
    """No matches (the arrays are shared: never change them)."""
    return _NO_IDS, _NO_SCORES


def _dense(size: int, n: int) -> bool:
    return size * DENSE_SHARE > n


def union(parts: list[Matches], n: int, best: bool = False,
          weights: list[float] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """(ids in any part, their scores summed over the parts, or the best with `best`, and, with
    `weights` (one a part), the sum of the weights of the parts holding each id)."""
    dense = _dense(sum(len(i) for i, _ in parts), n)
    # slots: a document's own number in a scratch array of n entries, or its place among the ids
    ids = None if dense else union_ids([i for i, _ in parts], n)
    size = n if dense else len(ids)
    score = np.zeros(size)
    held = np.zeros(size) if weights is not None else None
    for k, (pids, s) in enumerate(parts):  # part by part: the same additions in the same order
        pos = pids if dense else np.searchsorted(ids, pids)
        # ufunc.at: one read-modify-write a posting in C, where `score[pos] += s` gathers, adds and
        # scatters (each part's documents are distinct, so the sums are the same to the bit)
        (np.maximum if best else np.add).at(score, pos, s)
        if held is not None:
            np.add.at(held, pos, weights[k])
    if dense:
        ids = union_ids([i for i, _ in parts], n)
        score, held = score[ids], (held[ids] if held is not None else None)
    return ids, score, held


def union_ids(id_lists: list[np.ndarray], n: int) -> np.ndarray:
    """The ascending document numbers in any of the lists: marked in a scratch array of n entries
    when they are many, else sorted."""
    if len(id_lists) == 1:
        return id_lists[0]
    if not id_lists:
        return _NO_IDS
    if _dense(sum(len(i) for i in id_lists), n):
        present = np.zeros(n, dtype=bool)
        for ids in id_lists:
            present[ids] = True
        return np.flatnonzero(present)
    return distinct(np.concatenate(id_lists))


def intersection(parts: list[Matches], n: int) -> Matches:
    """(ids in every part, their scores summed over the parts)."""
    shortest = min(parts, key=lambda p: len(p[0]))[0]
    if not _dense(len(shortest), n):
        ids = shortest
        for other, _ in sorted(parts, key=lambda p: len(p[0])):
            if other is shortest or not len(ids):
                continue
            ids = ids[member(other, ids, n)]
    else:
        count = np.zeros(n, dtype=np.int32)
        for i, _ in parts:
            count[i] += 1
        ids = np.flatnonzero(count == len(parts))
    score = np.zeros(len(ids))
    for part in parts:
        score += gather(part, ids, n)
    return ids, score


def member(sorted_ids: np.ndarray, ids: np.ndarray, n: int) -> np.ndarray:
    """Which of `ids` are in `sorted_ids`."""
    if not len(sorted_ids) or not len(ids):
        return np.zeros(len(ids), dtype=bool)
    if _dense(len(ids), n) and _dense(len(sorted_ids), n):
        mark = np.zeros(n, dtype=bool)
        mark[sorted_ids] = True
        return mark[ids]
    pos = np.minimum(np.searchsorted(sorted_ids, ids), len(sorted_ids) - 1)
    return sorted_ids[pos] == ids


def gather(part: Matches, ids: np.ndarray, n: int) -> np.ndarray:
    """The part's scores at `ids` (0 where it does not match)."""
    pids, s = part
    if not len(pids) or not len(ids):
        return np.zeros(len(ids))
    if _dense(len(ids), n) and _dense(len(pids), n):
        lookup = np.zeros(n)
        lookup[pids] = s
        return lookup[ids]
    pos = np.minimum(np.searchsorted(pids, ids), len(pids) - 1)
    return np.where(pids[pos] == ids, s[pos], 0.0)


def complement(ids: np.ndarray, n: int) -> np.ndarray:
    """Every document number below `n` not in `ids`."""
    keep = np.ones(n, dtype=bool)
    keep[ids] = False
    return np.flatnonzero(keep)

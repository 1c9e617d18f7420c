"""Array helpers shared by text analysis, indexing and search (numpy only, no engine).

`distinct` exists because `np.unique` became several times slower in numpy 2.3+ for
integer arrays of a few hundred to tens of thousands of values (it hashes before it
sorts), and a query's unions and a document's pair terms call it on exactly those
sizes (bench/README.md has the figures).
"""

from __future__ import annotations

import numpy as np


def distinct(values: np.ndarray) -> np.ndarray:
    """The distinct values of a 1-d array, ascending: `np.unique(values)` by one sort and one comparison."""
    s = np.sort(values)
    if len(s) < 2:
        return s
    keep = np.empty(len(s), dtype=bool)
    keep[0] = True
    np.not_equal(s[1:], s[:-1], out=keep[1:])
    return s[keep]

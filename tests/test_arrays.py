"""`vnsearch.arrays`: numpy helpers equal to what they replace."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from vnsearch.arrays import distinct


@given(arrays(np.int64, st.integers(0, 300), elements=st.integers(-50, 50)))
def test_distinct_is_np_unique(values):
    got = distinct(values)
    want = np.unique(values)
    assert got.dtype == want.dtype and got.tolist() == want.tolist()

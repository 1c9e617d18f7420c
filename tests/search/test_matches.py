"""Sparse matches combine exactly as whole-collection arrays would, by either path (sorted or scratch array)."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vnsearch.search import matches as M

N = 300


@st.composite
def parts(draw, min_parts=1):
    out = []
    for _ in range(draw(st.integers(min_parts, 5))):
        ids = np.array(sorted(draw(st.sets(st.integers(0, N - 1), max_size=80))), dtype=np.int64)
        scores = np.array(draw(st.lists(st.floats(0, 50, allow_nan=False), min_size=len(ids), max_size=len(ids))))
        out.append((ids, scores))
    return out


def dense(part):
    mask, score = np.zeros(N, dtype=bool), np.zeros(N)
    mask[part[0]] = True
    score[part[0]] = part[1]
    return mask, score


@pytest.fixture(params=[1, 10_000], ids=["sorted", "scratch array"])
def share(request, monkeypatch):
    monkeypatch.setattr(M, "DENSE_SHARE", request.param)  # 1: never dense; 10,000: always


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ps=parts())
def test_union_sums_best_and_held_like_dense_arrays(share, ps):
    weights = [float(i + 1) for i in range(len(ps))]
    mask, total, best, held = np.zeros(N, dtype=bool), np.zeros(N), np.zeros(N), np.zeros(N)
    for (m, s), w in zip(map(dense, ps), weights):
        mask |= m
        total += s
        np.maximum(best, s, out=best)
        held += np.where(m, w, 0.0)
    ids, score, h = M.union(ps, N, weights=weights)
    assert ids.tolist() == np.flatnonzero(mask).tolist()
    assert score.tolist() == total[ids].tolist()  # the same additions in the same order: equal, not close
    assert h.tolist() == held[ids].tolist()
    ids, score, h = M.union(ps, N, best=True)
    assert score.tolist() == best[ids].tolist() and h is None


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ps=parts())
def test_intersection_sums_in_plan_order(share, ps):
    mask, total = np.ones(N, dtype=bool), np.zeros(N)
    for m, s in map(dense, ps):
        mask &= m
        total += s
    ids, score = M.intersection(ps, N)
    assert ids.tolist() == np.flatnonzero(mask).tolist()
    assert score.tolist() == total[ids].tolist()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ps=parts(min_parts=2))
def test_member_gather_complement(share, ps):
    (a, _), b = ps[0], ps[1]
    mb, sb = dense(b)
    assert M.member(b[0], a, N).tolist() == mb[a].tolist()
    assert M.gather(b, a, N).tolist() == sb[a].tolist()
    assert M.complement(a, N).tolist() == np.flatnonzero(~dense(ps[0])[0]).tolist()


def test_nothing_combines_to_nothing():
    ids, score = M.none()
    assert len(ids) == len(score) == 0
    assert len(M.union([M.none(), M.none()], N)[0]) == 0
    assert len(M.intersection([M.none(), (np.arange(5), np.ones(5))], N)[0]) == 0

"""How large an indexing batch is when the caller names none."""
import os

import pytest

from vnsearch.ingest import indexing
from vnsearch.ingest.indexing import Indexer, default_batch_docs


def _memory(monkeypatch, gib):
    pages = {"SC_PAGE_SIZE": 4096, "SC_PHYS_PAGES": gib * 2**30 // 4096}
    monkeypatch.setattr(os, "sysconf", lambda name: pages[name])


@pytest.mark.parametrize("gib, docs", [(2, 4000), (15, 4000), (16, 16000), (64, 16000)])
def test_larger_batches_only_where_the_memory_is(monkeypatch, gib, docs):
    _memory(monkeypatch, gib)
    assert default_batch_docs() == docs


def test_without_sysconf_the_small_batch(monkeypatch):
    def missing(name):
        raise ValueError(name)
    monkeypatch.setattr(os, "sysconf", missing)
    assert default_batch_docs() == indexing._BATCH_DOCS


def test_a_named_batch_wins_and_bytes_follow_the_count(monkeypatch):
    _memory(monkeypatch, 64)
    assert (Indexer(None, {}, jobs=1).batch_docs, Indexer(None, {}, jobs=1).batch_bytes) == (16000, 128_000_000)
    named = Indexer(None, {}, jobs=1, batch_docs=100)
    assert (named.batch_docs, named.batch_bytes) == (100, 32_000_000)

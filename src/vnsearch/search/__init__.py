"""Answering queries: whole-query BM25 over arrays (`scorer`), snippets (`highlight`),
"did you mean" (`suggest`)."""

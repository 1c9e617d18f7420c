"""Getting documents in: sources (folders, JSONL, CSV, stdin), the per-document work done in
worker processes (`prepare`), and the incremental, crash-safe indexing run (`indexing`)."""

"""vnsearch: full-text search for Vietnamese text."""

__version__ = "0.1.0"

from vnsearch.errors import QueryError, VnsearchError  # noqa: E402
from vnsearch.index import Document, Hit, Index, IndexReport, Ranking, SearchResult  # noqa: E402

__all__ = ["Index", "Document", "Hit", "SearchResult", "IndexReport", "Ranking", "QueryError", "VnsearchError"]

"""Errors vnsearch reports to people: each carries a one-line message fit for a terminal."""

from __future__ import annotations


class VnsearchError(Exception):
    """Base class: the message is the whole story, no traceback needed."""


class IndexNotFoundError(VnsearchError):
    pass


class IndexLockedError(VnsearchError):
    pass


class IndexVersionError(VnsearchError):
    pass


class IndexCorruptError(VnsearchError):
    pass


class IndexWriteError(VnsearchError):
    """Writing the index failed (a full disk); what was committed before is kept."""


class SearchError(VnsearchError, ValueError):
    """A search asked with arguments it cannot take (a negative limit, a date that is not one)."""


class TooManyTerms(SearchError):
    """A pattern (wildcard, prefix, range, fuzzy term) that stands for more index terms than allowed."""


class QueryError(VnsearchError, ValueError):
    """A query that cannot be parsed: `position` is a 0-based offset into `query`."""

    def __init__(self, message: str, query: str, position: int):
        super().__init__(message)
        self.message = message
        self.query = query
        self.position = max(0, min(position, len(query)))

    def caret(self) -> str:
        """The query and a caret under the offending position, for terminals."""
        return f"{self.query}\n{' ' * self.position}^"

    def __str__(self) -> str:
        return f"{self.message} (at position {self.position + 1})"


class StaleShard(VnsearchError):
    """On a cluster: a shard on disk is past the commit the client searches; the client reopens
    the index and searches again."""

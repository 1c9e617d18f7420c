"""vnsearch: full-text search for Vietnamese text."""

__version__ = "0.1.0"

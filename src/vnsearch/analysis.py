"""The import path Whoosh pickled into every index schema: vnsearch's analyzer classes.

Kept stable so existing indexes stay readable; the code lives in `vnsearch.engine.whoosh.analyzers`
(the Whoosh side) and `vnsearch.text.terms` (the terms themselves).
"""

from vnsearch.engine.whoosh.analyzers import (  # noqa: F401
    FoldFilter, TermListTokenizer, VietnameseTokenizer, folded_analyzer, meta_analyzer, pair_analyzer, path_analyzer,
    syllable_analyzer, word_analyzer,
)
from vnsearch.engine.whoosh.schema import TextColumn  # noqa: F401
from vnsearch.text.terms import Analysis, analyze, index_terms, syllable_terms  # noqa: F401

"""Storage engines behind vnsearch.  Only `engine.whoosh` imports Whoosh's storage classes."""

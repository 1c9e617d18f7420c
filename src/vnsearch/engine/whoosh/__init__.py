"""The Whoosh engine: schema and analyzers, index folder and lock, mapped files, W3 posting
blocks, the bulk segment writer, posting lists as arrays, checksums, the restricted unpickler."""

import os as _os

import whoosh as _whoosh

_HERE = _os.path.dirname(__file__)

#: where the code that reads index files lives (Whoosh, and this package's readers): an exception
#: raised there while searching means damaged files, anywhere else a bug
READING_CODE: tuple[str, ...] = (_os.path.dirname(_whoosh.__file__),) + tuple(
    _os.path.join(_HERE, name) for name in ("postings.py", "mapped.py", "blocks.py", "integrity.py",
                                            "safepickle.py", "lexicon.py"))

"""The Whoosh engine: schema and analyzers, index folder and lock, mapped files, packed posting
lists and the codec around them, the bulk segment writer, merges, posting lists as arrays, checksums,
the restricted unpickler.

Exports the names of the engine seam (`vnsearch.engine`)."""

import os as _os

import whoosh as _whoosh

_HERE = _os.path.dirname(__file__)

#: where the code that reads index files lives (Whoosh, and this package's readers): an exception
#: raised there while searching means damaged files, anywhere else a bug
READING_CODE: tuple[str, ...] = (_os.path.dirname(_whoosh.__file__),) + tuple(
    _os.path.join(_HERE, name) for name in ("postings.py", "mapped.py", "codec.py", "packed.py",
                                            "integrity.py", "safepickle.py", "reader.py"))

from vnsearch.engine.whoosh.codec import encode_postings  # noqa: E402
from vnsearch.engine.whoosh.integrity import DamagedFile  # noqa: E402
from vnsearch.engine.whoosh.reader import Snapshot, date_value  # noqa: E402
from vnsearch.engine.whoosh.schema import INVERTED_FIELDS  # noqa: E402
from vnsearch.engine.whoosh.storage import (  # noqa: E402
    META, WriteLock, foreign_files, make_folder, now_iso, read_meta, refuse_foreign, staging, swap_in, write_meta,
)
from vnsearch.engine.whoosh.store import Store  # noqa: E402

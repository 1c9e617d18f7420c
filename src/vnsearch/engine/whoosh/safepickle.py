"""Index files are data, never code: every pickle read from an index goes through here.

Whoosh pickles its table of contents (schema and segment list), block infos,
posting blocks, stored fields and some columns, and reads them back with
``pickle.loads``, which runs whatever callable a file names: a crafted
``_MAIN_1.toc`` in a shared or unpacked index folder could run a command on
the next search.  `install` points Whoosh's readers (and vnsearch's own) at
an unpickler that resolves only the classes an index is made of, listed
below; any other name is refused with `UnsafeIndexFile`.
"""

from __future__ import annotations

import io
import pickle

#: (module, name) pairs an index's pickles may name: Whoosh's schema, field, format,
#: analyzer and segment classes, vnsearch's analyzers, and the value types they hold.
ALLOWED: frozenset[tuple[str, str]] = frozenset({
    # value types
    ("builtins", "set"), ("builtins", "frozenset"), ("builtins", "bytes"), ("builtins", "bytearray"),
    ("builtins", "object"), ("__builtin__", "set"), ("__builtin__", "frozenset"), ("__builtin__", "bytes"),
    ("__builtin__", "object"), ("_codecs", "encode"), ("copyreg", "_reconstructor"),
    ("copy_reg", "_reconstructor"), ("array", "array"), ("array", "_array_reconstructor"),
    ("datetime", "datetime"), ("datetime", "date"), ("datetime", "timedelta"), ("datetime", "timezone"),
    ("re", "_compile"), ("collections", "defaultdict"), ("collections", "OrderedDict"),
    ("builtins", "int"), ("builtins", "list"), ("builtins", "dict"), ("builtins", "tuple"), ("builtins", "str"),
    ("__builtin__", "long"), ("__builtin__", "int"), ("__builtin__", "list"), ("__builtin__", "dict"),
    ("__builtin__", "unicode"),
    # Whoosh: schema, fields, formats, analysis, segments
    ("whoosh.fields", "Schema"), ("whoosh.fields", "TEXT"), ("whoosh.fields", "ID"), ("whoosh.fields", "STORED"),
    ("whoosh.fields", "KEYWORD"), ("whoosh.fields", "NUMERIC"), ("whoosh.fields", "DATETIME"),
    ("whoosh.fields", "BOOLEAN"), ("whoosh.fields", "NGRAM"), ("whoosh.fields", "NGRAMWORDS"),
    ("whoosh.fields", "COLUMN"),
    ("whoosh.formats", "Existence"), ("whoosh.formats", "Frequency"), ("whoosh.formats", "Positions"),
    ("whoosh.formats", "Characters"), ("whoosh.formats", "PositionBoosts"), ("whoosh.formats", "CharacterBoosts"),
    ("whoosh.columns", "VarBytesColumn"), ("whoosh.columns", "FixedBytesColumn"), ("whoosh.columns", "RefBytesColumn"),
    ("whoosh.columns", "NumericColumn"), ("whoosh.columns", "BitColumn"), ("whoosh.columns", "PickleColumn"),
    ("whoosh.columns", "StructColumn"), ("whoosh.columns", "CompressedBytesColumn"),
    ("whoosh.analysis.analyzers", "CompositeAnalyzer"), ("whoosh.analysis.tokenizers", "IDTokenizer"),
    ("whoosh.analysis.tokenizers", "RegexTokenizer"), ("whoosh.analysis.tokenizers", "SpaceSeparatedTokenizer"),
    ("whoosh.analysis.tokenizers", "CommaSeparatedTokenizer"), ("whoosh.analysis.filters", "LowercaseFilter"),
    ("whoosh.analysis.filters", "StripFilter"), ("whoosh.analysis.filters", "StopFilter"),
    ("whoosh.analysis.filters", "PassFilter"),
    ("whoosh.codec.whoosh3", "W3Segment"), ("whoosh.codec.whoosh3", "W3Codec"), ("whoosh.codec.base", "Segment"),
    ("whoosh.codec.base", "FileSegment"),
    ("whoosh.util.times", "relativedelta"),
})

#: vnsearch's own classes (analyzers pickled into the schema): any class of these modules
ALLOWED_MODULES = frozenset({"vnsearch.analysis"})


class UnsafeIndexFile(pickle.UnpicklingError):
    """An index file names something other than index data (code, in a crafted file)."""

    def __init__(self, module: str, name: str):
        super().__init__(f"it names {module}.{name}, which is not index data (a crafted or foreign file)")
        self.module = module
        self.name = name


class IndexUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) in ALLOWED or (module in ALLOWED_MODULES and "." not in name and not name.startswith("_")):
            obj = super().find_class(module, name)
            if module in ALLOWED_MODULES and not isinstance(obj, type):
                raise UnsafeIndexFile(module, name)
            return obj
        raise UnsafeIndexFile(module, name)


def loads(data) -> object:
    return IndexUnpickler(io.BytesIO(data)).load()


def load(file) -> object:
    return IndexUnpickler(file).load()


class _PickleModule:
    """`pickle` as Whoosh's index module uses it, with loading restricted."""

    loads = staticmethod(loads)
    load = staticmethod(load)

    def __getattr__(self, name):
        return getattr(pickle, name)


_installed = False


def install() -> None:
    """Point every place Whoosh reads index pickles at the restricted unpickler (idempotent)."""
    global _installed
    if _installed:
        return
    import whoosh.codec.whoosh3 as w3
    import whoosh.columns as columns
    import whoosh.filedb.fileindex as fileindex
    import whoosh.filedb.structfile as structfile
    import whoosh.formats as formats
    import whoosh.index as windex

    w3.loads = loads
    columns.loads = loads
    formats.loads = loads
    structfile.load_pickle = load
    windex.pickle = _PickleModule()
    fileindex.pickle = _PickleModule()
    _installed = True

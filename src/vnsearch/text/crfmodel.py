"""Read the weights out of pyvi's CRFsuite word-segmentation model.

pyvi ships a CRFsuite model inside a pickled sklearn-crfsuite estimator.  The
segmenter needs only its weights; reading them from the model file (the
CRFsuite "lCRF/FOMC" binary format) avoids pycrfsuite's text dump, which
cannot represent attribute names that contain newlines.
"""

from __future__ import annotations

import functools
import os
import pickle
import struct
from dataclasses import dataclass


@dataclass(frozen=True)
class CRFWeights:
    labels: tuple[str, ...]
    # attribute name -> tuple of per-label weights (0.0 where the model has none),
    # plus the features' label order per attribute, kept for exact summation order.
    state: dict[str, tuple[float, ...]]
    transition: tuple[tuple[float, ...], ...]  # transition[prev][cur]


def _read_cqdb(buf: bytes, off: int) -> list[str]:
    """Strings of a CRFsuite constant quark database, by id."""
    _cid, _size, _flag, _order, bwd_size, bwd_off = struct.unpack_from("<4sIIIII", buf, off)
    out = []
    for i in range(bwd_size):
        (rec,) = struct.unpack_from("<I", buf, off + bwd_off + 4 * i)
        _id, ksize = struct.unpack_from("<II", buf, off + rec)
        start = off + rec + 8
        out.append(buf[start : start + ksize - 1].decode("utf-8", "surrogatepass"))
    return out


def parse_model(buf: bytes) -> CRFWeights:
    """Parse a CRFsuite 1st-order CRF model file."""
    (magic, _size, kind, _ver, _nf, nlabels, nattrs, off_feat, off_labels, off_attrs,
     _off_lr, _off_ar) = struct.unpack_from("<4sI4sIIIIIIIII", buf, 0)
    if magic != b"lCRF" or kind != b"FOMC":
        raise ValueError("not a CRFsuite first-order model")
    labels = tuple(_read_cqdb(buf, off_labels))
    attrs = _read_cqdb(buf, off_attrs)
    if len(labels) != nlabels or len(attrs) != nattrs:
        raise ValueError("CRFsuite model is inconsistent")
    chunk, _csize, nfeat = struct.unpack_from("<4sII", buf, off_feat)
    if chunk != b"FEAT":
        raise ValueError("CRFsuite model has no feature chunk")
    state: dict[str, list[float]] = {}
    trans = [[0.0] * nlabels for _ in range(nlabels)]
    for ftype, src, dst, weight in struct.iter_unpack("<IIId", buf[off_feat + 12 : off_feat + 12 + 20 * nfeat]):
        if ftype == 0:
            state.setdefault(attrs[src], [0.0] * nlabels)[dst] = weight
        elif ftype == 1:
            trans[src][dst] = weight
    return CRFWeights(labels, {k: tuple(v) for k, v in state.items()}, tuple(tuple(r) for r in trans))


class _Stub:
    """Stands in for every class in pyvi's pickle: only the data is wanted."""

    found: list[bytes] = []

    def __init__(self, *args, **kwargs):
        pass

    def __setstate__(self, state):
        if isinstance(state, dict) and isinstance(state.get("__FILE_RESOURCE_DATA__"), bytes):
            _Stub.found.append(state["__FILE_RESOURCE_DATA__"])


class _DataOnlyUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) == ("_codecs", "encode"):  # how protocol-2 pickles spell bytes
            return super().find_class(module, name)
        return _Stub


def _model_bytes_from_pickle(f) -> bytes:
    """The CRFsuite model file embedded in sklearn-crfsuite's pickle, without importing scikit-learn."""
    _Stub.found = []
    _DataOnlyUnpickler(f).load()
    if len(_Stub.found) != 1:
        raise RuntimeError("pyvi's model pickle does not hold exactly one CRFsuite model")
    return _Stub.found[0]


def pyvi_dir() -> str:
    import importlib.util

    spec = importlib.util.find_spec("pyvi")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("pyvi is not installed")
    return list(spec.submodule_search_locations)[0]


@functools.lru_cache(maxsize=1)
def load_pyvi_model() -> tuple[CRFWeights, frozenset[str], frozenset[str]]:
    """pyvi's CRF weights and its bigram and trigram dictionaries, loaded once per process.

    Reads pyvi's files directly so importing pyvi's tokenizer (which unpickles
    scikit-learn) is not needed on the fast path.
    """
    base = pyvi_dir()
    with open(os.path.join(base, "models", "pyvi3.pkl"), "rb") as f:
        weights = parse_model(_model_bytes_from_pickle(f))
    bi, tri = set(), set()
    with open(os.path.join(base, "models", "words.txt"), encoding="utf-8") as f:
        for token in f.read().split("\n"):
            n = len(token.split(" "))
            if n == 2:
                bi.add(token)
            elif n == 3:
                tri.add(token)
    return weights, frozenset(bi), frozenset(tri)

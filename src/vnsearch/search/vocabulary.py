"""The index's words as a unigram model, in arrays saved beside the index and mapped back.

Accent restoration (``ha noi`` -> ``hà nội``) and reading a short query in
the index's own words need each word's document frequency and, for each
accent-folded word, its most frequent accented form.  Built as Python
dictionaries from the term dictionary at the first such search, that cost a
search process seconds and a hundred megabytes per 35k articles.  Here the
model is two sorted arrays of 64-bit key hashes with their log
probabilities (and the forms' text), written once per commit by the writer
(`FILE`, tagged with the segments it was read from) and mapped by searchers, so a
search reads only the pages its few look-ups touch.  When the file is
missing or belongs to another commit the same arrays are built in memory.
"""

from __future__ import annotations

import json
import math
import mmap
import os
import struct
import zlib
from hashlib import blake2b
from pathlib import Path

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import OSA

from vnsearch.text.normalize import fold_word

MAX_WORD = 4  # syllables of the longest word the model knows
FILE = "vocabulary.bin"
_MAGIC = b"VNVOCAB2"  # 2: with the folded syllables
_HEAD = struct.Struct("<8sQ")  # magic, length of the JSON header that follows
_ARRAYS = ("word_hash", "word_logp", "form_hash", "form_logp", "form_start", "form_text",
           "syllable_text", "syllable_end", "syllable_df")


def key_hash(syllables) -> int:
    """A word's key (its syllables) as 64 bits, the same in every process."""
    return int.from_bytes(blake2b(" ".join(syllables).encode("utf-8"), digest_size=8).digest(), "little")


class Vocabulary:
    """Word -> log probability, and folded word -> (most frequent accented form, log probability)."""

    def __init__(self, arrays: dict[str, np.ndarray], total: int, segments: str, source=None):
        # the segments it was read from (`Snapshot.segments`): deletions leave it valid, as term
        # frequencies count deleted documents until a merge drops them
        self.segments = segments
        self.total = total
        for name in _ARRAYS:
            setattr(self, name, arrays[name])
        self.unknown = math.log(0.1 / max(1, total))  # a syllable the index never saw, kept as typed
        self._source = source  # the mapping the arrays are views of (kept open while they live)
        self.crc32: int | None = None  # of the arrays, as saved

    # -- building, saving, loading ------------------------------------------------------
    @classmethod
    def build(cls, frequencies: dict[str, int], segments: str,
              syllables: dict[str, int] | None = None) -> "Vocabulary":
        """From the ``words`` field's terms (syllables joined by ``_``) and document frequencies;
        a folded word's form is its most frequent accented one (the first met on a tie).
        `syllables`: the folded syllables (the ``folded`` field) and theirs, for typo corrections."""
        total = 0
        exact: dict[tuple[str, ...], int] = {}
        best: dict[tuple[str, ...], tuple[str, int]] = {}
        for t, df in frequencies.items():
            parts = t.split("_")
            if len(parts) > MAX_WORD or not all(parts):
                continue
            total += df
            exact[tuple(parts)] = df
            key = tuple(fold_word(p) for p in parts)
            seen = best.get(key)
            if seen is None or df > seen[1]:
                best[key] = (t.replace("_", " "), df)
        word_hash, word_logp = _sorted_table(exact.keys(), [math.log(df / total) for df in exact.values()])
        form_hash, order = _sorted_order(best.keys())
        forms = list(best.values())
        form_logp = np.array([math.log(forms[i][1] / total) for i in order], dtype=np.float64)
        texts = [forms[i][0].encode("utf-8") for i in order]
        form_start = np.zeros(len(texts) + 1, dtype=np.int64)
        np.cumsum([len(b) for b in texts], out=form_start[1:])
        form_text = np.frombuffer(b"".join(texts), dtype=np.uint8)
        names = sorted(t for t in (syllables or {}) if t and "\n" not in t)
        syllable_text = np.frombuffer("\n".join(names).encode("utf-8"), dtype=np.uint8)
        syllable_end = np.cumsum([len(t.encode("utf-8")) + 1 for t in names], dtype=np.int64) - 1
        syllable_df = np.array([syllables[t] for t in names], dtype=np.int64)
        arrays = dict(word_hash=word_hash, word_logp=word_logp, form_hash=form_hash, form_logp=form_logp,
                      form_start=form_start, form_text=form_text, syllable_text=syllable_text,
                      syllable_end=syllable_end, syllable_df=syllable_df)
        return cls(arrays, total, segments)

    def save(self, folder: str | os.PathLike) -> None:
        """Write the model to `folder`/`FILE` at once (a reader sees the old file or the new)."""
        arrays = [(name, np.ascontiguousarray(getattr(self, name))) for name in _ARRAYS]
        crc = 0
        for _name, a in arrays:
            crc = zlib.crc32(a.tobytes(), crc)
        header = json.dumps({"segments": self.segments, "total": self.total, "crc32": crc,
                             "arrays": [[name, a.dtype.str, len(a)] for name, a in arrays]}).encode("utf-8")
        header += b" " * (-(_HEAD.size + len(header)) % 8)  # arrays start 8-byte aligned
        path = Path(folder) / FILE
        tmp = path.with_name(f"{FILE}.{os.getpid()}.tmp")
        try:
            with open(tmp, "wb") as f:
                f.write(_HEAD.pack(_MAGIC, len(header)) + header)
                for _name, a in arrays:
                    f.write(a.tobytes())
                    f.write(b"\0" * (-a.nbytes % 8))
                f.flush()
                os.fsync(f.fileno())
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        try:
            os.replace(tmp, path)
        except OSError:  # a reader holds the old file where that forbids replacing it: built at need
            tmp.unlink(missing_ok=True)

    @classmethod
    def load(cls, folder: str | os.PathLike, segments: str) -> "Vocabulary | None":
        """The saved model of these `segments`; None when there is none, it was read from other
        segments, or it cannot be read (then the caller builds one)."""
        try:
            with open(Path(folder) / FILE, "rb") as f:
                src = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        except (OSError, ValueError):  # missing, unreadable, or empty
            return None
        try:
            magic, size = _HEAD.unpack_from(src)
            if magic != _MAGIC:
                raise ValueError
            head = json.loads(bytes(src[_HEAD.size : _HEAD.size + size]))
            if head["segments"] != segments:
                src.close()
                return None
            at, arrays = _HEAD.size + size, {}
            for name, dtype, count in head["arrays"]:
                a = np.frombuffer(src, dtype=np.dtype(dtype), count=count, offset=at)
                arrays[name] = a
                at += a.nbytes + (-a.nbytes % 8)
            ok = (set(arrays) == set(_ARRAYS) and len(arrays["word_hash"]) == len(arrays["word_logp"])
                  and len(arrays["syllable_end"]) == len(arrays["syllable_df"])
                  and (len(arrays["syllable_end"]) == 0 or arrays["syllable_end"][-1] == len(arrays["syllable_text"]))
                  and len(arrays["form_hash"]) == len(arrays["form_logp"]) == len(arrays["form_start"]) - 1
                  and (len(arrays["form_start"]) == 0 or arrays["form_start"][-1] == len(arrays["form_text"])))
            if not ok:
                raise ValueError
            v = cls(arrays, int(head["total"]), segments, source=src)
            v.crc32 = head.get("crc32")
            return v
        except (ValueError, KeyError, TypeError, struct.error):
            arrays = {}  # the views go first: a mapping with views alive cannot close
            try:
                src.close()
            except BufferError:
                pass
            return None

    def damage(self) -> str | None:
        """What is wrong with a loaded file's arrays (their checksum), None when nothing; read
        by `vnsearch check` only: a search touches just the pages it looks up."""
        crc = 0
        for name in _ARRAYS:
            crc = zlib.crc32(getattr(self, name).tobytes(), crc)
        if crc != self.crc32:
            return f"{FILE}: damaged (checksum mismatch); delete it: searches then rebuild the word model in memory"
        return None

    # -- looking up -----------------------------------------------------------------------
    def word(self, syllables: tuple[str, ...]) -> float | None:
        """The log probability of a word (lower-case accented syllables), None when unknown."""
        i = _find(self.word_hash, key_hash(syllables))
        return None if i is None else float(self.word_logp[i])

    def form(self, folded: tuple[str, ...]) -> tuple[str, float] | None:
        """(most frequent accented form, its log probability) of folded syllables, None when unknown."""
        i = _find(self.form_hash, key_hash(folded))
        if i is None:
            return None
        text = self.form_text[self.form_start[i] : self.form_start[i + 1]].tobytes().decode("utf-8", "replace")
        return text, float(self.form_logp[i])

    def near(self, text: str, maxdist: int, prefix: int = 1) -> list[tuple[str, int]]:
        """(folded syllable, document frequency) of every syllable of the index within `maxdist`
        edits of `text` (optimal string alignment: a swap of two neighbours is one edit, as in
        Whoosh's ``terms_within``) that begins with the same `prefix` characters."""
        lo, hi = self._syllable_range(text[:prefix])
        if lo >= hi:
            return []
        start = int(self.syllable_end[lo - 1]) + 1 if lo else 0
        names = self.syllable_text[start : int(self.syllable_end[hi - 1])].tobytes().decode("utf-8").split("\n")
        hits = process.extract(text, names, scorer=OSA.distance, score_cutoff=maxdist, limit=None)
        return [(name, int(self.syllable_df[lo + i])) for name, _d, i in hits]

    def _syllable(self, i: int) -> str:
        start = int(self.syllable_end[i - 1]) + 1 if i else 0
        return self.syllable_text[start : int(self.syllable_end[i])].tobytes().decode("utf-8")

    def _syllable_range(self, prefix: str) -> tuple[int, int]:
        """The rows of the syllables that begin with `prefix` (they are sorted)."""
        n = len(self.syllable_end)

        def first(at_least) -> int:
            a, b = 0, n
            while a < b:
                m = (a + b) // 2
                if at_least(self._syllable(m)):
                    b = m
                else:
                    a = m + 1
            return a

        if not prefix:
            return 0, n
        return first(lambda t: t >= prefix), first(lambda t: t >= prefix and not t.startswith(prefix))

    def restore(self, syllables: list[str]) -> list[str]:
        """Accented words for folded syllables: the most probable segmentation into known words."""
        return self._best_split(syllables, self.form_hash, self._form_at)

    def segment(self, syllables: list[str]) -> list[str]:
        """Lower-case accented syllables split into the index's own words (``_``-joined), the most
        probable way: the same words whatever the case the query was typed in (pyvi's CRF reads
        case, so ``nguyễn xuân phúc`` and ``Nguyễn Xuân Phúc`` came out as different words)."""
        return self._best_split(syllables, self.word_hash,
                                lambda row, key: ("_".join(key), float(self.word_logp[row])))

    def _form_at(self, row: int, _key) -> tuple[str, float]:
        text = self.form_text[self.form_start[row] : self.form_start[row + 1]].tobytes().decode("utf-8", "replace")
        return text, float(self.form_logp[row])

    def _best_split(self, syllables: list[str], table: np.ndarray, hit_at) -> list[str]:
        """Dynamic programming over the splits into known words of up to four syllables; an
        unknown syllable stands alone.  Every span is looked up at once (one binary search of
        the mapped table for all of them)."""
        n = len(syllables)
        spans = [(i, k) for i in range(1, n + 1) for k in range(1, min(MAX_WORD, i) + 1)]
        keys = [tuple(syllables[i - k : i]) for i, k in spans]
        rows = dict(zip(spans, _rows(table, keys)))
        best: list[tuple[float, int, str]] = [(0.0, 0, "")] + [(-math.inf, 0, "")] * n
        for (i, k), key in zip(spans, keys):
            row = rows[i, k]
            if row is None:
                if k > 1:
                    continue
                hit = (syllables[i - 1], self.unknown)
            else:
                hit = hit_at(row, key)
            score = best[i - k][0] + hit[1]
            if score > best[i][0]:
                best[i] = (score, k, hit[0])
        out = []
        i = n
        while i > 0:
            _, k, form = best[i]
            out.append(form)
            i -= k
        return out[::-1]


def _rows(table: np.ndarray, keys: list[tuple[str, ...]]) -> list[int | None]:
    """Each key's row in a sorted hash table, None where it is not there."""
    if not keys or not len(table):
        return [None] * len(keys)
    hashes = np.fromiter((key_hash(k) for k in keys), dtype=np.uint64, count=len(keys))
    pos = np.minimum(np.searchsorted(table, hashes), len(table) - 1)
    found = table[pos] == hashes
    return [int(p) if f else None for p, f in zip(pos.tolist(), found.tolist())]


def saved_segments(folder: str | os.PathLike) -> str | None:
    """The segments the model saved in `folder` was read from, None when there is none readable."""
    try:
        with open(Path(folder) / FILE, "rb") as f:
            magic, size = _HEAD.unpack(f.read(_HEAD.size))
            if magic != _MAGIC or size > 1 << 20:
                return None
            return str(json.loads(f.read(size))["segments"])
    except (OSError, ValueError, KeyError, TypeError, struct.error):
        return None


def _sorted_order(keys) -> tuple[np.ndarray, np.ndarray]:
    hashes = np.fromiter((key_hash(k) for k in keys), dtype=np.uint64)
    order = np.argsort(hashes, kind="stable")
    return hashes[order], order


def _sorted_table(keys, values: list[float]) -> tuple[np.ndarray, np.ndarray]:
    hashes, order = _sorted_order(keys)
    return hashes, np.asarray(values, dtype=np.float64)[order]


def _find(sorted_hashes: np.ndarray, h: int) -> int | None:
    i = int(np.searchsorted(sorted_hashes, np.uint64(h)))
    return i if i < len(sorted_hashes) and int(sorted_hashes[i]) == h else None

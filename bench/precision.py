"""Precision on the short queries people type: names and single words, vnsearch beside SQLite FTS5
and tantivy on the same articles.

    python bench/precision.py [--docs 3000] [--names 120] [--words 40] [--relevance]

Documents: the first N baomoi articles (title: the first line).  Queries,
mined from those articles, never from vnsearch:

* names: runs of 2-4 capitalised syllables standing after a lower-case word
  (so not a sentence's first word), in at least 3 articles; each asked as
  written, lower-cased, and lower-cased without diacritics;
* single syllables whose tone variants are all common (cháy / chạy, bão /
  báo / bảo ...), each asked as written.

Truth is plain string matching on the normalized text (NFC, vnsearch's
normalize, case-insensitive, whole syllables): the articles holding the name
or the syllable exactly as meant.  Reported per form: mean precision@k (k =
min(10, true matches)) and count precision (true matches among everything
the engine reports / what it reports).  FTS5 and tantivy get the name in
quotes (a phrase: their best case); the accent-free form is what they can
match of it.  With --relevance the XQuAD and VietNews tables of
bench/relevance.py follow in the same run.  Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

from _common import BAOMOI, finish, read_jsonl_gz, scratch

from vnsearch.text.normalize import fold, has_diacritics, normalize

_SYLLABLE = re.compile(r"\w+")


def _capitalised(w: str) -> bool:
    return w[:1].isupper() and w[1:].islower() and w.isalpha()


def names_in(text: str) -> set[tuple[str, str]]:
    """(run, the lower-case word right after it or "") for runs of 2-4 capitalised syllables, one
    space apart, standing right after a lower-case word."""
    toks = [(m.group(), m.start(), m.end()) for m in _SYLLABLE.finditer(text)]
    out = set()
    i = 1
    while i < len(toks):
        prev = toks[i - 1]
        if _capitalised(toks[i][0]) and prev[0].islower() and text[prev[2] : toks[i][1]] == " ":
            j = i + 1
            while j < len(toks) and _capitalised(toks[j][0]) and text[toks[j - 1][2] : toks[j][1]] == " ":
                j += 1
            if 2 <= j - i <= 4:
                nxt = toks[j][0] if j < len(toks) and text[toks[j - 1][2] : toks[j][1]] == " " else ""
                out.add((" ".join(t for t, _, _ in toks[i:j]), nxt if nxt.islower() else ""))
            i = j
        else:
            i += 1
    return out


def load(n: int) -> list[tuple[str, str, str]]:
    docs = []
    for r in read_jsonl_gz(BAOMOI, n):
        title, _, body = r["text"].partition("\n")
        docs.append((r["name"], title, body))
    return docs


def texts_of(docs) -> dict[str, str]:
    return {i: normalize(f"{t}\n{b}").lower() for i, t, b in docs}


def mine_names(docs, texts, n: int) -> list[str]:
    """Runs in at least 3 articles, except those that mostly go on in lower case: "Bộ Tài" is
    the head of "Bộ Tài chính", not a name."""
    seen: Counter = Counter()
    after: dict[str, Counter] = {}
    for i, t, b in docs:
        for name, nxt in names_in(normalize(f"{t}\n{b}")):
            seen[name] += 1
            after.setdefault(name, Counter())[nxt] += 1
    names = []
    for name, df in seen.most_common():
        if df < 3:
            break
        count = max((c for w, c in after[name].items() if w), default=0)
        if count * 2 < df:
            names.append(name)
    return names[:n]


def mine_words(texts, n: int) -> list[str]:
    df: Counter = Counter()
    for text in texts.values():
        df.update(set(_SYLLABLE.findall(text)))
    variants: dict[str, list[str]] = {}
    for w, c in df.items():
        if c >= 20 and has_diacritics(w) and not w.isdigit():
            variants.setdefault(fold(w), []).append(w)
    groups = sorted((v for v in variants.values() if len(v) >= 2), key=lambda v: -sum(df[w] for w in v))
    out = []
    for g in groups:
        out.extend(sorted(g, key=lambda w: -df[w])[:2])
        if len(out) >= n:
            break
    return out[:n]


def truth(texts, phrase: str) -> set[str]:
    p = re.compile(rf"(?<!\w){re.escape(normalize(phrase).lower())}(?!\w)")
    return {i for i, t in texts.items() if p.search(t)}


def measure(search_all, queries: list[tuple[str, set[str]]]) -> tuple[float, float]:
    """(mean P@k, count precision) of a search function returning every reported id, best first."""
    precisions, true_reported, reported = [], 0, 0
    for q, good in queries:
        if not good:
            continue
        ids = search_all(q)
        k = min(10, len(good))
        precisions.append(sum(1 for d in ids[:k] if d in good) / k)
        true_reported += sum(1 for d in ids if d in good)
        reported += len(ids)
    return sum(precisions) / max(1, len(precisions)), true_reported / max(1, reported)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docs", type=int, default=3000)
    ap.add_argument("--names", type=int, default=120)
    ap.add_argument("--words", type=int, default=40)
    ap.add_argument("--index", type=Path, help="build (or reuse) the vnsearch index here")
    ap.add_argument("--relevance", action="store_true", help="also run bench/relevance.py's tables")
    args = ap.parse_args()

    from vnsearch import Document, Index

    docs = load(args.docs)
    texts = texts_of(docs)
    names = mine_names(docs, texts, args.names)
    words = mine_words(texts, args.words)
    path = args.index or scratch("vnsearch-precision-") / "index"
    if not path.exists():
        ix = Index.open(path, create=True)
        ix.add([Document(i, t, b) for i, t, b in docs], jobs=2)
    ix = Index.open(path)
    print(f"{len(docs):,} baomoi articles; {len(names)} names, {len(words)} single syllables")

    name_truth = {n: truth(texts, n) for n in names}
    forms = {
        "names as written": [(n, name_truth[n]) for n in names],
        "names lower-case": [(n.lower(), name_truth[n]) for n in names],
        "names no diacritics": [(fold(n), name_truth[n]) for n in names],
        "single syllables": [(w, truth(texts, w)) for w in words],
    }

    def vnsearch_all(q: str) -> list[str]:
        res = ix.search(q, limit=len(docs), highlight=False, suggest_below=0)
        return [h.id for h in res.hits]

    from peers import FTS5, Tantivy

    fts, tv = FTS5(docs), Tantivy(docs, name="tantivy")

    def fts_all(q: str) -> list[str]:
        expr = '"' + q.replace('"', "") + '"'
        rows = fts.con.execute("SELECT id FROM d WHERE d MATCH ? ORDER BY bm25(d) LIMIT ?", (expr, len(docs)))
        return [r[0] for r in rows]

    def tantivy_all(q: str) -> list[str]:
        query = tv.index.parse_query('"' + q.replace('"', "") + '"', tv.fields)
        hits = tv.searcher.search(query, len(docs)).hits
        return [tv.searcher.doc(addr)["id"][0] for _score, addr in hits]

    engines = {"vnsearch": vnsearch_all, "SQLite FTS5 (phrase)": fts_all, "tantivy (phrase)": tantivy_all}
    results: dict = {}
    print(f"\n{'form':22s} {'engine':22s} {'P@k':>6s} {'count P':>8s}")
    for form, queries in forms.items():
        for name, fn in engines.items():
            p, cp = measure(fn, queries)
            results.setdefault(form, {})[name] = {"p_at_k": round(p, 4), "count_precision": round(cp, 4)}
            print(f"{form:22s} {name:22s} {p:6.3f} {cp:8.3f}")
    figures = {"bench": "precision", "documents": len(docs), "names": len(names), "words": len(words),
               "results": results}
    if args.relevance:
        import subprocess
        import sys

        print()
        subprocess.run([sys.executable, str(Path(__file__).with_name("relevance.py")), "--no-whoosh", "--no-ablation"],
                       check=True)
    finish(figures)


if __name__ == "__main__":
    main()

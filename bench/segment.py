"""Segmentation throughput and agreement: stock pyvi vs vnsearch, one core.

    python bench/segment.py [--limit N]

Each article's text (NFC) is one unit for both.  Prints documents, MB/s,
the speed ratio and the number of articles whose segmentation differs, then
one JSON line.
"""

from __future__ import annotations

import argparse
import unicodedata

from _common import BAOMOI, Timer, finish, mb, read_jsonl_gz


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--limit", type=int, default=None, help="only the first N articles")
    args = ap.parse_args()

    texts = [unicodedata.normalize("NFC", r["text"]) for r in read_jsonl_gz(BAOMOI, args.limit)]
    size = mb(texts)

    from pyvi import ViTokenizer

    from vnsearch.text.segment import tokenize

    tokenize("khởi động")  # load both models before timing
    ViTokenizer.tokenize("khởi động")

    with Timer() as t_pyvi:
        stock = [ViTokenizer.tokenize(t) for t in texts]
    with Timer() as t_ours:
        ours = [tokenize(t) for t in texts]
    differing = sum(a != b for a, b in zip(stock, ours))

    pyvi_mbs = size / t_pyvi.seconds
    ours_mbs = size / t_ours.seconds
    print(f"documents        {len(texts):>10,}   ({size:.1f} MB of UTF-8 text)")
    print(f"stock pyvi       {pyvi_mbs:>10.2f} MB/s  ({t_pyvi.seconds:.1f} s)")
    print(f"vnsearch         {ours_mbs:>10.2f} MB/s  ({t_ours.seconds:.1f} s)")
    print(f"ratio            {ours_mbs / pyvi_mbs:>10.2f} x")
    print(f"differing        {differing:>10,} articles")
    finish({
        "bench": "segment", "documents": len(texts), "mb": round(size, 2),
        "pyvi_mb_s": round(pyvi_mbs, 3), "vnsearch_mb_s": round(ours_mbs, 3),
        "ratio": round(ours_mbs / pyvi_mbs, 2), "differing": differing,
    })


if __name__ == "__main__":
    main()

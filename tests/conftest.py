import gzip
import json
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("VNSEARCH_SHARED", ROOT.parent / "shared")) / "data"
BAOMOI = SHARED / "baomoi-35k.jsonl.gz"
XQUAD = SHARED / "xquad-vi"
CORPUS = ROOT / "corpus"


def read_baomoi(limit: int) -> list[dict]:
    """The first `limit` baomoi records; skips the test when the data is absent."""
    if not BAOMOI.exists():
        pytest.skip(f"{BAOMOI} not present")
    out = []
    with gzip.open(BAOMOI, "rt", encoding="utf-8") as f:
        for line in f:
            out.append(json.loads(line))
            if len(out) >= limit:
                break
    return out


@pytest.fixture
def baomoi_texts():
    """A function giving the first N baomoi article texts (the test skips without the data)."""
    return lambda limit: [r["text"] for r in read_baomoi(limit)]

"""Text bound for a terminal: nothing in a document or a message may act on the terminal.

Titles, snippets, ids, paths and messages come from documents and file names
that anyone may have written.  `for_terminal` makes every character that a
terminal would obey (escape sequences, hyperlinks, bell, backspace, carriage
return, C1 controls, bidirectional overrides) visible instead, one character
for one so highlight offsets still hold; `safe_markup` also escapes rich
markup for messages built as markup strings; `json_text` keeps JSON valid
and safe to print.
"""

from __future__ import annotations

import json
import math
import re

from rich.markup import escape
from rich.text import Text

# Characters that act on a terminal instead of showing: C0 controls (ESC starts colour, screen and
# OSC 8 hyperlink sequences; BEL, backspace and CR rewrite what is shown), DEL, C1 controls (U+009B
# is a one-character CSI), and the bidirectional overrides and isolates that disguise text
# (``fdp.exe`` shown as ``exe.pdf``).  Each becomes one visible character, so offsets still hold.
_C0 = {c: 0x2400 + c for c in range(0x20)}  # control pictures: ESC shows as ␛
_BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_UNSAFE = {**_C0, 0x7F: 0x2421, **{c: 0xFFFD for c in range(0x80, 0xA0)}, **{ord(c): 0xFFFD for c in _BIDI}}
_TEXT = {k: v for k, v in _UNSAFE.items() if k not in (0x09, 0x0A)}  # tabs and line breaks kept
_JSON_UNSAFE = re.compile("[\x7f-\x9f" + _BIDI + "]")


def for_terminal(text: str, lines: bool = False) -> str:
    """`text` with every character that would act on the terminal made visible (same length);
    `lines` keeps line breaks and tabs (a whole document in the pager)."""
    return text.translate(_TEXT if lines else _UNSAFE)


def plain(text: str) -> Text:
    """Document or user text as a rich `Text`: never read as markup, never acting on the terminal."""
    return Text(for_terminal(str(text)))


def json_text(obj, indent: int | None = None) -> str:
    """JSON for stdout: valid JSON only (no Infinity/NaN), and the C1 controls and bidi overrides
    that json leaves raw written as \\u escapes, so printing it to a terminal is safe too."""
    out = json.dumps(obj, ensure_ascii=False, allow_nan=False, indent=indent)
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", out)


def finite(x: float) -> float | None:
    if math.isnan(x):
        return None
    return x if math.isfinite(x) else math.copysign(1.7976931348623157e308, x)


def safe_markup(text: str) -> str:
    """Text for a markup string: escaped, and made harmless for the terminal."""
    return escape(for_terminal(str(text)))



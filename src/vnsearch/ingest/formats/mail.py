"""E-mail: one message (.eml) or a mailbox of them (.mbox), with the standard library's email package.

Each message is a document (subject as title, its date, sender and recipients
as fields); an attachment that is itself a supported document becomes a
document of its own, named after the message and the attachment.
"""

from __future__ import annotations

import email
import email.policy
import re
from email.utils import parsedate_to_datetime

from vnsearch.ingest.formats import Extracted, Unreadable
from vnsearch.ingest.formats.metadata import clean_fields

#: attachments read per message, and a message's own size above which its attachments are left out
MAX_ATTACHMENTS = 20


def read(kind: str, data: bytes, name: str, limits) -> list[Extracted]:
    if kind == "eml":
        return _message(data, "", limits)
    out = []
    broken = 0
    for n, raw in enumerate(_mbox_messages(data), 1):
        try:
            out += _message(raw, str(n), limits)
        except Unreadable:
            broken += 1
        if sum(len(d.body) for d in out) > limits.document_chars:
            break
    if not out:
        raise Unreadable("no readable message in the mailbox")
    if broken:
        out[0].note = f"{broken} message{'s' if broken > 1 else ''} of the mailbox could not be read"
    return out


_FROM_LINE = re.compile(rb"^From \S.*$", re.M)


def _mbox_messages(data: bytes):
    """Each message of an mbox file (split on its "From " lines, the mbox convention)."""
    starts = [m.start() for m in _FROM_LINE.finditer(data) if m.start() == 0 or data[m.start() - 1 : m.start()] == b"\n"]
    if not starts:
        raise Unreadable("not an mbox file (no 'From ' line)")
    for a, b in zip(starts, starts[1:] + [len(data)]):
        block = data[a:b]
        yield block[block.find(b"\n") + 1 :].replace(b"\n>From ", b"\nFrom ")


def _message(raw: bytes, part: str, limits) -> list[Extracted]:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    if not msg.keys():
        raise Unreadable("not an e-mail message (no headers)")
    subject = _header(msg, "subject")
    body_part = None
    try:
        body_part = msg.get_body(preferencelist=("plain", "html"))
    except Exception:  # a broken MIME tree
        body_part = None
    body = ""
    if body_part is not None:
        body = _text_of(body_part)
    elif not msg.is_multipart():
        body = _text_of(msg)
    date = None
    try:
        raw_date = msg.get("date")
        if raw_date:
            d = parsedate_to_datetime(str(raw_date))
            from vnsearch.ingest.sources import as_datetime

            date = as_datetime(d)
    except (TypeError, ValueError, IndexError):
        date = None
    fields = clean_fields({"sender": _header(msg, "from"), "to": _header(msg, "to"), "cc": _header(msg, "cc")})
    if not body.strip() and not subject.strip():
        raise Unreadable("empty message")
    docs = [Extracted(title=subject or body.strip().split("\n")[0][:200], body=body, date=date, fields=fields,
                      part=part, kind="eml")]
    docs += _attachments(msg, part, limits, date, fields)
    return docs


def _header(msg, name: str) -> str:
    try:
        value = msg.get(name)
        return " ".join(str(value).split()) if value is not None else ""
    except Exception:  # an undecodable header
        return ""


def _text_of(part) -> str:
    try:
        text = part.get_content()
    except (LookupError, UnicodeError, AssertionError, KeyError):
        payload = part.get_payload(decode=True) or b""
        text = payload.decode("utf-8", "replace")
    if not isinstance(text, str):
        return ""
    if part.get_content_type() == "text/html":
        from vnsearch.ingest.formats.web import _all_text

        text = _all_text(text)
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    return "\n".join(lines).strip()


def _attachments(msg, part: str, limits, date, fields) -> list[Extracted]:
    """Attachments that are supported documents, each read as a document of its own."""
    from vnsearch.ingest.formats import extract, is_media, sniff

    out = []
    seen = 0
    for att in msg.iter_attachments() if msg.is_multipart() else ():
        name = att.get_filename() or ""
        if not name or is_media(name):
            continue
        seen += 1
        if seen > MAX_ATTACHMENTS:
            break
        try:
            data = att.get_payload(decode=True) or b""
        except Exception:
            continue
        if not data or len(data) > limits.file_bytes:
            continue
        kind = sniff(name, data[:8192])
        if kind is None or kind in ("eml", "mbox"):
            continue
        try:
            docs = extract(kind, data, name, limits)
        except Unreadable:
            continue
        for d in docs:
            d.part = f"{part}/{name}" if part else name
            d.date = d.date or date
            for k, v in fields.items():
                d.fields.setdefault(k, v)
        out += docs
    return out

"""Assertions on the notes API's responses (shapes from the issue: FastAPI-compatible)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Optional

from stack import Response

NOTE_KEYS = {"id", "text", "completed", "created_at", "updated_at"}
RFC3339_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$")
MAX_ID = 9223372036854775807


class AnyInt:
    """Matches any int in an expected ``loc`` (json_invalid's byte offset)."""

    def __eq__(self, other):
        return isinstance(other, int) and not isinstance(other, bool)

    def __hash__(self):
        return 0

    def __repr__(self):
        return "<any int>"


ANY_INT = AnyInt()


class OneOf:
    """Matches any of the given values (where the contract allows more than one error type)."""

    def __init__(self, *values):
        self.values = values

    def __eq__(self, other):
        return other in self.values

    def __hash__(self):
        return 0

    def __repr__(self):
        return f"<one of {self.values}>"


def parse_timestamp(value: str) -> datetime:
    assert isinstance(value, str) and RFC3339_UTC.match(value), f"not an RFC 3339 UTC timestamp ending in Z: {value!r}"
    base, _, frac = value[:-1].partition(".")
    ts = datetime.strptime(base, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)
    if frac:
        ts += timedelta(microseconds=int((frac + "000000")[:6]))
    return ts


def is_json(resp: Response) -> bool:
    ctype = resp.header("Content-Type") or ""
    return ctype.split(";")[0].strip().lower() == "application/json"


def assert_json(resp: Response, status: int, body=None):
    assert resp.status == status, f"expected {status}, got {resp!r}"
    assert is_json(resp), f"expected application/json, got Content-Type {resp.header('Content-Type')!r}: {resp!r}"
    data = resp.json()
    if body is not None:
        assert data == body, f"expected body {body!r}, got {data!r}"
    return data


def assert_note(note, *, text: Optional[str] = None, completed: Optional[bool] = None,
                note_id: Optional[int] = None) -> dict:
    assert isinstance(note, dict) and set(note) == NOTE_KEYS, f"not a note: {note!r}"
    assert isinstance(note["id"], int) and not isinstance(note["id"], bool) and note["id"] > 0, note
    assert isinstance(note["text"], str), note
    assert isinstance(note["completed"], bool), note
    created = parse_timestamp(note["created_at"])
    updated = parse_timestamp(note["updated_at"])
    assert updated >= created, note
    now = datetime.now(timezone.utc)
    # not a timing check: catches local time labelled as UTC, epoch bugs and the like
    assert abs(now - created) < timedelta(hours=1), f"created_at {note['created_at']} is not now (UTC {now})"
    if text is not None:
        assert note["text"] == text, f"text differs: sent {text!r}, got {note['text']!r}"
    if completed is not None:
        assert note["completed"] is completed, note
    if note_id is not None:
        assert note["id"] == note_id, note
    return note


def assert_not_found(resp: Response) -> None:
    assert_json(resp, 404, {"detail": "Note not found"})


def assert_validation(resp: Response, *expected: tuple, inputs: Optional[dict] = None) -> list:
    """422 in FastAPI's shape with exactly the expected (type, loc) errors, in any order.

    ``inputs`` optionally maps a loc tuple to the expected "input" value of that error."""
    data = assert_json(resp, 422)
    assert set(data) == {"detail"} and isinstance(data["detail"], list), data
    got = []
    for err in data["detail"]:
        assert isinstance(err, dict), data
        assert {"type", "loc", "msg", "input"} <= set(err), f"error lacks type/loc/msg/input: {err!r}"
        assert isinstance(err["msg"], str) and err["msg"], err
        assert isinstance(err["loc"], list), err
        got.append((err["type"], tuple(err["loc"])))
    want = [(t, tuple(loc)) for t, loc in expected]
    assert len(got) == len(want) and all(w in got for w in want) and all(g in want for g in got), \
        f"expected errors {want}, got {data['detail']}"
    for loc, value in (inputs or {}).items():
        matching = [e for e in data["detail"] if tuple(e["loc"]) == tuple(loc)]
        assert matching and matching[0]["input"] == value and type(matching[0]["input"]) is type(value), \
            f"expected input {value!r} at {loc}, got {matching}"
    return data["detail"]

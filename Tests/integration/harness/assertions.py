"""Assertions on the shapes of the notes API's answers (FastAPI-compatible, from the issue): notes, authors and
articles (their key sets are the contract's, in ``contract``), FastAPI-style 422s, RFC 3339 UTC timestamps, 204s,
X-Total-Count; the /status document; a load without failures and nginx's own 503.

Python 3 standard library only.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from typing import Optional

from harness.contract import ARTICLE_KEYS, AUTHOR_KEYS, MAX_ID, NOTE_KEYS
from harness.http import Response

RFC3339_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$")


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
    assert isinstance(note, dict) and tuple(note) == NOTE_KEYS, f"not a note: {note!r}"
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


def _is_id(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID


def assert_author(author, *, first_name: Optional[str] = None, last_name: Optional[str] = None,
                  author_id: Optional[int] = None) -> dict:
    assert isinstance(author, dict) and tuple(author) == AUTHOR_KEYS, f"not an author: {author!r}"
    assert _is_id(author["id"]), author
    assert isinstance(author["first_name"], str) and isinstance(author["last_name"], str), author
    created = parse_timestamp(author["created_at"])
    assert parse_timestamp(author["updated_at"]) >= created, author
    assert abs(datetime.now(timezone.utc) - created) < timedelta(hours=1), f"created_at is not now: {author}"
    if first_name is not None:
        assert author["first_name"] == first_name, author
    if last_name is not None:
        assert author["last_name"] == last_name, author
    if author_id is not None:
        assert author["id"] == author_id, author
    return author


def assert_article(article, *, title: Optional[str] = None, content: Optional[str] = None,
                   author_id: Optional[int] = None, article_id: Optional[int] = None) -> dict:
    assert isinstance(article, dict) and tuple(article) == ARTICLE_KEYS, f"not an article: {article!r}"
    assert _is_id(article["id"]) and _is_id(article["author_id"]), article
    assert isinstance(article["title"], str) and isinstance(article["content"], str), article
    for key, value in (("title", title), ("content", content), ("author_id", author_id), ("id", article_id)):
        if value is not None:
            assert article[key] == value, f"{key}: expected {value!r}, got {article!r}"
    return article


def assert_no_content(resp: Response) -> None:
    """204 with an empty body and no Content-Type."""
    assert resp.status == 204, f"expected 204, got {resp!r}"
    assert resp.body == b"", f"204 with a body: {resp!r}"
    assert resp.header("Content-Type") is None, f"204 with a Content-Type: {resp!r}"


def total_count(resp: Response) -> int:
    """The X-Total-Count header of a list response, as an int (exactly one, a decimal number)."""
    value = resp.header("X-Total-Count")
    assert value is not None, f"no X-Total-Count header: {resp!r}"
    assert re.fullmatch(r"[0-9]+", value), f"X-Total-Count is not a decimal count: {value!r}"
    return int(value)


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


# ---------------------------------------------------------------------------------------------- /status


RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$")
RESTART_CAUSES = ("crashed", "timeout", "max_requests", "reload", "scaled_down", "max_rss", "max_lifetime")
WORKER_STATES = ("idle", "busy", "starting", "retiring")


def parse_rfc3339(value: str) -> datetime:
    """An RFC 3339 timestamp (Z or a numeric offset) as an aware datetime."""
    assert isinstance(value, str) and RFC3339.match(value), f"not an RFC 3339 timestamp: {value!r}"
    text = value[:-1] + "+00:00" if value.endswith("Z") else value
    base, frac, offset = text[:19], "", text[19:]
    if offset.startswith("."):
        frac, offset = offset[1:-6], offset[-6:]
    ts = datetime.strptime(base + offset, "%Y-%m-%dT%H:%M:%S%z")
    if frac:
        ts += timedelta(microseconds=int((frac + "000000")[:6]))
    return ts


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def assert_status(doc, *, pid: Optional[int] = None, listen: Optional[str] = None,
                  workers: Optional[int] = None) -> dict:
    """The /status JSON document of the issue 3 contract, internally consistent; returns it."""
    assert isinstance(doc, dict), doc
    for key in ("supervisor", "accepted_requests", "workers", "restarts", "worker_list"):
        assert key in doc, f"/status lacks {key!r}: {doc}"
    sup = doc["supervisor"]
    for key in ("pid", "started_at", "listen", "generation", "target_workers"):
        assert key in sup, f"/status supervisor lacks {key!r}: {sup}"
    assert _is_int(sup["pid"]) and sup["pid"] > 0, sup
    if pid is not None:
        assert sup["pid"] == pid, f"supervisor pid {sup['pid']}, expected {pid}"
    started = parse_rfc3339(sup["started_at"])
    now = datetime.now(timezone.utc)
    assert now - timedelta(hours=1) < started <= now + timedelta(seconds=5), \
        f"started_at {sup['started_at']} is not a recent past moment (now {now})"
    assert isinstance(sup["listen"], str) and sup["listen"], sup
    if listen is not None:
        assert sup["listen"] == listen, f"listen {sup['listen']!r}, expected {listen!r}"
    assert _is_int(sup["generation"]) and sup["generation"] >= 1, sup
    assert _is_int(sup["target_workers"]) and sup["target_workers"] >= 1, sup
    if workers is not None:
        assert sup["target_workers"] == workers, sup

    assert _is_int(doc["accepted_requests"]) and doc["accepted_requests"] >= 0, doc

    counts = doc["workers"]
    for key in ("total", "idle", "busy"):
        assert _is_int(counts.get(key)) and counts[key] >= 0, f"workers.{key}: {counts}"
    assert counts["idle"] + counts["busy"] <= counts["total"], counts

    restarts = doc["restarts"]
    for key in ("total",) + RESTART_CAUSES:
        assert _is_int(restarts.get(key)) and restarts[key] >= 0, f"restarts.{key}: {restarts}"
    assert restarts["total"] == sum(restarts[c] for c in RESTART_CAUSES), f"restarts do not add up: {restarts}"

    wl = doc["worker_list"]
    assert isinstance(wl, list) and len(wl) == counts["total"], f"worker_list vs workers.total: {doc}"
    for w in wl:
        for key in ("pid", "generation", "state", "requests", "current_request", "last_request_ms", "rss_bytes"):
            assert key in w, f"worker entry lacks {key!r}: {w}"
        assert _is_int(w["pid"]) and w["pid"] > 0, w
        assert _is_int(w["generation"]) and 1 <= w["generation"] <= sup["generation"], (w, sup)
        assert w["state"] in WORKER_STATES, w
        assert _is_int(w["requests"]) and w["requests"] >= 0, w
        assert w["last_request_ms"] is None or (_is_number(w["last_request_ms"]) and w["last_request_ms"] >= 0), w
        # A retiring worker may have exited a moment before the supervisor reaps it: its memory is unknown.
        if not (w["state"] == "retiring" and w["rss_bytes"] is None):
            assert _is_int(w["rss_bytes"]) and w["rss_bytes"] > 0, w
        cur = w["current_request"]
        if w["state"] == "busy":
            assert isinstance(cur, dict), f"a busy worker shows its current request: {w}"
        if w["state"] == "idle":
            assert cur is None, f"an idle worker has no current request: {w}"
        if cur is not None:
            assert isinstance(cur.get("method"), str) and cur["method"], w
            assert isinstance(cur.get("path"), str) and cur["path"].startswith("/"), w
            assert _is_number(cur.get("duration_ms")) and cur["duration_ms"] >= 0, w
    assert len({w["pid"] for w in wl}) == len(wl), f"a pid listed twice: {wl}"
    for state in ("idle", "busy"):
        listed = sum(1 for w in wl if w["state"] == state)
        assert counts[state] == listed, f"workers.{state} = {counts[state]} but {listed} listed as {state}: {doc}"
    return doc


# ---------------------------------------------------------------------------------------------- load


NGINX_UNAVAILABLE = {"detail": "Service unavailable"}


def assert_load_clean(report, diagnostics: str = "") -> None:
    """Zero failed requests and zero connection errors."""
    assert report.total > 0, "the load sent nothing"
    assert not report.failures and not report.errors, f"{report.summary()}\n{diagnostics}"


def assert_nginx_unavailable(result_or_response) -> None:
    """nginx's own JSON 503 (no worker answered), not an HTML 502 or a worker's error."""
    status = result_or_response.status
    body = result_or_response.body
    assert status == 503, f"expected nginx's 503, got {result_or_response!r}"
    assert json.loads(body) == NGINX_UNAVAILABLE, f"expected nginx's JSON 503, got {result_or_response!r}"

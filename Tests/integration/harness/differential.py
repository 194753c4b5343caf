"""The differential test's machinery (Tests/integration/test_differential.py): the original FastAPI apps run beside
ours (``Original``), the requests sent to both (``Req``, with ``Ref``: a row both sides created, written per side
with its own id), and ``Differential``, which sends each request to ours and to the original owning its path, keeps
the pairs of rows both created and both sides' next ids alike, normalises what must differ (ids, timestamps' values),
compares status and body (JSON with its keys in order; an error's body byte for byte), and records each difference
that no ``Known`` row of the test's table recognises, readably. Helpers the rows use are here too.

Python 3 standard library only.
"""

from __future__ import annotations

import json
import math
import re
import signal
import subprocess
import urllib.parse
from dataclasses import dataclass, field
from typing import Callable, Optional, Union

from harness.http import Response, http_request
from harness.processes import REPO_ROOT, child_env, free_port, stop_process, wait_until

DIFFERENTIAL_DIR = REPO_ROOT / "Tests" / "differential"
INT32_MAX = 2**31 - 1  # the originals' id columns are SQLAlchemy Integer: PostgreSQL integer


# ---------------------------------------------------------------------------------------------- the originals


class Original:
    """One original app under uvicorn (Tests/differential/run_original.py) on a database of its own."""

    def __init__(self, python: str, which: str, db_url: str, log_path):
        self.port = free_port()
        self.log_path = log_path
        self._log = open(log_path, "wb")
        env = child_env(PYTHONDONTWRITEBYTECODE="1", PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen([python, str(DIFFERENTIAL_DIR / "run_original.py"), which, db_url,
                                      str(self.port)], stdout=self._log, stderr=subprocess.STDOUT, env=env,
                                     cwd=DIFFERENTIAL_DIR, start_new_session=True)

    def wait_ready(self, path: str) -> "Original":
        def answers():
            assert self.proc.poll() is None, f"the original exited ({self.proc.returncode}):\n{self.log()}"
            try:
                return http_request(self.port, "GET", path, timeout=5).status == 200
            except OSError:
                return False
        wait_until(answers, 90, what=lambda: f"the original to answer GET {path}\n{self.log()}")
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def close(self) -> None:
        stop_process(self.proc, signal.SIGTERM, timeout=10, group=True)
        self._log.close()


# ---------------------------------------------------------------------------------------------- requests


@dataclass(frozen=True)
class Ref:
    """The n-th row of a kind that both sides created (taken modulo their number): a logical id, written in a path
    as ``fmt`` says (a form pydantic's lax int reads: "007", "+7", " 7 ", "7.0")."""
    kind: str  # note, author, article
    n: int
    fmt: str = "{}"


UNSET = object()  # no Content-Type given: application/json when there is a body
PathPart = Union[str, Ref]


@dataclass
class Req:
    """A request for both sides: its path's Refs and the Refs in its JSON body are written with each side's ids."""
    method: str
    path: tuple  # of PathPart: literal pieces and Refs, resolved per side
    query: str = ""
    json: object = UNSET  # a JSON value (Refs inside are resolved per side), or
    raw: Optional[bytes] = None  # a body sent as is
    content_type: object = UNSET
    headers: Optional[dict] = None

    def describe(self) -> str:
        path = "".join(p if isinstance(p, str) else p.fmt.format(f"{{{p.kind}#{p.n}}}") for p in self.path)
        line = f"{self.method} {path}{'?' + self.query if self.query else ''}"
        if self.content_type is not UNSET:
            line += f"  [Content-Type: {self.content_type!r}]"
        if self.headers:
            line += f"  {self.headers}"
        if self.raw is not None:
            line += f"  body {self.raw[:200]!r}"
        elif self.json is not UNSET:
            line += f"  json {_json_text(self.json, lambda r: f'{{{r.kind}#{r.n}}}')[:300]}"
        return line


def _json_text(value, ref_text: Callable[[Ref], object]) -> str:
    def resolve(v):
        if isinstance(v, Ref):
            return ref_text(v)
        if isinstance(v, dict):
            return {k: resolve(x) for k, x in v.items()}
        if isinstance(v, list):
            return [resolve(x) for x in v]
        return v
    return json.dumps(resolve(value), ensure_ascii=False)


def owner_path(path: str) -> str:
    """Which original answers a path: the blog's prefixes, else the notes app (for unknown paths both say 404)."""
    return "blog" if re.match(r"/+(authors|articles|healthcheck)", urllib.parse.unquote(path)) else "notes"


def note_path(*parts: PathPart) -> tuple:
    return ("/notes/", *parts, "/")


# ---------------------------------------------------------------------------------------------- exchanges

TIMESTAMP_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
TIMESTAMP_NAIVE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?$")
DELETED_NOTE = re.compile(r"^Note with id: (-?\d+) deleted successfully!$")
KIND_OF_PATH = {"notes": "note", "authors": "author", "articles": "article"}


@dataclass
class Side:
    """One side's answer to an exchange."""
    name: str  # "ours" or "original"
    response: Response
    path: str  # as sent (after a redirect: the redirect's)
    value: object = None  # the normalised body: JSON (dict order kept), ("text", str), or None when empty

    @property
    def status(self) -> int:
        return self.response.status


@dataclass
class Exchange:
    """A request and both answers, as the rows of the table see them."""
    req: Req
    ours: Side
    orig: Side
    kind: Optional[str]  # the entity of the path
    one_sided: dict = field(default_factory=dict)  # side name -> id of a row only that side created

    def path_id(self) -> Optional[str]:
        """The literal id segment of the path as sent (None for a collection path)."""
        parts = [p for p in self.req.path if isinstance(p, Ref)]
        if parts:
            return None
        m = re.match(r"^/+(?:notes|authors|articles)/+([^/?]+)", "".join(self.req.path))
        return m.group(1) if m else None

    def body_field(self, name: str):
        return self.req.json.get(name, UNSET) if isinstance(self.req.json, dict) else UNSET


@dataclass(frozen=True)
class Known:
    """A row of the test's table of known differences. ``rewrite`` changes the normalised bodies (True when it
    changed something: a difference of form); ``accept`` recognises a whole difference the rewrites left;
    ``resync`` then makes the databases alike again. Each gets the exchange and the ``Differential``."""
    name: str
    readme: str  # the difference, where the README (or docs/research/differential-findings.md) states it
    rewrite: Optional[Callable[["Exchange", "Differential"], bool]] = None
    accept: Optional[Callable[["Exchange", "Differential"], bool]] = None
    resync: Optional[Callable[["Exchange", "Differential"], None]] = None


class Differential:
    """Sends requests to both sides, keeps the pairs of rows both created, and compares, with ``known`` (the
    test's table of Known rows)."""

    def __init__(self, ours_port: int, notes_port: int, blog_port: int, sessions: dict, known: list):
        self.ports = {"ours": ours_port, "notes": notes_port, "blog": blog_port}
        self.sessions = sessions  # "ours", "notes", "blog": a psql session on each database
        self.known = known
        self.ids = {"ours": {"note": [], "author": [], "article": []},
                    "original": {"note": [], "author": [], "article": []}}
        self.exchanges = 0
        self.unknown: list[str] = []
        self.used: dict[str, int] = {}
        self.examples: dict[str, str] = {}  # row name -> the first exchange it recognised, rendered

    # -- sending

    def resolve(self, side: str, ref: Ref) -> str:
        ids = self.ids[side][ref.kind]
        return ref.fmt.format(ids[ref.n % len(ids)] if ids else 424242)  # (no row yet: an id nobody has)

    def send(self, side: str, port: int, req: Req, path: Optional[str] = None) -> tuple[Response, str]:
        path = path or "".join(p if isinstance(p, str) else self.resolve(side, p) for p in req.path)
        target = path + ("?" + req.query if req.query else "")
        if req.raw is not None:
            body = req.raw
        elif req.json is not UNSET:
            body = _json_text(req.json, lambda r: int(self.resolve(side, Ref(r.kind, r.n)))).encode("utf-8")
        else:
            body = None
        content_type = req.content_type
        if content_type is UNSET:
            content_type = "application/json" if body else None
        return http_request(port, req.method, target, body=body, content_type=content_type, headers=req.headers,
                            timeout=30), path

    def request(self, side: str, path: str, method: str = "GET") -> Response:
        return http_request(self.ports["ours" if side == "ours" else owner_path(path)], method, path, timeout=30)

    def exchange(self, req: Req) -> None:
        self.exchanges += 1
        ours_resp, ours_path = self.send("ours", self.ports["ours"], req)
        orig_port = self.ports[owner_path(ours_path)]
        orig_resp, orig_path = self.send("original", orig_port, req)
        redirected = False
        if orig_resp.status == 307 and orig_resp.header("location"):
            # FastAPI redirects to the route's other form (trailing slash); ours answers both forms itself.
            location = urllib.parse.urlsplit(orig_resp.header("location"))
            orig_resp, orig_path = self.send("original", orig_port, req, path=location.path)
            redirected = True
        # (paths as the servers read them: percent-decoded)
        ours_path, orig_path = urllib.parse.unquote(ours_path), urllib.parse.unquote(orig_path)
        m = re.match(r"^/+(notes|authors|articles)", ours_path)
        ex = Exchange(req, Side("ours", ours_resp, ours_path), Side("original", orig_resp, orig_path),
                      KIND_OF_PATH[m.group(1)] if m else None)
        self.record_creation(ex)
        if req.method == "POST" and ex.kind is not None:
            self.align_sequence(ex.kind)
        for side in (ex.ours, ex.orig):
            side.value = self.normalise(side, ex)
        if redirected:
            self.use("trailing-slash")
        self.compare(ex)

    # -- rows both created

    def record_creation(self, ex: Exchange) -> None:
        """A POST to a collection that created a row on both sides pairs the two rows (one logical row)."""
        if ex.req.method != "POST" or ex.kind is None or ex.ours.path.strip("/").count("/"):
            return
        created = {}
        for side in (ex.ours, ex.orig):
            if side.status == 201:
                created[side.name] = json.loads(side.response.body)["id"]
        if len(created) == 2:
            for name, row_id in created.items():
                self.ids[name][ex.kind].append(row_id)
        else:
            for name, row_id in created.items():  # a row on one side only: deleted after the comparison
                ex.one_sided[name] = row_id

    def align_sequence(self, kind: str) -> None:
        """Give both sides the same next id for ``kind``: a create that only one side tried, or that failed after
        taking an id on one side only, would otherwise leave the same literal id naming different rows."""
        table = f"{kind}s"
        sql = f"SELECT last_value + is_called::int FROM {table}_id_seq"
        databases = ("ours", "notes" if kind == "note" else "blog")
        nexts = [int(self.sessions[db].execute(sql)[0][0]) for db in databases]
        if nexts[0] != nexts[1]:
            for db in databases:
                self.sessions[db].execute(f"SELECT setval('{table}_id_seq', {max(nexts)}, false)")

    def delete_one_sided(self, ex: Exchange) -> None:
        """Delete a row only one side created (after a known difference), so that the databases stay alike."""
        for name, row_id in ex.one_sided.items():
            resp = self.request(name, f"/{ex.kind}s/{row_id}" + ("/" if ex.kind == "note" else ""), "DELETE")
            assert resp.status in (200, 204), f"resync: DELETE of {ex.kind} {row_id} on {name}: {resp!r}"

    # -- normalising what must differ

    def normalise(self, side: Side, ex: Exchange):
        body = side.response.body
        if not body:
            return None
        try:
            value = json.loads(body)
        except ValueError:
            return ("text", body.decode("utf-8", "replace"))
        if side.status >= 300 or ex.kind is None:
            return value
        maps = {kind: {row_id: n for n, row_id in enumerate(ids)} for kind, ids in self.ids[side.name].items()}

        def token(kind, row_id):
            n = maps[kind].get(row_id)
            return f"<{kind}#{n}>" if n is not None else row_id

        def entity(obj: dict) -> dict:
            out = {}
            for key, v in obj.items():
                if key == "id" and isinstance(v, int):
                    v = token(ex.kind, v)
                elif key == "author_id" and isinstance(v, int):
                    v = token("author", v)
                elif key in ("created_at", "updated_at") and isinstance(v, str):
                    v = ("<timestamp Z>" if TIMESTAMP_Z.match(v) else
                         "<timestamp naive>" if TIMESTAMP_NAIVE.match(v) else v)
                elif key == "message" and isinstance(v, str) and DELETED_NOTE.match(v):
                    v = v.replace(DELETED_NOTE.match(v).group(1),
                                  str(token("note", int(DELETED_NOTE.match(v).group(1)))))
                out[key] = v
            return out

        if isinstance(value, list):
            return [entity(x) if isinstance(x, dict) else x for x in value]
        return entity(value) if isinstance(value, dict) else value

    # -- comparing

    def use(self, name: str, ex: Optional[Exchange] = None) -> None:
        self.used[name] = self.used.get(name, 0) + 1
        if ex is not None and name not in self.examples:
            self.examples[name] = render(ex)

    def compare(self, ex: Exchange) -> None:
        for row in self.known:
            if row.rewrite is not None and row.rewrite(ex, self):
                self.use(row.name)
        if not same(ex):
            for row in self.known:
                if row.accept is not None and row.accept(ex, self):
                    self.use(row.name, ex)
                    if row.resync is not None:
                        row.resync(ex, self)
                    break
            else:
                self.unknown.append(render(ex))
        self.delete_one_sided(ex)  # (known or not: later answers stay comparable)


def ordered(value):
    """A JSON value with its objects' key order and its numbers' types made part of equality (in Python, True == 1
    == 1.0, and -0.0 == 0.0)."""
    if isinstance(value, dict):
        return ("{}", [(k, ordered(v)) for k, v in value.items()])
    if isinstance(value, list):
        return [ordered(v) for v in value]
    if isinstance(value, float):
        return ("float", value, math.copysign(1, value))
    if isinstance(value, (bool, int)):
        return (type(value).__name__, value)
    return value


def same(ex: Exchange) -> bool:
    if ex.ours.status != ex.orig.status or ordered(ex.ours.value) != ordered(ex.orig.value):
        return False
    # An error's body is compared as text too: FastAPI's exact rendering (compact, floats as Python writes them).
    if ex.orig.status >= 400 and not isinstance(ex.orig.value, tuple):
        return ex.ours.response.body == ex.orig.response.body
    return True


def render(ex: Exchange) -> str:
    def show(side: Side) -> str:
        text = side.response.body.decode("utf-8", "replace")
        return f"{side.status} {text[:700]}" + (" …" if len(text) > 700 else "")
    lines = [f"{ex.req.describe()}", f"   original: {show(ex.orig)}", f"   ours:     {show(ex.ours)}"]
    if ex.ours.status == ex.orig.status and ex.ours.value != ex.orig.value:
        lines.append(f"   normalised original: {json.dumps(ex.orig.value, ensure_ascii=False)[:700]}")
        lines.append(f"   normalised ours:     {json.dumps(ex.ours.value, ensure_ascii=False)[:700]}")
    elif ex.ours.status == ex.orig.status:
        lines.append("   (the same JSON, written differently)")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------- for the rows


def detail_types(side: Side) -> list:
    if side.status != 422 or not isinstance(side.value, dict) or not isinstance(side.value.get("detail"), list):
        return []
    return [(e.get("type"), tuple(e.get("loc", ()))) for e in side.value["detail"]]


def query_params(ex: Exchange) -> list:
    return urllib.parse.parse_qsl(ex.req.query, keep_blank_values=True)


def int_or_none(text) -> Optional[int]:
    """The integer pydantic reads from a path or query value, roughly (enough to tell an id's range)."""
    try:
        return int(str(text).strip().replace("_", ""))
    except ValueError:
        try:
            f = float(text)
            return int(f) if f.is_integer() else None
        except (ValueError, OverflowError):
            return None


def is_error(side: Side, detail: str) -> bool:
    return side.status == 404 and side.value == {"detail": detail}


def internal_error(side: Side) -> bool:
    return side.status == 500 and side.value == ("text", "Internal Server Error")


def json_invalid_errors(side: Side) -> list:
    return [e for e in (side.value.get("detail") if isinstance(side.value, dict) else None) or []
            if isinstance(e, dict) and e.get("type") == "json_invalid"]


def body_bytes(ex: Exchange) -> bytes:
    if ex.req.raw is not None:
        return ex.req.raw
    return b"" if ex.req.json is UNSET else _json_text(ex.req.json, lambda r: 1).encode("utf-8")


def utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


PARSE_ERROR = {"detail": "There was an error parsing the body"}


def beyond_int32(text) -> bool:
    """An id the originals' integer columns cannot hold."""
    value = int_or_none(text)
    return value is not None and not -2**31 <= value <= INT32_MAX


def text_values(ex: Exchange) -> list:
    """The string values of the body's text fields."""
    body = ex.req.json if isinstance(ex.req.json, dict) else {}
    return [v for k, v in body.items() if k in ("text", "first_name", "last_name", "title", "content")
            and isinstance(v, str)]


# What Python's json reads and ours refuses: NaN, Infinity, -Infinity; an escaped lone surrogate.
NAN_LITERAL = re.compile(rb"[:\[,]\s*-?(NaN|Infinity)")
LONE_SURROGATE = re.compile(rb"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F])"
                            rb"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}")


def known_report(d: Differential) -> str:
    """How often each row was needed, and the first exchange each accepting row recognised."""
    lines = [f"{d.exchanges} exchanges; rows needed: {d.used}"]
    lines += [f"\n[{name}] {text}" for name, text in d.examples.items()]
    return "\n".join(lines)


def report(d: Differential) -> str:
    """The differences no row recognised, for the test's failure."""
    lines = [f"{d.exchanges} exchanges; differences no row of KNOWN_DIFFERENCES recognises: {len(d.unknown)}"]
    lines += [f"\n{i + 1}. {u}" for i, u in enumerate(d.unknown[:40])]
    if len(d.unknown) > 40:
        lines.append(f"\n... and {len(d.unknown) - 40} more")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------- rows' rewrites of form


def rewrite_note_timestamps(ex: Exchange, d: Differential) -> bool:
    """Our notes carry created_at/updated_at; the original's Note model has id, text, completed."""
    if ex.kind != "note" or ex.ours.status >= 300:
        return False
    changed = False
    objects = ex.ours.value if isinstance(ex.ours.value, list) else [ex.ours.value]
    for obj in objects:
        if isinstance(obj, dict) and "created_at" in obj:
            del obj["created_at"], obj["updated_at"]
            changed = True
    return changed


def rewrite_timestamp_format(ex: Exchange, d: Differential) -> bool:
    """Our timestamps are RFC 3339 with Z; the blog's are naive ISO 8601 (no offset, fraction dropped when 0)."""
    changed = False
    for ours_obj, orig_obj in zip(*(v if isinstance(v, list) else [v] for v in (ex.ours.value, ex.orig.value))):
        if isinstance(ours_obj, dict) and isinstance(orig_obj, dict):
            for key in ("created_at", "updated_at"):
                if ours_obj.get(key) == "<timestamp Z>" and orig_obj.get(key) == "<timestamp naive>":
                    ours_obj[key] = "<timestamp naive>"
                    changed = True
    return changed



# ---------------------------------------------------------------------------------------------- rows' work on the state


def rewrite_list_order(ex: Exchange, d: Differential) -> bool:
    """The originals' lists have no ORDER BY; ours are by ascending id. The original's list is put in id order:
    the blog's lists are whole; a page of notes is replaced by the same page of the original's whole collection
    in id order, after checking that the original's page holds as many of its rows (a page of another order)."""
    if ex.req.method != "GET" or ex.ours.path.rstrip("/") not in ("/notes", "/authors", "/articles"):
        return False
    if ex.orig.status != 200 or not isinstance(ex.orig.value, list):
        return False

    def key(obj):
        return (0, int(obj["id"][len(ex.kind) + 2:-1])) if isinstance(obj["id"], str) else (1, obj["id"])
    original = ex.orig.value
    if ex.kind == "note":
        params = dict(query_params(ex))
        whole = d.normalise(Side("original", d.request("original", "/notes/?take=1000000"), "/notes/"), ex)
        skip, take = int_or_none(params.get("skip", 0)), int_or_none(params.get("take", 20))
        if skip is None or take is None or skip < 0 or take < 0:
            return False
        if not all(obj in whole for obj in original) or len(original) != len(whole[skip:skip + take]):
            return False  # (not a page of the original's collection: the difference is reported as it is)
        in_order = sorted(whole, key=key)[skip:skip + take]
    else:
        in_order = sorted(original, key=key)
    if in_order == original:
        return False
    ex.orig.value = in_order
    return True


def resync_patch_notes(ex: Exchange, d: Differential) -> None:
    """A PATCH that changed our note: the original's row gets the same text and completed by its PUT."""
    if ex.ours.status != 200:
        return
    note = json.loads(ex.ours.response.body)
    n = d.ids["ours"]["note"].index(note["id"])
    orig_id = d.ids["original"]["note"][n]
    resp = http_request(d.ports["notes"], "PUT", f"/notes/{orig_id}/",
                        body=json.dumps({"text": note["text"], "completed": note["completed"]}).encode("utf-8"),
                        content_type="application/json", timeout=30)
    assert resp.status == 200, f"resync: PUT of note {orig_id} on the original: {resp!r}"

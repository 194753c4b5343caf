"""Every endpoint and status code of the notes API, over HTTP through nginx (issue 2, "The API")."""

import json
import re

import pytest

from harness.assertions import (ANY_INT, assert_json, assert_not_found, assert_note, assert_validation,
                                parse_timestamp)
from harness.contract import MAX_ID

ONE_MIB = 1024 * 1024


@pytest.fixture(scope="module")
def api_stack(module_launcher):
    return module_launcher.stack("api", workers=2)


@pytest.fixture(scope="module")
def api(api_stack):
    return api_stack.client


@pytest.fixture
def note(api):
    return api.create_note("a note to work on", False)


def delete_all(api):
    while True:
        notes = assert_json(api.get("/notes/?take=100"), 200)
        if not notes:
            return
        for n in notes:
            assert api.delete(f"/notes/{n['id']}/").status == 200


def sized_body(total: int) -> bytes:
    """A valid note JSON body of exactly ``total`` bytes."""
    empty = b'{"text": "", "completed": false}'
    body = b'{"text": "' + b"x" * (total - len(empty)) + b'", "completed": false}'
    assert len(body) == total
    return body


# ---------------------------------------------------------------------------------------------- create


@pytest.mark.parametrize("path", ["/notes/", "/notes"])
def test_create_returns_201_and_the_note(api, path):
    resp = api.post(path, {"text": "Buy milk", "completed": False})
    created = assert_note(assert_json(resp, 201), text="Buy milk", completed=False)
    fetched = assert_json(api.get(f"/notes/{created['id']}/"), 200)
    assert fetched == created


def test_create_completed_true_and_ids_increase(api):
    first = assert_note(assert_json(api.post("/notes/", {"text": "one", "completed": True}), 201), completed=True)
    second = assert_note(assert_json(api.post("/notes/", {"text": "two", "completed": False}), 201))
    assert second["id"] > first["id"]


def test_create_accepts_json_with_charset(api):
    resp = api.post("/notes/", {"text": "charset", "completed": False},
                    content_type="application/json; charset=utf-8")
    assert_note(assert_json(resp, 201), text="charset")


def test_unknown_fields_are_ignored(api):
    body = {"text": "extra", "completed": True, "id": 424242, "created_at": "2000-01-01T00:00:00Z",
            "color": "red", "nested": {"a": [1, 2]}}
    created = assert_note(assert_json(api.post("/notes/", body), 201), text="extra", completed=True)
    assert created["id"] != 424242 and not created["created_at"].startswith("2000-")
    updated = assert_json(api.put(f"/notes/{created['id']}/", {**body, "text": "extra2", "id": 1}), 200)
    assert_note(updated, text="extra2", completed=True, note_id=created["id"])
    assert updated["created_at"] == created["created_at"]


# ---------------------------------------------------------------------------------------------- read


@pytest.mark.parametrize("suffix", ["/", ""])
def test_get_note(api, note, suffix):
    resp = api.get(f"/notes/{note['id']}{suffix}")
    assert assert_json(resp, 200) == note


# ---------------------------------------------------------------------------------------------- update


@pytest.mark.parametrize("suffix", ["/", ""])
def test_update_note(api, note, suffix):
    resp = api.put(f"/notes/{note['id']}{suffix}", {"text": "changed", "completed": True})
    updated = assert_note(assert_json(resp, 200), text="changed", completed=True, note_id=note["id"])
    assert updated["created_at"] == note["created_at"]
    assert parse_timestamp(updated["updated_at"]) >= parse_timestamp(note["updated_at"])
    assert assert_json(api.get(f"/notes/{note['id']}/"), 200) == updated


# ---------------------------------------------------------------------------------------------- delete


@pytest.mark.parametrize("suffix", ["/", ""])
def test_delete_note(api, note, suffix):
    resp = api.delete(f"/notes/{note['id']}{suffix}")
    assert_json(resp, 200, {"message": f"Note with id: {note['id']} deleted successfully!"})
    assert_not_found(api.get(f"/notes/{note['id']}/"))
    assert_not_found(api.delete(f"/notes/{note['id']}/"))
    assert_not_found(api.put(f"/notes/{note['id']}/", {"text": "x", "completed": False}))


# ---------------------------------------------------------------------------------------------- 404


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
@pytest.mark.parametrize("which", ["deleted", "max"])
def test_missing_note_is_404(api, method, which):
    if which == "deleted":
        note_id = api.create_note("soon gone")["id"]
        assert api.delete(f"/notes/{note_id}/").status == 200
    else:
        note_id = MAX_ID
    body = {"text": "x", "completed": False} if method == "PUT" else None
    kwargs = {"json_body": body} if body is not None else {}
    assert_not_found(api.request(method, f"/notes/{note_id}/", **kwargs))
    assert_not_found(api.request(method, f"/notes/{note_id}", **kwargs))


@pytest.mark.parametrize("path", ["/notes/1/extra", "/notes/1/extra/", "/notes/abc/def", "/notes-and-more/",
                                  "/note/1/", "/nope"])
def test_unknown_path_is_404(api, path):
    assert_json(api.get(path), 404, {"detail": "Not Found"})


@pytest.mark.parametrize("path", ["/notes/%00/", "/notes/%zz/"])
def test_paths_nginx_cannot_parse_are_json_400(api, path):
    assert_json(api.get(path), 400, {"detail": "Bad Request"})


# ---------------------------------------------------------------------------------------------- 405


@pytest.mark.parametrize("method,path,allowed", [
    ("PATCH", "/notes/", {"GET", "POST"}),
    ("PUT", "/notes/", {"GET", "POST"}),
    ("DELETE", "/notes", {"GET", "POST"}),
    ("POST", "/notes/1/", {"GET", "PUT", "PATCH", "DELETE"}),
    ("POST", "/notes/1", {"GET", "PUT", "PATCH", "DELETE"}),
])
def test_wrong_method_is_405_with_allow(api, method, path, allowed):
    resp = api.request(method, path, json_body={"text": "x", "completed": False})
    assert_json(resp, 405, {"detail": "Method Not Allowed"})
    allow = resp.header("Allow")
    assert allow, f"405 without Allow header: {resp!r}"
    methods = {m.strip().upper() for m in allow.split(",") if m.strip()} - {"HEAD", "OPTIONS"}
    assert methods == allowed, f"Allow: {allow!r}"


# ---------------------------------------------------------------------------------------------- 413


@pytest.mark.parametrize("method", ["POST", "PUT"])
def test_body_over_one_mib_is_413(api, note, method):
    path = "/notes/" if method == "POST" else f"/notes/{note['id']}/"
    resp = api.request(method, path, body=sized_body(ONE_MIB + 1))
    assert_json(resp, 413, {"detail": "Request body too large"})
    assert assert_json(api.get(f"/notes/{note['id']}/"), 200) == note


def test_body_of_exactly_one_mib_is_accepted(api):
    body = sized_body(ONE_MIB)
    created = assert_note(assert_json(api.post("/notes/", body=body), 201))
    assert created["text"] == json.loads(body)["text"]
    assert assert_json(api.get(f"/notes/{created['id']}/"), 200)["text"] == created["text"]
    updated = assert_json(api.put(f"/notes/{created['id']}/", body=body.replace(b'"x', b'"y', 1)), 200)
    assert updated["text"] == "y" + created["text"][1:]


# ------------------------------------------------------------------------ bodies that are not JSON


MODEL_ATTRIBUTES = "model_attributes_type"


@pytest.mark.parametrize("ctype", ["text/plain", "application/x-www-form-urlencoded", "application/xml",
                                   "multipart/form-data; boundary=x", "application/not-really-json", None])
@pytest.mark.parametrize("method", ["POST", "PUT"])
def test_a_body_not_declared_json_is_refused_as_fastapi_refuses_it(api, note, method, ctype):
    """FastAPI parses only application/json and application/*+json; any other body (none declared included)
    stays text, which no model accepts: 422 model_attributes_type with the text as input, never 415."""
    path = "/notes/" if method == "POST" else f"/notes/{note['id']}/"
    raw = b'{"text": "nope", "completed": true}'
    resp = api.request(method, path, body=raw, content_type=ctype)
    assert_validation(resp, (MODEL_ATTRIBUTES, ["body"]), inputs={("body",): raw.decode()})
    assert assert_json(api.get(f"/notes/{note['id']}/"), 200) == note


@pytest.mark.parametrize("ctype", ["application/json", "text/plain", None])
def test_an_empty_body_is_a_missing_body(api, ctype):
    assert_validation(api.request("POST", "/notes/", body=b"", content_type=ctype), ("missing", ["body"]),
                      inputs={("body",): None})


@pytest.mark.parametrize("ctype", ["application/json", "text/plain", None])
def test_a_body_that_is_not_utf8_is_a_400(api, ctype):
    resp = api.request("POST", "/notes/", body=b'{"text": "\xff", "completed": true}', content_type=ctype)
    assert_json(resp, 400, {"detail": "There was an error parsing the body"})


def test_any_application_plus_json_type_and_a_byte_order_mark_are_json(api):
    created = assert_json(api.request("POST", "/notes/", body=b'\xef\xbb\xbf{"text": "bom", "completed": false}',
                                      content_type="application/merge-patch+json; charset=utf-8"), 201)
    assert created["text"] == "bom"


# ---------------------------------------------------------------------------------------------- 422 body


@pytest.mark.parametrize("method", ["POST", "PUT"])
@pytest.mark.parametrize("raw", [b'{"text": "a", ', b"not json", b'{"text": "a" "completed": true}',
                                 b'{"text": "a", "completed": tru}', b"{'text': 'a', 'completed': true}",
                                 b'{"text": "a", "completed": true}}'])
def test_invalid_json_is_422_json_invalid(api, note, method, raw):
    path = "/notes/" if method == "POST" else f"/notes/{note['id']}/"
    assert_validation(api.request(method, path, body=raw), ("json_invalid", ["body", ANY_INT]))


def test_invalid_utf8_is_a_client_error(api):
    resp = api.post("/notes/", body=b'{"text": "\xff\xfe", "completed": true}')
    assert resp.status in (400, 422), resp
    assert_json(resp, resp.status)


@pytest.mark.parametrize("method", ["POST", "PUT"])
@pytest.mark.parametrize("body,locs", [
    ({"completed": True}, [["body", "text"]]),
    ({"text": "a"}, [["body", "completed"]]),
    ({}, [["body", "text"], ["body", "completed"]]),
])
def test_missing_field_is_422_missing(api, note, method, body, locs):
    path = "/notes/" if method == "POST" else f"/notes/{note['id']}/"
    assert_validation(api.request(method, path, json_body=body), *[("missing", loc) for loc in locs])


@pytest.mark.parametrize("method", ["POST", "PUT"])
def test_empty_body_is_422_missing_body(api, note, method):
    path = "/notes/" if method == "POST" else f"/notes/{note['id']}/"
    assert_validation(api.request(method, path, body=b""), ("missing", ["body"]))


@pytest.mark.parametrize("body", [[1, 2], "text", 3, True])
def test_body_not_an_object_is_422(api, body):
    assert_validation(api.post("/notes/", body), ("model_attributes_type", ["body"]))


WRONG_TYPES = [
    ({"text": 123, "completed": False}, "string_type", ["body", "text"], 123),
    ({"text": None, "completed": False}, "string_type", ["body", "text"], None),
    ({"text": ["a"], "completed": False}, "string_type", ["body", "text"], ["a"]),
    ({"text": True, "completed": False}, "string_type", ["body", "text"], True),
    ({"text": 1.5, "completed": False}, "string_type", ["body", "text"], 1.5),
    ({"text": "a", "completed": "maybe"}, "bool_parsing", ["body", "completed"], "maybe"),
    ({"text": "a", "completed": " true"}, "bool_parsing", ["body", "completed"], " true"),
    ({"text": "a", "completed": 2}, "bool_parsing", ["body", "completed"], 2),
    ({"text": "a", "completed": 2.0}, "bool_parsing", ["body", "completed"], 2.0),
    ({"text": "a", "completed": 0.5}, "bool_type", ["body", "completed"], 0.5),
    ({"text": "a", "completed": None}, "bool_type", ["body", "completed"], None),
    ({"text": "a", "completed": {}}, "bool_type", ["body", "completed"], {}),
]


@pytest.mark.parametrize("method", ["POST", "PUT"])
@pytest.mark.parametrize("body,etype,loc,value", WRONG_TYPES)
def test_wrong_type_is_422_as_pydantic_lax_mode(api, note, method, body, etype, loc, value):
    path = "/notes/" if method == "POST" else f"/notes/{note['id']}/"
    assert_validation(api.request(method, path, json_body=body), (etype, loc), inputs={tuple(loc): value})
    assert assert_json(api.get(f"/notes/{note['id']}/"), 200) == note


LAX_BOOLEANS = [("true", True), ("FALSE", False), ("yes", True), ("off", False), ("1", True), ("0", False),
                ("Y", True), ("f", False), (1, True), (0, False), (1.0, True), (0.0, False)]


@pytest.mark.parametrize("value,expected", LAX_BOOLEANS, ids=[repr(v) for v, _ in LAX_BOOLEANS])
def test_completed_is_read_as_pydantic_lax_mode_reads_a_bool(api, value, expected):
    created = assert_json(api.post("/notes/", {"text": "lax", "completed": value}), 201)
    assert created["completed"] is expected


def test_two_wrong_fields_give_two_errors(api):
    assert_validation(api.post("/notes/", {"text": 1, "completed": "maybe"}),
                      ("string_type", ["body", "text"]), ("bool_parsing", ["body", "completed"]))


# ---------------------------------------------------------------------------------------------- text


UNICODE_TEXTS = [
    "Buy milk",
    "",
    "  leading and trailing spaces  ",
    "emoji 😀 family 👩‍👩‍👧‍👦 flag 🇺🇳",
    "中文字符 日本語のテキスト 한국어",
    "e\u0301 combining a\u0308 \u0915\u094d\u0937",
    "quotes \"double\" 'single' `back`",
    "back\\slash \\n \\u0041 not escapes",
    "line1\nline2\ttab\r\nCRLF",
    "control \u0001 \u001f \u007f \u0080",
    "separators \u2028 \u2029 bom \ufeff",
    "html </script> & <b> %s %d {}",
    "rtl \u202e abc \u05e9\u05dc\u05d5\u05dd",
    "astral \U0001d11e \U00010348",
    "long " + "ü€😀" * 5000,
]


@pytest.mark.parametrize("ascii_escapes", [False, True], ids=["utf8", "escaped"])
@pytest.mark.parametrize("text", UNICODE_TEXTS, ids=range(len(UNICODE_TEXTS)))
def test_text_round_trips_identically(api, text, ascii_escapes):
    raw = json.dumps({"text": text, "completed": False}, ensure_ascii=ascii_escapes).encode("utf-8")
    created = assert_note(assert_json(api.post("/notes/", body=raw), 201), text=text)
    assert assert_json(api.get(f"/notes/{created['id']}/"), 200)["text"] == text
    raw = json.dumps({"text": text + "!", "completed": True}, ensure_ascii=ascii_escapes).encode("utf-8")
    assert assert_json(api.put(f"/notes/{created['id']}/", body=raw), 200)["text"] == text + "!"
    assert assert_json(api.get(f"/notes/{created['id']}"), 200)["text"] == text + "!"


@pytest.mark.parametrize("text", ["a\u0000b", "\u0000", "end\u0000"])
@pytest.mark.parametrize("method", ["POST", "PUT"])
def test_nul_in_text_is_422_not_500(api, note, method, text):
    path = "/notes/" if method == "POST" else f"/notes/{note['id']}/"
    assert_validation(api.request(method, path, json_body={"text": text, "completed": False}),
                      ("value_error", ["body", "text"]))
    assert assert_json(api.get(f"/notes/{note['id']}/"), 200) == note


# ---------------------------------------------------------------------------------------------- path id


BAD_IDS = ["abc", "1.5", "1e3", "0x10", "1__0", "%F0%9F%98%80"]
NO_SUCH_IDS = ["0", "-1", "9223372036854775808", "99999999999999999999999"]


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
@pytest.mark.parametrize("bad", BAD_IDS)
def test_path_id_that_is_no_integer_is_422(api, method, bad):
    kwargs = {"json_body": {"text": "x", "completed": False}} if method == "PUT" else {}
    for path in (f"/notes/{bad}/", f"/notes/{bad}"):
        assert_validation(api.request(method, path, **kwargs), ("int_parsing", ["path", "note_id"]))


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
@pytest.mark.parametrize("missing", NO_SUCH_IDS)
def test_path_id_no_note_can_have_is_404(api, method, missing):
    """FastAPI's `int` takes any integer; one no row has is the 404 (beyond 64 bits FastAPI fails with 500)."""
    kwargs = {"json_body": {"text": "x", "completed": False}} if method == "PUT" else {}
    assert_json(api.request(method, f"/notes/{missing}/", **kwargs), 404, {"detail": "Note not found"})


@pytest.mark.parametrize("spelling", ["{id}", "+{id}", "00{id}", "{id}.0", "%20{id}%20"])
def test_path_id_is_read_as_pydantic_reads_an_int(api, note, spelling):
    assert assert_json(api.get("/notes/" + spelling.format(id=note["id"]) + "/"), 200) == note


# ---------------------------------------------------------------------------------------------- list


@pytest.fixture
def listed(api):
    """25 notes in an otherwise empty table, one deleted in the middle: returns the 24 that remain, by id."""
    delete_all(api)
    notes = [api.create_note(f"n{i} \"ü\" 😀\n\t\\", i % 2 == 0) for i in range(25)]
    gone = notes.pop(7)
    assert api.delete(f"/notes/{gone['id']}/").status == 200
    # touch an early note so that updated_at order differs from id order
    notes[0] = assert_json(api.put(f"/notes/{notes[0]['id']}/", {"text": "n0 again", "completed": True}), 200)
    return notes


@pytest.mark.parametrize("path", ["/notes/", "/notes"])
def test_list_defaults_to_first_20_by_id(api, listed, path):
    got = assert_json(api.get(path), 200)
    assert got == listed[:20]
    for n in got:
        assert_note(n)


@pytest.mark.parametrize("query,start,stop", [
    ("skip=0&take=20", 0, 20),
    ("skip=20", 20, 24),
    ("skip=3&take=4", 3, 7),
    ("take=100", 0, 24),
    ("take=1", 0, 1),
    ("skip=23&take=100", 23, 24),
    ("skip=24", 24, 24),
    ("skip=1000000", 24, 24),
    ("take=5&skip=2", 2, 7),
])
def test_list_skip_take(api, listed, query, start, stop):
    for path in (f"/notes/?{query}", f"/notes?{query}"):
        assert assert_json(api.get(path), 200) == listed[start:stop], path


def test_list_is_empty_array_when_no_notes(api):
    delete_all(api)
    assert_json(api.get("/notes/"), 200, [])


@pytest.mark.parametrize("query,errors", [
    ("skip=-1", [("greater_than_equal", ["query", "skip"])]),
    ("take=0", [("greater_than_equal", ["query", "take"])]),
    ("take=-5", [("greater_than_equal", ["query", "take"])]),
    ("take=101", [("less_than_equal", ["query", "take"])]),
    ("take=abc", [("int_parsing", ["query", "take"])]),
    ("skip=abc", [("int_parsing", ["query", "skip"])]),
    ("skip=1.5", [("int_parsing", ["query", "skip"])]),
    ("take=99999999999999999999999", [("less_than_equal", ["query", "take"])]),
    ("take=1e3", [("int_parsing", ["query", "take"])]),
    ("skip=-1&take=101", [("greater_than_equal", ["query", "skip"]), ("less_than_equal", ["query", "take"])]),
])
def test_list_bounds_are_422(api, query, errors):
    assert_validation(api.get(f"/notes/?{query}"), *errors)
    assert_validation(api.get(f"/notes?{query}"), *errors)


# ---------------------------------------------------------------------------------------------- never a 500


# (nginx itself answers 400 to a path with %00 or a malformed escape; test_worker.py sends those to a worker)
ODD_REQUESTS = [
    ("GET", "/notes/?skip=1&skip=2", None),
    ("GET", "/notes/?take=%zz", None),
    ("GET", "/notes/?skip=%00", None),
    ("GET", "/notes/?" + "x=1&" * 2000, None),
    ("GET", "/notes/" + "9" * 4000 + "/", None),
    ("POST", "/notes/", b'{"text": "\\ud800", "completed": true}'),
    ("POST", "/notes/", b'{"text": "\\udc00\\ud800", "completed": true}'),
    ("POST", "/notes/", b'{"text": "a", "completed": true, "deep": ' + b"[" * 100000 + b"]" * 100000 + b"}"),
    ("POST", "/notes/", b"[" * 200000 + b"]" * 200000),
    ("POST", "/notes/", b'{"text": "a", "completed": true, "n": 1e999999}'),
    ("POST", "/notes/", b'{"text": "a", "text": "b", "completed": true}'),
    ("POST", "/notes/", b'\xef\xbb\xbf{"text": "bom", "completed": true}'),
    ("POST", "/notes/", b'{"text": "a", "completed": true}\x00'),
    ("POST", "/notes/", b"\x00"),
    ("PUT", "/notes/1/", b'{"text": "\\ud800", "completed": true}'),
]


@pytest.mark.parametrize("method,path,body", ODD_REQUESTS, ids=range(len(ODD_REQUESTS)))
def test_client_mistakes_are_never_a_500(api_stack, api, method, path, body):
    resp = api.request(method, path, body=body)
    assert resp.status < 500, f"{method} {path[:80]}: {resp!r}"
    assert_json(resp, resp.status)
    log = api_stack.supervisor.log()
    assert not re.search(r"\b(exited|killed)\b", log), f"a worker died:\n{log}"

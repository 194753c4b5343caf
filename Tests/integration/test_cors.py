"""CORS, owned entirely by nginx: preflight and headers in the default (allow-all) and allowlist policies.

The workers send no CORS headers themselves (checked directly over FastCGI in test_worker.py); here an
exactly-once Access-Control-Allow-Origin shows that nothing upstream adds a second one."""

import pytest

from harness.contract import EXPOSED_HEADERS, MAX_ID

GOOD = "https://good.example"
GOOD2 = "https://also-good.example"
OTHERS = ["https://evil.example", "http://good.example", "https://good.example.evil.example",
          "https://sub.good.example", "https://good.example:8443", "null"]
ALL_METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
# What a browser's script may read besides the simple response headers, in csv_set's upper case.
EXPOSED = {header.upper() for header in EXPOSED_HEADERS}


@pytest.fixture(scope="module")
def cors_stack(module_launcher):
    return module_launcher.stack("cors", workers=2)


@pytest.fixture(scope="module")
def default(cors_stack):
    return cors_stack.client


@pytest.fixture(scope="module")
def allowlist(cors_stack):
    return cors_stack.add_nginx(cors_origins=f"{GOOD} {GOOD2}", name="nginx-allowlist")


def exchanges(client, origin):
    """A request of every kind of outcome, 2xx and errors, from ``origin`` (None: no Origin header)."""
    h = {"Origin": origin} if origin else {}
    body = {"text": "cors", "completed": False}
    created = client.post("/notes/", body, headers=h)
    assert created.status == 201, created
    note_id = created.json()["id"]
    out = [
        ("list", 200, client.get("/notes/", headers=h)),
        ("create", 201, created),
        ("get", 200, client.get(f"/notes/{note_id}/", headers=h)),
        ("update", 200, client.put(f"/notes/{note_id}/", body, headers=h)),
        ("note not found", 404, client.get(f"/notes/{MAX_ID}/", headers=h)),
        ("unknown path", 404, client.get("/notes/1/nothing", headers=h)),
        ("bad id", 422, client.get("/notes/abc/", headers=h)),
        ("bad body", 422, client.post("/notes/", {"text": 1}, headers=h)),
        ("bad query", 422, client.get("/notes/?take=0", headers=h)),
        ("wrong method", 405, client.request("PATCH", "/notes/", json_body=body, headers=h)),
        ("not json", 422, client.post("/notes/", body, content_type="text/plain", headers=h)),
        ("undecodable body", 400, client.post("/notes/", body=b"\xff", headers=h)),
        ("too large", 413, client.post("/notes/", body=b"{" + b" " * (1024 * 1024) + b"}", headers=h)),
        ("delete", 200, client.delete(f"/notes/{note_id}/", headers=h)),
    ]
    for label, status, resp in out:
        assert resp.status == status, f"{label}: expected {status}, got {resp!r}"
    return out


def preflight(client, origin, path="/notes/", method="PUT", req_headers="content-type, x-requested-with"):
    h = {"Access-Control-Request-Method": method}
    if origin:
        h["Origin"] = origin
    if req_headers:
        h["Access-Control-Request-Headers"] = req_headers
    return client.options(path, headers=h)


def vary_tokens(resp):
    return {t.strip().lower() for v in resp.header_values("Vary") for t in v.split(",") if t.strip()}


def csv_set(value):
    return {t.strip().upper() for t in (value or "").split(",") if t.strip()}


# ---------------------------------------------------------------------------------------------- default policy


@pytest.mark.parametrize("origin", ["https://anything.example", "null", None])
def test_default_policy_allows_any_origin_without_credentials(default, origin):
    for label, _status, resp in exchanges(default, origin):
        assert resp.header("Access-Control-Allow-Origin") == "*", f"{label}: {resp!r}"
        assert resp.header("Access-Control-Allow-Credentials") is None, f"{label}: {resp!r}"
        assert csv_set(resp.header("Access-Control-Expose-Headers")) == EXPOSED, f"{label}: {resp!r}"


@pytest.mark.parametrize("path", ["/notes/", "/notes", "/notes/1/", "/notes/1"])
def test_default_preflight_is_answered_by_nginx(default, path):
    resp = preflight(default, "https://anything.example", path)
    assert resp.status == 204, resp
    assert resp.body == b""
    assert resp.header("Access-Control-Allow-Origin") == "*"
    assert resp.header("Access-Control-Allow-Credentials") is None
    assert csv_set(resp.header("Access-Control-Allow-Methods")) == ALL_METHODS, resp
    assert csv_set(resp.header("Access-Control-Allow-Headers")) == {"CONTENT-TYPE", "X-REQUESTED-WITH"}, resp
    assert resp.header("Access-Control-Max-Age") == "86400", resp


def test_default_preflight_echoes_other_request_headers(default):
    resp = preflight(default, "https://anything.example", method="DELETE", req_headers="authorization, x-custom-1")
    assert resp.status == 204, resp
    assert csv_set(resp.header("Access-Control-Allow-Headers")) == {"AUTHORIZATION", "X-CUSTOM-1"}, resp


# ---------------------------------------------------------------------------------------------- allowlist policy


@pytest.mark.parametrize("origin", [GOOD, GOOD2])
def test_allowlist_echoes_allowed_origin_with_credentials(allowlist, origin):
    for label, _status, resp in exchanges(allowlist, origin):
        assert resp.header("Access-Control-Allow-Origin") == origin, f"{label}: {resp!r}"
        assert resp.header("Access-Control-Allow-Credentials") == "true", f"{label}: {resp!r}"
        assert "origin" in vary_tokens(resp), f"{label}: no Vary: Origin in {resp!r}"
        assert csv_set(resp.header("Access-Control-Expose-Headers")) == EXPOSED, f"{label}: {resp!r}"


@pytest.mark.parametrize("origin", OTHERS + [None])
def test_allowlist_gives_other_origins_no_cors_headers(allowlist, origin):
    for label, _status, resp in exchanges(allowlist, origin):
        assert resp.cors_headers() == {}, f"{label} from {origin}: {resp!r}"


@pytest.mark.parametrize("path", ["/notes/", "/notes/1"])
def test_allowlist_preflight_for_allowed_origin(allowlist, path):
    resp = preflight(allowlist, GOOD, path)
    assert resp.status == 204, resp
    assert resp.header("Access-Control-Allow-Origin") == GOOD
    assert resp.header("Access-Control-Allow-Credentials") == "true"
    assert "origin" in vary_tokens(resp), resp
    assert csv_set(resp.header("Access-Control-Allow-Methods")) == ALL_METHODS, resp
    assert csv_set(resp.header("Access-Control-Allow-Headers")) == {"CONTENT-TYPE", "X-REQUESTED-WITH"}, resp
    assert resp.header("Access-Control-Max-Age") == "86400", resp


@pytest.mark.parametrize("origin", OTHERS)
def test_allowlist_preflight_for_other_origin_has_no_cors_headers(allowlist, origin):
    resp = preflight(allowlist, origin)
    assert resp.status < 500, resp
    assert resp.cors_headers() == {}, resp


def test_policies_do_not_leak_into_each_other(default, allowlist):
    # the default nginx still answers "*" after the allowlist one started from the same shipped file
    resp = default.get("/notes/", headers={"Origin": GOOD})
    assert resp.status == 200 and resp.header("Access-Control-Allow-Origin") == "*", resp
    assert resp.header("Access-Control-Allow-Credentials") is None, resp

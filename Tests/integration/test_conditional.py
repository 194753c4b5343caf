"""Conditional requests (RFC 9110 §13, issue 17 point 3) through nginx: ETag on every note, author, article and
page; If-None-Match answers 304 with no body; If-Match makes a write fail with 412 when the resource changed, and
is checked by the write itself, so two clients writing with one tag cannot both succeed; the CORS headers let a
browser read ETag, Link and X-Total-Count."""

import html
import http.server
import json
import os
import re
import shutil
import signal
import subprocess
import threading

import pytest

from harness.api import create_article, create_author
from harness.assertions import assert_json
from harness.contract import EXPOSED_HEADERS, MAX_ID
from harness.processes import child_env, free_port, make_dir

PRECONDITION_FAILED = {"detail": "Precondition Failed"}


@pytest.fixture(scope="module")
def cond_stack(module_launcher):
    return module_launcher.stack("conditional", workers=2)


@pytest.fixture(scope="module")
def api(cond_stack):
    return cond_stack.client


def etag(resp) -> str:
    tag = resp.header("ETag")
    assert tag and tag.startswith('"') and tag.endswith('"') and not tag.startswith("W/"), resp
    return tag


def assert_not_modified(resp, tag):
    assert resp.status == 304, resp
    assert resp.body == b"", resp
    assert resp.header("ETag") == tag, resp


def assert_precondition_failed(resp):
    assert assert_json(resp, 412) == PRECONDITION_FAILED


# ---------------------------------------------------------------------------------------------- reads


def test_get_gives_a_strong_etag_and_if_none_match_answers_304_without_body(api):
    created = api.post("/notes/", {"text": "tagged", "completed": False})
    tag = etag(created)
    note_id = created.json()["id"]
    got = api.get(f"/notes/{note_id}/")
    assert assert_json(got, 200) == created.json()
    assert etag(got) == tag, "a create answers with the tag a read then gives"
    for header in (tag, f"W/{tag}", f'"nope", {tag}', "*", f' "x" ,W/{tag} '):
        assert_not_modified(api.get(f"/notes/{note_id}/", headers={"If-None-Match": header}), tag)
    for header in ('"nope"', 'W/"nope"', "garbage"):
        assert assert_json(api.get(f"/notes/{note_id}/", headers={"If-None-Match": header}), 200) == created.json()


def test_a_change_makes_the_old_tag_stale(api):
    note = api.create_note("before")
    first = etag(api.get(f"/notes/{note['id']}/"))
    put = api.put(f"/notes/{note['id']}/", {"text": "after", "completed": True})
    second = etag(put)
    assert second != first
    assert etag(api.get(f"/notes/{note['id']}/")) == second
    after = api.get(f"/notes/{note['id']}/", headers={"If-None-Match": first})
    assert assert_json(after, 200)["text"] == "after"
    patched = api.patch(f"/notes/{note['id']}/", {"completed": False})
    assert etag(patched) not in (first, second)


def test_an_empty_patch_changes_nothing_not_even_the_tag(api):
    note = api.create_note("stays")
    tag = etag(api.get(f"/notes/{note['id']}/"))
    resp = api.patch(f"/notes/{note['id']}/", {}, headers={"If-Match": tag})
    assert assert_json(resp, 200) == note
    assert etag(resp) == tag


def test_a_missing_note_is_404_whatever_the_conditions(api):
    for headers in ({"If-None-Match": "*"}, {"If-None-Match": '"1"'}):
        assert api.get(f"/notes/{MAX_ID}/", headers=headers).status == 404
    for headers in ({"If-Match": "*"}, {"If-Match": '"1"'}):
        assert api.put(f"/notes/{MAX_ID}/", {"text": "x", "completed": False}, headers=headers).status == 404
        assert api.patch(f"/notes/{MAX_ID}/", {"text": "x"}, headers=headers).status == 404
        assert api.delete(f"/notes/{MAX_ID}/", headers=headers).status == 404


# ---------------------------------------------------------------------------------------------- writes


def test_if_match_with_the_current_tag_writes_and_a_stale_one_is_412(api):
    note = api.create_note("v1")
    tag = etag(api.get(f"/notes/{note['id']}/"))
    ok = api.put(f"/notes/{note['id']}/", {"text": "v2", "completed": False}, headers={"If-Match": tag})
    assert assert_json(ok, 200)["text"] == "v2"
    stale = api.put(f"/notes/{note['id']}/", {"text": "v3", "completed": False}, headers={"If-Match": tag})
    assert_precondition_failed(stale)
    assert_precondition_failed(api.patch(f"/notes/{note['id']}/", {"text": "v3"}, headers={"If-Match": tag}))
    assert_precondition_failed(api.patch(f"/notes/{note['id']}/", {}, headers={"If-Match": tag}))
    # The weak comparison is not enough for If-Match.
    assert_precondition_failed(api.put(f"/notes/{note['id']}/", {"text": "v3", "completed": False},
                                       headers={"If-Match": f"W/{etag(ok)}"}))
    assert api.get(f"/notes/{note['id']}/").json()["text"] == "v2"
    listed = api.patch(f"/notes/{note['id']}/", {"text": "v3"}, headers={"If-Match": f'"0", {etag(ok)}'})
    assert assert_json(listed, 200)["text"] == "v3"
    assert assert_json(api.put(f"/notes/{note['id']}/", {"text": "v4", "completed": True},
                               headers={"If-Match": "*"}), 200)["text"] == "v4"


def test_delete_with_a_stale_tag_is_412_and_the_note_stays(api):
    note = api.create_note("keep me")
    tag = etag(api.get(f"/notes/{note['id']}/"))
    api.patch(f"/notes/{note['id']}/", {"text": "changed"})
    assert_precondition_failed(api.delete(f"/notes/{note['id']}/", headers={"If-Match": tag}))
    assert assert_json(api.get(f"/notes/{note['id']}/"), 200)["text"] == "changed"
    current = etag(api.get(f"/notes/{note['id']}/"))
    assert api.delete(f"/notes/{note['id']}/", headers={"If-Match": current}).status == 200
    assert api.get(f"/notes/{note['id']}/").status == 404


def test_if_match_star_means_the_note_exists(api):
    note = api.create_note("star")
    assert api.delete(f"/notes/{note['id']}/", headers={"If-Match": "*"}).status == 200
    assert api.delete(f"/notes/{note['id']}/", headers={"If-Match": "*"}).status == 404
    assert api.put(f"/notes/{note['id']}/", {"text": "x", "completed": False}, headers={"If-Match": "*"}).status == 404


def test_concurrent_writes_with_one_tag_one_wins_the_other_is_412_and_nothing_is_lost(cond_stack):
    api = cond_stack.client
    note = api.create_note("round 0")
    rounds = 40
    for n in range(1, rounds + 1):
        tag = etag(api.get(f"/notes/{note['id']}/"))
        barrier = threading.Barrier(2)
        answers = [None, None]

        def write(i):
            barrier.wait()
            answers[i] = api.put(f"/notes/{note['id']}/", {"text": f"round {n} by {i}", "completed": bool(i)},
                                 headers={"If-Match": tag})

        threads = [threading.Thread(target=write, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        statuses = sorted(a.status for a in answers)
        assert statuses == [200, 412], f"round {n}: {answers}"
        winner = next(i for i, a in enumerate(answers) if a.status == 200)
        assert_precondition_failed(answers[1 - winner])
        now = api.get(f"/notes/{note['id']}/")
        assert now.json()["text"] == f"round {n} by {winner}", f"round {n}: the winner's write was lost: {now}"
        assert etag(now) == etag(answers[winner])


def test_blog_resources_carry_tags_and_honour_conditions(api):
    author = create_author(api)
    got = api.get(f"/authors/{author['id']}")
    tag = etag(got)
    assert_not_modified(api.get(f"/authors/{author['id']}", headers={"If-None-Match": tag}), tag)
    article = create_article(api, author["id"])
    atag = etag(api.get(f"/articles/{article['id']}"))
    assert_not_modified(api.get(f"/articles/{article['id']}", headers={"If-None-Match": atag}), atag)
    assert_precondition_failed(api.delete(f"/articles/{article['id']}", headers={"If-Match": '"999"'}))
    assert_precondition_failed(api.delete(f"/authors/{author['id']}", headers={"If-Match": '"999"'}))
    assert api.get(f"/articles/{article['id']}").status == 200, "a refused author delete deleted the articles"
    assert api.delete(f"/articles/{article['id']}", headers={"If-Match": atag}).status == 204
    assert api.delete(f"/authors/{author['id']}", headers={"If-Match": tag}).status == 204
    assert api.delete(f"/authors/{author['id']}", headers={"If-Match": "*"}).status == 404


# ---------------------------------------------------------------------------------------------- lists


def test_a_page_has_a_tag_that_changes_with_its_rows_and_total(api):
    for _ in range(3):
        api.create_note("listed")
    path = "/notes/?skip=0&take=100"
    page = api.get(path)
    tag = etag(page)
    assert_not_modified(api.get(path, headers={"If-None-Match": tag}), tag)
    api.create_note("one more")
    after = api.get(path, headers={"If-None-Match": tag})
    assert after.status == 200 and etag(after) != tag
    tag = etag(after)
    some = after.json()[0]
    api.patch(f"/notes/{some['id']}/", {"text": "edited"})
    edited = api.get(path, headers={"If-None-Match": tag})
    assert edited.status == 200 and etag(edited) != tag
    # A page past the end has a tag too, which the total decides.
    empty = api.get("/notes/?skip=100000&take=5")
    assert_not_modified(api.get("/notes/?skip=100000&take=5", headers={"If-None-Match": etag(empty)}), etag(empty))


def test_blog_pages_have_tags_and_whole_collections_are_answered_in_full(api):
    create_author(api)
    page = api.get("/authors?take=10")
    tag = etag(page)
    assert_not_modified(api.get("/authors?take=10", headers={"If-None-Match": tag}), tag)
    whole = api.get("/authors", headers={"If-None-Match": "*"})
    assert whole.status == 200 and whole.json(), "a streamed collection has no tag and ignores If-None-Match"
    assert whole.header("ETag") is None


# ---------------------------------------------------------------------------------------------- CORS


def test_cors_exposes_the_tag_the_links_and_the_total(api):
    note = api.create_note("cors")
    for resp in (api.get("/notes/", headers={"Origin": "https://app.example"}),
                 api.get(f"/notes/{note['id']}/", headers={"Origin": "https://app.example"}),
                 api.get(f"/notes/{MAX_ID}/", headers={"Origin": "https://app.example"})):
        exposed = {t.strip().lower() for t in (resp.header("Access-Control-Expose-Headers") or "").split(",")}
        assert EXPOSED_HEADERS <= exposed, resp
    pre = api.options(f"/notes/{note['id']}/", headers={
        "Origin": "https://app.example", "Access-Control-Request-Method": "PUT",
        "Access-Control-Request-Headers": "if-match, if-none-match, content-type"})
    assert pre.status == 204
    allowed = {t.strip().lower() for t in (pre.header("Access-Control-Allow-Headers") or "").split(",")}
    assert {"if-match", "if-none-match"} <= allowed, pre


# A page of another origin (another port) whose script reads the tag and the total, then writes with If-Match: the
# preflight must allow the header and the answers must expose ETag, or the script sees null.
BROWSER_PAGE = """<!doctype html><html><body><pre id="out">pending</pre><script>
const api = %s, out = document.getElementById("out");
(async () => {
  const list = await fetch(api + "/notes/?take=1");
  const note = await (await fetch(api + "/notes/", {method: "POST", headers: {"Content-Type": "application/json"},
                                                  body: JSON.stringify({text: "from a browser", completed: false})})).json();
  const got = await fetch(api + "/notes/" + note.id + "/");
  const tag = got.headers.get("ETag");
  const put = body => fetch(api + "/notes/" + note.id + "/", {method: "PUT", headers: {"Content-Type": "application/json",
                                                            "If-Match": tag}, body: JSON.stringify(body)});
  const first = await put({text: "first", completed: true}), second = await put({text: "second", completed: true});
  out.textContent = JSON.stringify({listTag: list.headers.get("ETag"), total: list.headers.get("X-Total-Count"), tag,
                                    first: first.status, newTag: first.headers.get("ETag"), second: second.status});
})().catch(e => { out.textContent = "failed: " + e; });
</script></body></html>"""


def chromium_binary() -> str:
    # The binary itself rather than Debian's /usr/bin/chromium wrapper, as test_openapi.py runs it.
    for candidate in ("/usr/lib/chromium/chromium", shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    pytest.fail("chromium is not installed: run scripts/install-deps")


def test_a_browser_script_reads_the_tag_and_the_total_cross_origin(cond_stack):
    api = cond_stack.client
    api.create_note("so the list is not empty")
    page = (BROWSER_PAGE % json.dumps(f"http://127.0.0.1:{api.port}")).encode()

    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    workdir = make_dir(cond_stack.dir / "chromium")
    cmd = [chromium_binary(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
           f"--user-data-dir={make_dir(workdir / 'profile')}", "--incognito", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-extensions",
           "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
           f"--proxy-server=http://127.0.0.1:{free_port()}", "--proxy-bypass-list=127.0.0.1",
           "--virtual-time-budget=15000", "--dump-dom", f"http://127.0.0.1:{server.server_address[1]}/"]
    try:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                env=child_env(HOME=str(workdir)), start_new_session=True)
        try:
            dom, _ = proc.communicate(timeout=90)
        finally:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
    finally:
        server.shutdown()
    found = re.search(r'<pre id="out">(.*?)</pre>', dom.decode("utf-8", "replace"), re.S)
    assert found, dom[:2000]
    text = html.unescape(found.group(1))
    assert text.startswith("{"), text
    seen = json.loads(text)
    assert seen["listTag"] and seen["total"] and int(seen["total"]) >= 1, seen
    assert seen["tag"] and seen["tag"].startswith('"'), seen
    assert (seen["first"], seen["second"]) == (200, 412), seen
    assert seen["newTag"] and seen["newTag"] != seen["tag"], seen

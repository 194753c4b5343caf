"""The OpenAPI document and the interactive documentation (issue 4), through nginx on a live stack.

- GET /openapi.json: an OpenAPI 3.1 document that openapi-spec-validator accepts, describing the contract's
  operations at their canonical paths.
- schemathesis (PyPI, pinned in scripts/install-deps) runs every phase with every check against the live stack
  and must find nothing.
- /docs/: Swagger UI served by nginx from files installed from the PyPI package swagger-ui-py, loading nothing
  from any other host; a headless Chromium renders it, and the operations it lists are the document's.
"""

import html.parser
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from harness.assertions import assert_json
from harness.contract import CONTRACT_OPERATIONS, OPTIONAL_OPERATIONS
from harness.processes import REPO_ROOT, SCRIPTS_DIR, child_env, free_port, make_dir, run

DOCS_UI_PAGE = REPO_ROOT / "docs-ui" / "index.html"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

SCHEMATHESIS_MAX_EXAMPLES = 50
SCHEMATHESIS_SEED = int(os.environ.get("NOTES_SCHEMATHESIS_SEED", "4242"))
SCHEMATHESIS_TIMEOUT = 240  # seconds; a run takes about 15 on the 2-core machine
CHROMIUM_TIMEOUT = 90


@pytest.fixture(scope="module")
def docs_stack(module_launcher):
    s = module_launcher.stack("openapi", workers=2)
    seed_data(s.client)
    return s


@pytest.fixture(scope="module")
def api(docs_stack):
    return docs_stack.client


@pytest.fixture(scope="module")
def document(api) -> dict:
    resp = api.get("/openapi.json")
    return assert_json(resp, 200)


def seed_data(api) -> None:
    """Some authors, articles and notes, so that the ids schemathesis and the examples use (1, 2, ...) exist."""
    for i in range(1, 4):
        r = api.post("/authors", {"first_name": f"First {i}", "last_name": f"Last {i}"})
        assert r.status == 201, r
    for i in range(1, 6):
        r = api.post("/articles", {"title": f"Title {i}", "content": f"Content {i}", "author_id": 1 + i % 3})
        assert r.status == 201, r
    for i in range(1, 6):
        api.create_note(f"note {i}", i % 2 == 0)


def operations(document: dict) -> set[tuple[str, str]]:
    return {(method.upper(), path) for path, item in document["paths"].items()
            for method in item if method in HTTP_METHODS}


def media_type(resp) -> str:
    return (resp.header("Content-Type") or "").split(";")[0].strip().lower()


# ---------------------------------------------------------------------------------------------- /openapi.json


def test_openapi_json_is_served_as_json_and_is_valid(api):
    from openapi_spec_validator import validate

    resp = api.get("/openapi.json")
    doc = assert_json(resp, 200)
    assert isinstance(doc, dict) and str(doc.get("openapi", "")).startswith("3.1."), \
        f"not an OpenAPI 3.1 document: openapi = {doc.get('openapi')!r}"
    validate(doc)  # raises with the first problem it finds
    # the same document again, and with the trailing slash (optional on every path)
    assert api.get("/openapi.json").body == resp.body
    again = api.get("/openapi.json/")
    assert again.status == 200 and again.body == resp.body, again


def test_document_describes_the_contract_operations(document):
    documented = operations(document)
    missing = CONTRACT_OPERATIONS - documented
    extra = documented - CONTRACT_OPERATIONS - OPTIONAL_OPERATIONS
    assert not missing, f"operations of the contract missing from /openapi.json: {sorted(missing)}"
    assert not extra, f"operations in /openapi.json that the contract does not have: {sorted(extra)}"


def sample_path(path: str) -> str:
    """A concrete path for a templated one: every {param} becomes 1."""
    return re.sub(r"\{[^}]+\}", "1", path)


def test_nginx_405s_name_the_documented_methods(api, document):
    """nginx answers TRACE itself (before any location): 405 with an Allow header that names the methods the
    document gives the path, the same set the workers' own 405 names (nginx/notes.conf keeps a copy)."""
    for path, item in document["paths"].items():
        documented = {m.upper() for m in item if m in HTTP_METHODS}
        for concrete in {sample_path(path), sample_path(path).rstrip("/"), sample_path(path).rstrip("/") + "/"}:
            resp = api.request("TRACE", concrete)
            assert_json(resp, 405, {"detail": "Method Not Allowed"})
            allow = {m.strip() for m in (resp.header("Allow") or "").split(",") if m.strip()}
            assert allow == documented, f"TRACE {concrete}: Allow {allow}, documented {documented}"
            assert resp.header("Access-Control-Allow-Origin") == "*", resp
            unused = next(m for m in ("PUT", "POST", "DELETE", "PATCH") if m not in documented)
            worker = api.request(unused, concrete, json_body={})
            assert worker.status == 405, f"{unused} {concrete}: {worker!r}"
            worker_allow = {m.strip() for m in (worker.header("Allow") or "").split(",") if m.strip()}
            assert worker_allow == allow, f"{concrete}: the worker allows {worker_allow}, nginx says {allow}"
    assert_json(api.request("TRACE", "/no-such-route"), 404, {"detail": "Not Found"})


# ---------------------------------------------------------------------------------------------- schemathesis


IF_MATCH_OPERATIONS = ("replaceNote", "updateNote", "deleteNote", "deleteAuthor", "deleteArticle")
# Reads of a seeded row that other generated requests may take away first: an author's delete takes their articles
# with them (the blog's cascade), and with the seed fixed, whether any article outlives the authors' deletes
# depends on the document's other operations. A run that finds none gets only 404s here, which is the right answer.
MAY_FIND_NOTHING_OPERATIONS = ("getArticle",)
# Lists whose `cursor` is any base64url text to the schema, while only one the API issued, for the same list and with
# no contradicting order, filter, search or skip, is accepted (issue 17 point 4): a 422 is a right answer to
# schema-valid data there, as 412 is to an If-Match. Their other parameters' validation is test_search_order.py's.
CURSOR_OPERATIONS = ("listNotes", "listAuthors", "listArticles")
ACCEPTED = '"2xx", "3xx", "401", "403", "404", "409", "412", "429", "5xx"'


def test_schemathesis_finds_nothing(docs_stack, api, document):
    """Every phase (examples, coverage, fuzzing, stateful) and every check, through nginx. The operation that
    serves the document itself, which schemathesis leaves out by default, is selected explicitly."""
    import schemathesis

    port = docs_stack.nginx.port
    workdir = make_dir(docs_stack.dir / "schemathesis")
    # A schema-valid If-Match names a tag the resource may not have: 412 is a right answer to valid data (RFC 9110
    # §13.1.1), as 404 and 409 are. The writes that take it answer 412 to most generated tags, which schemathesis
    # would otherwise report as data its generator gets wrong (validation_mismatch, missing_test_data): those two
    # warnings are off for them alone. Schemathesis reads schemathesis.toml from its working directory.
    (workdir / "schemathesis.toml").write_text(
        '[checks.positive_data_acceptance]\n'
        f'expected-statuses = [{ACCEPTED}]\n'
        + "".join(f'\n[[operations]]\ninclude-operation-id = "{operation}"\n'
                  f'checks.positive_data_acceptance.expected-statuses = [{ACCEPTED}, "422"]\n'
                  for operation in CURSOR_OPERATIONS)
        + "".join(f'\n[[operations]]\ninclude-operation-id = "{operation}"\n'
                  'warnings = { display = ["missing_auth", "missing_deserializer", "unused_openapi_auth", '
                  '"method_not_allowed"] }\n'
                  for operation in IF_MATCH_OPERATIONS + MAY_FIND_NOTHING_OPERATIONS))
    cmd = [sys.executable, "-m", "schemathesis.cli", "run", f"http://127.0.0.1:{port}/openapi.json",
           "--include-path-regex", "^/",
           "--checks", "all",
           "--max-examples", str(SCHEMATHESIS_MAX_EXAMPLES),
           "--seed", str(SCHEMATHESIS_SEED),
           "--workers", "1",
           "--request-timeout", "20",
           "--generation-database", "none",
           "--no-color",
           "--report", "junit", "--report-dir", str(workdir / "report")]
    proc = subprocess.Popen(cmd, cwd=workdir, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=child_env(), start_new_session=True)
    try:
        output, _ = proc.communicate(timeout=SCHEMATHESIS_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        output, _ = proc.communicate()
        pytest.fail(f"schemathesis did not finish within {SCHEMATHESIS_TIMEOUT}s:\n{output[-20000:]}")
    version = getattr(schemathesis, "__version__", "?")
    assert proc.returncode == 0, (
        f"schemathesis {version} (seed {SCHEMATHESIS_SEED}) found problems, exit code {proc.returncode}:\n"
        f"{output[-25000:]}\n--- supervisor log:\n{docs_stack.supervisor.log()[-3000:]}")
    selected = re.search(r"Operations:\s+(\d+) selected / (\d+) total", output)
    assert selected and selected.group(1) == selected.group(2) == str(len(operations(document))), \
        f"schemathesis did not test every operation:\n{output[:3000]}"
    assert "No issues found" in output, output[-5000:]


# ---------------------------------------------------------------------------------------------- /docs


def test_docs_redirects_to_docs_slash(api):
    resp = api.get("/docs")
    assert resp.status == 301, resp
    assert resp.header("Location") in ("/docs/", f"http://127.0.0.1:{api.port}/docs/"), resp


@pytest.mark.parametrize("path,ctype", [
    ("/docs/", "text/html"),
    ("/docs/index.html", "text/html"),
    ("/docs/swagger-ui-bundle.js", "application/javascript"),
    ("/docs/swagger-ui.css", "text/css"),
    ("/docs/favicon-32x32.png", "image/png"),
    ("/docs/favicon-16x16.png", "image/png"),
    ("/docs/swagger-ui-LICENSE.txt", "text/plain"),
])
def test_docs_assets_are_served_with_their_content_types(api, path, ctype):
    resp = api.get(path)
    assert resp.status == 200, resp
    assert media_type(resp) == ctype, f"{path}: Content-Type {resp.header('Content-Type')!r}, expected {ctype}"
    assert len(resp.body) > 0, resp
    # the server-level CORS headers still apply (the location adds no header of its own)
    assert resp.header("Access-Control-Allow-Origin") == "*", resp
    head = api.request("HEAD", path)
    assert head.status == 200 and media_type(head) == ctype, head


def test_docs_files_come_from_the_installed_package(api):
    dist = Path(run([SCRIPTS_DIR / "docs-assets", "locate"], timeout=60).stdout.strip())
    for name in ("swagger-ui-bundle.js", "swagger-ui.css"):
        assert api.get(f"/docs/{name}").body == (dist / name).read_bytes(), f"/docs/{name} differs from {dist}"
    assert api.get("/docs/").body == DOCS_UI_PAGE.read_bytes()


def test_docs_missing_file_and_other_methods(api):
    assert_json(api.get("/docs/no-such-file.js"), 404, {"detail": "Not Found"})
    resp = api.post("/docs/index.html", {"x": 1})
    assert_json(resp, 405, {"detail": "Method Not Allowed"})
    assert resp.header("Allow") == "GET, HEAD", resp
    preflight = api.options("/docs/", headers={"Origin": "https://app.example.com",
                                               "Access-Control-Request-Method": "GET"})
    assert preflight.status == 204 and preflight.header("Access-Control-Allow-Origin") == "*", preflight


FOREIGN_URL = re.compile(r"""https?://(?!127\.0\.0\.1[:/"'\s])[^\s"'<>)]+""")


def test_docs_page_refers_to_no_other_host(api):
    for name, text in (("docs-ui/index.html", DOCS_UI_PAGE.read_text()),
                       ("GET /docs/", api.get("/docs/").body.decode("utf-8"))):
        assert not FOREIGN_URL.findall(text), f"{name} names another host: {FOREIGN_URL.findall(text)}"
        # what it loads, it loads from /docs/ itself, and the document from /openapi.json
        refs = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", text)
        assert refs and all(not re.match(r"^[a-z]+:|^//", r) for r in refs), f"{name}: {refs}"
        assert 'url: "/openapi.json"' in text, name
        assert re.search(r"validatorUrl:\s*null", text), f"{name} must switch the online validator off"


class OperationsInDom(html.parser.HTMLParser):
    """The (METHOD, path) pairs of Swagger UI's operation summaries, in document order."""

    def __init__(self):
        super().__init__()
        self.methods: list[str] = []
        self.paths: list[str] = []
        self._in_method = False
        self.text: list[str] = []
        self.classes: set[str] = set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        classes = (attrs.get("class") or "").split()
        self.classes.update(classes)
        if "opblock-summary-method" in classes:
            self._in_method = True
            self.methods.append("")
        if any(c.startswith("opblock-summary-path") for c in classes) and "data-path" in attrs:
            self.paths.append(attrs["data-path"])

    def handle_endtag(self, tag):
        self._in_method = False

    def handle_data(self, data):
        if self._in_method:
            self.methods[-1] += data.strip()
        self.text.append(data)


def chromium_binary() -> str:
    # The binary itself rather than Debian's /usr/bin/chromium wrapper, which exports Google API keys and
    # adds extension flags from /etc/chromium.d.
    for candidate in ("/usr/lib/chromium/chromium", "chromium", "chromium-browser"):
        found = candidate if os.access(candidate, os.X_OK) else None
        if found is None and "/" not in candidate:
            from shutil import which
            found = which(candidate)
        if found:
            return found
    pytest.fail("chromium is not installed: run scripts/install-deps")


def run_chromium(url: str, workdir: Path) -> tuple[str, dict]:
    """Chromium, headless, renders ``url`` and prints the DOM; returns (DOM, net log).

    It reaches no other host: every host name but 127.0.0.1 resolves to nothing inside Chromium itself (no
    DNS query is made), every connection but to 127.0.0.1 goes to a closed local port as "proxy", and its
    background services (updates, sync, sign-in, translation...) are switched off as far as flags allow."""
    profile = make_dir(workdir / "profile")
    netlog = workdir / "netlog.json"
    dead_proxy_port = free_port()
    cmd = [chromium_binary(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
           f"--user-data-dir={profile}", "--incognito", "--no-first-run", "--no-default-browser-check",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--disable-default-apps", "--disable-extensions", "--disable-domain-reliability", "--disable-breakpad",
           "--no-pings", "--metrics-recording-only",
           "--disable-features=SpellCheck,MediaRouter,Translate,NetworkTimeServiceQuerying,OptimizationHints,"
           "OptimizationGuideModelDownloading,OptimizationHintsFetching",
           "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
           f"--proxy-server=http://127.0.0.1:{dead_proxy_port}", "--proxy-bypass-list=127.0.0.1",
           f"--log-net-log={netlog}",
           "--virtual-time-budget=15000", "--dump-dom", url]
    env = child_env(HOME=str(workdir), XDG_CONFIG_HOME=str(workdir / "config"),
                    XDG_CACHE_HOME=str(workdir / "cache"), GOOGLE_API_KEY=None,
                    GOOGLE_DEFAULT_CLIENT_ID=None, GOOGLE_DEFAULT_CLIENT_SECRET=None)
    with open(workdir / "chromium.stderr", "wb") as err:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err, env=env,
                                start_new_session=True)
        try:
            dom, _ = proc.communicate(timeout=CHROMIUM_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            pytest.fail(f"chromium did not finish within {CHROMIUM_TIMEOUT}s")
        finally:
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # its helpers (zygote, renderer), if any outlived it
            except (ProcessLookupError, PermissionError):
                pass
    stderr = (workdir / "chromium.stderr").read_text(errors="replace")
    assert proc.returncode == 0, f"chromium exited with {proc.returncode}:\n{stderr[-3000:]}"
    try:
        log = json.loads(netlog.read_text())
    except ValueError:
        # a net log cut short (Chromium still writing when it ended) lacks the closing brackets
        log = json.loads(netlog.read_text().rstrip().rstrip(",") + "]}")
    return dom.decode("utf-8", "replace"), log


def net_log_requests(log: dict) -> tuple[list[tuple[str, str]], list[str]]:
    """([(url, initiator)] of every URL request, [address] of every TCP connection attempt) in a net log."""
    names = {v: k for k, v in log["constants"]["logEventTypes"].items()}
    requests, connects = [], []
    for event in log["events"]:
        kind, params = names.get(event["type"]), event.get("params") or {}
        if kind == "URL_REQUEST_START_JOB" and "url" in params:
            requests.append((params["url"], params.get("initiator", "")))
        elif kind == "TCP_CONNECT_ATTEMPT" and "address" in params:
            connects.append(params["address"])
    return requests, connects


def test_chromium_renders_every_operation(docs_stack, api, document):
    base = f"http://127.0.0.1:{api.port}"
    workdir = make_dir(docs_stack.dir / "chromium")
    dom, log = run_chromium(f"{base}/docs/", workdir)

    parser = OperationsInDom()
    parser.feed(dom)
    assert parser.methods and len(parser.methods) == len(parser.paths), \
        f"no operation list rendered (methods {parser.methods}, paths {parser.paths}):\n{dom[:3000]}"
    rendered = set(zip(parser.methods, parser.paths))
    assert len(rendered) == len(parser.methods), f"an operation is listed twice: {list(zip(parser.methods, parser.paths))}"
    assert rendered == operations(document), \
        f"rendered {sorted(rendered)}\ndocumented {sorted(operations(document))}"
    text = " ".join(parser.text)
    assert document["info"]["title"] in text, "the document's title is not on the page"
    for failure in ("Failed to load API definition", "Unable to render this definition"):
        assert failure not in text, f"Swagger UI reports {failure!r}:\n{text[:3000]}"
    assert "errors-wrapper" not in parser.classes, f"Swagger UI shows errors:\n{text[:3000]}"

    # What the page loaded: itself, Swagger UI's files and the document, all from this nginx.
    requests, connects = net_log_requests(log)
    page_requests = [url for url, initiator in requests if url.startswith(base) or initiator == base]
    foreign = [url for url in page_requests if not url.startswith(base + "/")]
    assert not foreign, f"the page requested other hosts: {foreign}"
    for needed in ("/docs/", "/docs/swagger-ui-bundle.js", "/docs/swagger-ui.css", "/openapi.json"):
        assert base + needed in page_requests, f"the page did not load {needed}: {page_requests}"
    # Nothing reached beyond this machine: every TCP connection Chromium attempted was to 127.0.0.1.
    assert connects and all(a.startswith("127.0.0.1:") for a in connects), \
        f"chromium attempted connections elsewhere: {sorted(set(connects))}"

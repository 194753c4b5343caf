"""notes-worker on its own, as spawn-fcgi would run it: a listening unix socket as fd 0, spoken to over FastCGI
without nginx. Covers what nginx would hide: the worker's own headers and limits, graceful stop while idle and
mid-request, and refusing to start against a database it cannot use."""

import json
import os
import shutil
import signal
import subprocess

import pytest

from harness.assertions import assert_json, assert_note, assert_validation
from harness.fastcgi_client import FastCGIConnection, fastcgi_request
from harness.postgres import migrate
from harness.processes import CRASH_MARKERS, signal_pending, socket_fd_count, wait_until

ONE_MIB = 1024 * 1024
PASSWORD = "S3cretPw-do-not-print"


@pytest.fixture(scope="module")
def db(bin_dir, cluster):
    database = cluster.create_database()
    migrate(bin_dir, database.url)
    return database


@pytest.fixture
def worker(launcher, db):
    w = launcher.worker(db.url)
    w.wait_connected(db)
    return w


def post(address, payload: bytes, **kw):
    return fastcgi_request(address, "POST", "/notes/", body=payload, content_type="application/json", **kw)


def one_line(text: str) -> str:
    lines = [l for l in text.splitlines() if l.strip()]
    assert len(lines) == 1, f"expected exactly one line on stderr, got {len(lines)}:\n{text}"
    for marker in CRASH_MARKERS:
        assert marker not in text, f"{marker!r} in stderr:\n{text}"
    return lines[0]


def test_worker_runs_under_spawn_fcgi(bin_dir, db, tmp_root):
    """The FastCGI convention (listening socket as fd 0) lets spawn-fcgi run a worker without the supervisor."""
    spawn_fcgi = shutil.which("spawn-fcgi")
    assert spawn_fcgi, "spawn-fcgi is missing: scripts/install-deps installs it"
    sock = tmp_root / f"spawn-{os.getpid()}.sock"
    proc = subprocess.Popen([spawn_fcgi, "-n", "-s", str(sock), "-M", "0660", "--", str(bin_dir / "notes-worker")],
                            env={**os.environ, "DATABASE_URL": db.url}, stderr=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: proc.pid in db.worker_backends(), 20,
                   what=lambda: f"the spawn-fcgi worker to connect: {proc.poll()}")
        created = assert_note(assert_json(post(str(sock), b'{"text": "via spawn-fcgi", "completed": false}'), 201))
        assert assert_json(fastcgi_request(str(sock), "GET", f"/notes/{created['id']}/"), 200) == created
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0, proc.stderr.read()


def test_worker_sends_no_cors_headers(worker):
    origin = {"HTTP_ORIGIN": "https://good.example"}
    created = post(worker.socket_path, b'{"text": "direct", "completed": true}', extra=origin)
    note = assert_note(assert_json(created, 201), text="direct", completed=True)
    assert created.cors_headers() == {}, created
    for resp in (fastcgi_request(worker.socket_path, "GET", f"/notes/{note['id']}/", extra=origin),
                 fastcgi_request(worker.socket_path, "GET", "/notes/", query="take=0", extra=origin),
                 fastcgi_request(worker.socket_path, "GET", "/nothing", extra=origin),
                 fastcgi_request(worker.socket_path, "OPTIONS", "/notes/", extra=origin)):
        assert resp.status < 500, resp
        assert resp.cors_headers() == {}, resp
    assert_json(fastcgi_request(worker.socket_path, "GET", "/notes/", query="take=0"), 422)


def test_worker_limits_the_body_itself(worker):
    empty = b'{"text": "", "completed": false}'
    exact = b'{"text": "' + b"w" * (ONE_MIB - len(empty)) + b'", "completed": false}'
    assert len(exact) == ONE_MIB
    assert_note(assert_json(post(worker.socket_path, exact), 201))
    too_big = exact[:-1] + b" }"
    assert_json(post(worker.socket_path, too_big), 413, {"detail": "Request body too large"})
    # the worker is still fine afterwards
    assert_json(fastcgi_request(worker.socket_path, "GET", "/notes/", query="take=1"), 200)


def test_worker_sigterm_while_idle_exits_0_and_closes_its_connection(worker, db):
    os.kill(worker.pid, signal.SIGTERM)
    try:
        code = worker.proc.wait(timeout=15)
    except Exception:
        pytest.fail("worker blocked waiting for a connection ignored SIGTERM (SA_RESTART?)")
    assert code == 0, f"exit code {code}: {worker.stderr()}"
    wait_until(lambda: worker.pid not in db.worker_backends(), 15, what="the worker's backend to disappear")
    for marker in CRASH_MARKERS:
        assert marker not in worker.stderr()


def test_worker_sigterm_mid_request_finishes_the_request(launcher, worker, db):
    payload = json.dumps({"text": "finished after SIGTERM ✓", "completed": True}).encode()
    baseline = socket_fd_count(worker.pid)
    conn = FastCGIConnection(worker.socket_path)
    try:
        conn.begin("POST", "/notes/", content_type="application/json", content_length=len(payload))
        conn.send_stdin(payload[:12])
        wait_until(lambda: socket_fd_count(worker.pid) > baseline, 15, what="the worker to accept the request")
        os.kill(worker.pid, signal.SIGTERM)
        try:  # let the signal be delivered before the rest of the body arrives (not an assertion)
            wait_until(lambda: not signal_pending(worker.pid, signal.SIGTERM), 3)
        except AssertionError:
            pass
        conn.send_stdin(payload[12:])
        conn.end_stdin()
        resp = conn.read_response()
    finally:
        conn.close()
    note = assert_note(assert_json(resp, 201), text="finished after SIGTERM ✓", completed=True)
    code = worker.proc.wait(timeout=15)
    assert code == 0, f"exit code {code}: {worker.stderr()}"
    wait_until(lambda: worker.pid not in db.worker_backends(), 15, what="the worker's backend to disappear")
    # the note was committed
    other = launcher.worker(db.url, name="second-worker")
    other.wait_connected(db)
    assert assert_json(fastcgi_request(other.socket_path, "GET", f"/notes/{note['id']}/"), 200) == note


def test_worker_serves_sequential_requests_on_one_connection(worker, db):
    for i in range(5):
        assert_json(post(worker.socket_path, json.dumps({"text": str(i), "completed": False}).encode()), 201)
    assert_validation(post(worker.socket_path, b'{"text": "a\\u0000", "completed": false}'),
                      ("value_error", ["body", "text"]))
    assert list(db.worker_backends()) == [worker.pid]


@pytest.mark.parametrize("path,query", [("/notes/%00/", ""), ("/notes/%zz/", ""), ("/notes/%/", ""),
                                        ("/notes/\u00e9/", ""), ("/notes/", "skip=%zz"), ("/notes/", "take=%00"),
                                        ("", ""), ("notes", ""), ("/notes/1/%2e%2e/", "")])
def test_worker_answers_malformed_requests_with_json_4xx(worker, path, query):
    resp = fastcgi_request(worker.socket_path, "GET", path, query=query)
    assert 400 <= resp.status < 500, resp
    assert_json(resp, resp.status)
    assert worker.proc.poll() is None


# ---------------------------------------------------------------------------------------------- refusing to start


def test_worker_refuses_an_unmigrated_database(launcher, fresh_db):
    w = launcher.worker(fresh_db.url, name="unmigrated")
    code = w.proc.wait(timeout=20)
    assert code != 0
    line = one_line(w.stderr())
    assert "notes-worker migrate" in line, line
    wait_until(lambda: not fresh_db.worker_backends(), 15, what="no connection to remain")


def test_worker_refuses_a_database_whose_schema_is_behind(launcher, bin_dir, fresh_db):
    migrate(bin_dir, fresh_db.url)
    fresh_db.query("DELETE FROM schema_migrations WHERE version = (SELECT max(version) FROM schema_migrations)")
    w = launcher.worker(fresh_db.url, name="behind")
    code = w.proc.wait(timeout=20)
    assert code != 0
    assert "notes-worker migrate" in one_line(w.stderr())


def test_worker_with_unreachable_database_exits_with_one_line(launcher):
    url = f"postgresql://notes:{PASSWORD}@127.0.0.1:1/notes"
    w = launcher.worker(url, name="unreachable")
    code = w.proc.wait(timeout=30)
    assert code != 0
    line = one_line(w.stderr())
    assert "127.0.0.1" in line and "1" in line, line
    assert PASSWORD not in w.stderr() and PASSWORD not in w.stdout_path.read_text(errors="replace")

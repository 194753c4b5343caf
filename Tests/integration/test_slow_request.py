"""The slow-request log (--slow-request S), as PHP-FPM's slowlog: a request still in hand after S seconds gets
one warning line from the supervisor with its method, path, request id and worker pid, and where it waits:
on PostgreSQL (the statement's name, never its parameters), or in the worker (the worker's stack, read with
ptrace while it stops for a moment). Logging changes nothing: the request goes on and is answered."""

import re
import secrets

from harness.assertions import assert_json, assert_note
from harness.fastcgi import full_request
from harness.fastcgi_client import Peer
from harness.processes import process_alive, wait_until
from harness.stack import hold_request_on_lock
from harness.supervisor import SupervisorOptions

SLOW = re.compile(r"slow request: (\S+) (\S+) \(request id (\S+)\) in worker (\d+) for [\d.]+m?s: (.*)")


def slow_lines(sup) -> list:
    return SLOW.findall(sup.log())


def test_a_request_waiting_on_a_row_lock_is_logged_with_its_statement_and_no_parameters(launcher):
    stack = launcher.stack("slowdb", workers=2, supervisor_options=SupervisorOptions(extra_args=["--slow-request", "1"]))
    sup, db, client = stack.supervisor, stack.db, stack.client
    sup.wait_ready()
    note = client.create_note("before")
    secret = "text-" + secrets.token_hex(8)

    session, put, busy = hold_request_on_lock(launcher, db, client, note["id"], secret)
    try:
        (line,) = wait_until(lambda: slow_lines(sup) or None, 30,
                             what=lambda: f"a slow-request line\n{sup.log()}")
        method, path, request_id, pid, where = line
        assert (method, path, int(pid)) == ("PUT", f"/notes/{note['id']}/", busy), line
        assert re.fullmatch(r"waiting on PostgreSQL for [\d.]+m?s, statement note_update", where), line
        assert re.fullmatch(r"[0-9a-f]{32}", request_id), line
        assert secret not in sup.log(), "a statement's parameters never reach the log"
    finally:
        session.rollback()
        session.close()
    resp = put.result(30)
    assert_note(assert_json(resp, 200), text=secret)
    assert resp.header("X-Request-Id") == request_id, "the id nginx gave the request"
    assert len(slow_lines(sup)) == 1, f"one line per slow request\n{sup.log()}"
    assert process_alive(busy) and busy in sup.worker_pids(), "logging does not touch the worker"


def test_a_worker_blocked_writing_to_a_client_that_does_not_read_is_logged_with_its_stack(launcher):
    # The worker's write deadline is 3 s: the line must come before it gives up on the client.
    stack = launcher.stack("slowwrite", workers=1, supervisor_options=SupervisorOptions(extra_args=["--slow-request", "1"]))
    sup, db = stack.supervisor, stack.db
    (worker,) = sup.wait_ready()
    # A page far larger than a socket's buffers: the worker blocks writing it.
    db.query("INSERT INTO notes (text, completed) SELECT repeat('x', 50000), false FROM generate_series(1, 100)")
    request_id = secrets.token_hex(16)
    peer = Peer(sup.fastcgi_target)
    try:
        assert peer.send(full_request("GET", "/notes/", extra_params={
            "REQUEST_URI": "/notes/?take=100", "QUERY_STRING": "take=100", "REQUEST_ID": request_id}))
        (line,) = wait_until(lambda: slow_lines(sup) or None, 30,
                             what=lambda: f"a slow-request line\n{sup.log()}")
    finally:
        peer.close()
    method, path, logged_id, pid, where = line
    assert (method, path, logged_id, int(pid)) == ("GET", "/notes/", request_id, worker), line
    assert where.startswith("running in the worker; stack: #0 0x"), line
    frames = where.split(" | ")
    assert len(frames) >= 3, line
    # Named from the innermost call out: libc's write, libfcgi (no frame pointers: found by scanning), then the
    # worker's own responder writing the answer, down to its main.
    assert re.match(r"running in the worker; stack: #0 0x[0-9a-f]+ (__libc_)?write\b", where), line
    assert "FastCGIResponder" in where and "notes_worker" in where, line
    # The worker was let go as it was: it gives up on that client by itself and serves the next one.
    assert_json(stack.client.get("/notes/?take=1"), 200)
    assert set(sup.worker_pids()) == {worker} and process_alive(worker)
    assert not re.search(r"killed by signal|unresponsive", sup.log()), sup.log()

"""A hostile FastCGI peer straight at the workers' socket, bypassing nginx.

nginx is meant to be the only peer the FastCGI socket ever has: a unix socket of mode 0660 in nginx's group
(test_processes.py::test_unix_socket_mode_is_0660), TCP on loopback unless another address is named, and then
only the peers of --allow-from / FCGI_WEB_SERVER_ADDRS (test_scale_out.py). These tests assume that line has
been crossed and a local process speaks raw FastCGI to a worker: truncated records, wrong versions,
management and unknown record types, absurd name/value lengths in PARAMS (CVE-2025-23016), bodies that
disagree with CONTENT_LENGTH, connections closed mid-request, connections that send nothing. A worker may at
worst exit; the supervisor replaces it, and a steady load through nginx that runs meanwhile sees no failure
(``Watch``). The workers are single-threaded: a hostile connection a worker holds delays the requests queued
behind it, which is why the load's 30 s per-request bound, not its latency, is what is checked.

What the worker does (Sources/FastCGIResponder), and what these tests therefore pin down:

- It accepts each connection itself and gives it a 3 s deadline for every read and write before libfcgi
  (2.4.2-2+deb12u1, Debian 12) reads BEGIN_REQUEST and PARAMS from it: a peer that sends nothing, or half a
  record, loses the connection after 3 s instead of holding the worker for ever (libfcgi's own accept had no
  deadline on TCP, and waited 2 s for a unix peer's first byte only). It checks FCGI_WEB_SERVER_ADDRS itself.
- Records with a version other than 1, truncated headers and truncated pairs close the connection unanswered
  (libfcgi). libfcgi's ReadParams takes an EOF between two pairs for the end of PARAMS, so the worker serves a
  request only once its whole stream has ended properly: the role is RESPONDER, REQUEST_METHOD and REQUEST_URI
  are there, and the STDIN stream ends with its empty record with no error on the way; otherwise it closes the
  connection unanswered.
- Name and value lengths: Debian's fix rejects a 4-byte length of exactly 0x7fffffff (the original CVE trigger,
  where nameLen + valueLen + 2 wraps to 0 and a 0-byte buffer receives the name). The sum is still computed in
  a 32-bit int and sign-extended: any pair whose lengths add up to 2^31 - 2 or more asks malloc for ~2^64
  bytes, which fails, and libfcgi's own assertion (fcgiapp.c:75, compiled in) aborts the worker (SIGABRT)
  before it writes anything. With both lengths below 0x7fffffff the sum never wraps to a small size, so no
  buffer is overrun; a single 24-byte record still kills a worker, which the supervisor replaces.
- The body is exactly CONTENT_LENGTH bytes (RFC 3875 4.2; more in the stream is read and dropped); fewer, or a
  CONTENT_LENGTH that is not digits, is a 400 and nothing is applied (FastCGI 6.2); over 1 MiB is a 413 before
  any of it is read.
"""

from __future__ import annotations

import json
import re
import signal
import struct
import uuid

import pytest

from harness.assertions import assert_json, assert_load_clean, assert_note
from harness.fastcgi import (FCGI_ABORT_REQUEST, FCGI_AUTHORIZER, FCGI_BEGIN_REQUEST, FCGI_CANT_MPX_CONN,
                             FCGI_END_REQUEST, FCGI_FILTER, FCGI_GET_VALUES, FCGI_GET_VALUES_RESULT, FCGI_KEEP_CONN,
                             FCGI_PARAMS, FCGI_RESPONDER, FCGI_STDIN, FCGI_UNKNOWN_TYPE, begin, encode_pairs,
                             full_request, header, http_answer, long_length, params_stream, parse_pairs,
                             parse_records, record, records, request_params)
from harness.fastcgi_client import Peer
from harness.http import Response
from harness.load import LoadClient
from harness.processes import CRASH_MARKERS, socket_fd_count, wait_until
from harness.stack import Stack
from harness.supervisor import SupervisorOptions

WORKERS = 2
# The pool's --timeout. The tests for stalled peers expect a worker to let go of one within about this long.
TIMEOUT = 5
# How long a test waits for a worker to drop a peer that stalls (a few times TIMEOUT; never a timing assertion).
PIN_BOUND = 3 * TIMEOUT
# How long a test waits for an answer, or for the worker to close a connection it should close promptly.
ANSWER_WAIT = 10

# Log text that would mean memory corruption or a crash other than libfcgi's own assertion.
CORRUPTION_MARKERS = CRASH_MARKERS + ("signal 11", "SIGSEGV", "SIGBUS", "signal 7 ", "corrupted", "double free",
                                      "free(): invalid", "malloc(): ")


# ---------------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def pool(module_launcher) -> Stack:
    """2 workers on a unix socket, nginx in front."""
    return module_launcher.stack("fcgi-peer", workers=WORKERS,
                                 supervisor_options=SupervisorOptions(extra_args=["--timeout", str(TIMEOUT)]))


@pytest.fixture(scope="module")
def tcp_pool(module_launcher) -> Stack:
    """2 workers on a loopback TCP port, nginx in front: TCP peers take other paths (the allowlist, resets)."""
    return module_launcher.stack("fcgi-peer-tcp", workers=WORKERS, tcp=True,
                                 supervisor_options=SupervisorOptions(extra_args=["--timeout", str(TIMEOUT)]))


# ---------------------------------------------------------------------------------------------- FastCGI


def answered(data: bytes) -> Response:
    """The worker's answer, which must be there."""
    resp = http_answer(data)
    assert resp is not None, f"no answer from the worker, only {data[:300]!r}"
    return resp


def exchange(stack: Stack, data: bytes, timeout: float = ANSWER_WAIT) -> tuple[bytes, bool]:
    """Send ``data`` on a new connection, end our side, and read until the worker closes (or ``timeout``)."""
    peer = Peer(stack.supervisor.fastcgi_target)
    try:
        peer.send(data)
        peer.end()
        return peer.read_until_closed(timeout)
    finally:
        peer.close()


def notes_with_text(stack: Stack, text: str) -> int:
    return int(stack.db.query(f"SELECT count(*) FROM notes WHERE text = '{text}'")[0][0])


def tag() -> str:
    return f"peer-{uuid.uuid4().hex[:12]}"


# ---------------------------------------------------------------------------------------------- watch


class Watch:
    """What every test checks around its hostile step: a steady load through nginx runs meanwhile; afterwards
    the pool is whole and serves, no request of that load failed, and any worker that left did so the way the
    test allows (``finish``). Used as a context manager so that the load stops even when the test fails."""

    def __init__(self, stack: Stack, wait_for_load: bool = True):
        self.stack = stack
        self.sup = stack.supervisor
        self.before = self.sup.wait_ready()
        self.log_offset = len(self.sup.log())
        self.load: LoadClient = stack.load(connections=2, max_requests=1_000_000)
        if wait_for_load:
            self.load.wait_more(4)

    def __enter__(self) -> "Watch":
        return self

    def __exit__(self, *exc) -> None:
        self.load.close()

    def new_log(self) -> str:
        return self.sup.log()[self.log_offset:]

    def finish(self, exits: str = "none") -> set[int]:
        """``exits``: "none" (every worker must still be the same process), "abort" (a worker may have died of
        libfcgi's assertion, SIGABRT, and been replaced) or "any" (a worker may have been replaced for any
        reason the supervisor logs, e.g. its watchdog). Returns the workers that left."""
        self.sup.wait_ready()
        self.load.wait_more(10)  # the pool, whole again, keeps serving the load
        report = self.load.stop()
        after = self.sup.wait_ready()
        gone = self.before - after
        assert_load_clean(report, self.stack.diagnostics())
        if exits == "none":
            assert not gone, f"workers {gone} exited:\n{self.new_log()}"
        for pid in gone:
            line = wait_until(lambda: next((l for l in self.new_log().splitlines()
                                            if re.search(rf"\bworker {pid}\b.*replacing it", l)), None),
                              20, what=lambda: f"the supervisor's line about worker {pid}:\n{self.new_log()}")
            if exits == "abort":
                assert "signal 6 (SIGABRT)" in line, f"worker {pid} left otherwise than by SIGABRT: {line!r}"
        log = self.new_log()
        for marker in CORRUPTION_MARKERS:
            assert marker not in log, f"{marker!r} in the supervisor's log:\n{log}"
        assert len(after) == WORKERS
        note = assert_note(assert_json(self.stack.client.post("/notes/", {"text": "after", "completed": False}), 201))
        assert assert_json(self.stack.client.get(f"/notes/{note['id']}/"), 200) == note
        return gone


# ---------------------------------------------------------------------------------------------- records

GET_NOTES = full_request("GET", "/notes/")
FIRST_PAIR = encode_pairs({"REQUEST_METHOD": "GET"})


@pytest.mark.parametrize("data", [
    begin()[:5],                                                       # a header cut
    begin()[:12],                                                      # BEGIN_REQUEST's body cut
    begin() + header(FCGI_PARAMS, 1, len(FIRST_PAIR)) + FIRST_PAIR[:6],  # a name cut
    begin() + header(FCGI_PARAMS, 1, 2 + 3 + 40) + b"\x03\x28abc" + b"v" * 10,  # a value cut
    begin() + record(FCGI_PARAMS, 1, b"\x01" + long_length(5000) + b"n" + b"v" * 100)[:90],  # a record cut
], ids=["header", "begin-body", "name", "value", "params-record"])
def test_truncated_records_close_the_connection_unanswered(pool, data):
    """A connection that ends inside a record before the request is complete gets no answer, and the worker
    goes back to accepting (it is the same process, and the load never notices)."""
    with Watch(pool) as watch:
        answer, closed = exchange(pool, data)
        assert closed and answer == b"", (closed, answer)
        watch.finish()


@pytest.mark.parametrize("version", [0, 2, 255])
def test_a_wrong_version_closes_the_connection_unanswered(pool, version):
    """A BEGIN_REQUEST of another protocol version, followed by an otherwise valid request: libfcgi refuses
    it (FCGX_UNSUPPORTED_VERSION) and closes the connection; nothing of the request is served."""
    with Watch(pool) as watch:
        answer, closed = exchange(pool, record(FCGI_BEGIN_REQUEST, 1, struct.pack("!HB5x", FCGI_RESPONDER, 0),
                                               version=version) + GET_NOTES[16:])
        assert closed and answer == b"", (closed, answer)
        watch.finish()


def test_an_incomplete_params_stream_is_never_served(pool):
    """A request whose PARAMS stream does not end with its empty record is incomplete (FastCGI 1.0, 3.3): it
    must not be served, least of all a DELETE."""
    ids = [pool.client.create_note(f"victim {i}")["id"] for i in range(5)]
    variants = {
        "no end of PARAMS": lambda p: begin() + record(FCGI_PARAMS, 1, p),
        "record shorter than its header": lambda p: begin() + header(FCGI_PARAMS, 1, len(p) + 24) + p,
        "bad version after the pairs": lambda p: (begin() + record(FCGI_PARAMS, 1, p)
                                                   + record(FCGI_PARAMS, 1, b"\x01\x00x", version=2)
                                                   + record(FCGI_PARAMS, 1) + record(FCGI_STDIN, 1)),
        "STDIN instead of the end of PARAMS": lambda p: (begin() + record(FCGI_PARAMS, 1, p)
                                                          + record(FCGI_STDIN, 1)),
        "ABORT_REQUEST amid PARAMS": lambda p: (begin() + record(FCGI_PARAMS, 1, p) + record(FCGI_ABORT_REQUEST, 1)
                                                 + record(FCGI_PARAMS, 1) + record(FCGI_STDIN, 1)),
    }
    with Watch(pool) as watch:
        served = {}
        for note_id, (name, build) in zip(ids, variants.items()):
            answer, closed = exchange(pool, build(encode_pairs(request_params("DELETE", f"/notes/{note_id}/"))))
            assert closed, f"{name}: the worker kept the connection open"
            still_there = pool.client.get(f"/notes/{note_id}/").status == 200
            if http_answer(answer) is not None or not still_there:
                served[name] = (http_answer(answer), "note deleted" if not still_there else "note kept")
        assert not served, f"incomplete requests were served: {served}"
        # Not incomplete: a record for a request id not in use is skipped (a responder that cannot multiplex
        # ignores it), and the request's own stream, whole, is served.
        other = pool.client.create_note("served despite a stray record")["id"]
        pairs = encode_pairs(request_params("DELETE", f"/notes/{other}/"))
        answer, closed = exchange(pool, begin() + record(FCGI_PARAMS, 1, pairs) + record(FCGI_PARAMS, 3, b"\x01\x00x")
                                  + record(FCGI_PARAMS, 1) + record(FCGI_STDIN, 1))
        assert_json(answered(answer), 200)
        watch.finish()


# ---------------------------------------------------------------------------------------------- types


def test_management_records_and_a_second_request_id_are_answered_as_the_spec_says(pool):
    """On one connection: an unknown management record (request id 0) gets FCGI_UNKNOWN_TYPE naming its type;
    FCGI_GET_VALUES gets the worker's limits (one connection, one request, no multiplexing); a second
    BEGIN_REQUEST while the first is open gets END_REQUEST with FCGI_CANT_MPX_CONN; and the first request is
    still answered. (libfcgi answers management records only when more data follows them, so it all goes in
    one write.)"""
    wanted = {"FCGI_MAX_CONNS": "", "FCGI_MAX_REQS": "", "FCGI_MPXS_CONNS": ""}
    data = (record(99, 0, b"") + record(FCGI_GET_VALUES, 0, encode_pairs(wanted))
            + begin(1) + begin(2) + GET_NOTES[16:])
    with Watch(pool) as watch:
        answer, closed = exchange(pool, data)
        assert closed
        got = parse_records(answer)
        unknown = [r for r in got if r.rtype == FCGI_UNKNOWN_TYPE]
        assert len(unknown) == 1 and unknown[0].request_id == 0 and unknown[0].content[:1] == bytes([99]), got
        values = [r for r in got if r.rtype == FCGI_GET_VALUES_RESULT]
        assert len(values) == 1 and values[0].request_id == 0, got
        assert parse_pairs(values[0].content) == {"FCGI_MAX_CONNS": "1", "FCGI_MAX_REQS": "1",
                                                  "FCGI_MPXS_CONNS": "0"}, values[0]
        refused = [r for r in got if r.rtype == FCGI_END_REQUEST and r.request_id == 2]
        assert len(refused) == 1 and refused[0].content[4] == FCGI_CANT_MPX_CONN, got
        resp = http_answer(answer)
        assert resp is not None and resp.status == 200, got
        assert all(r.version == 1 for r in got), got
        watch.finish()


def test_an_unknown_record_type_for_a_request_closes_the_connection_unanswered(pool):
    """A record of an undefined type (99) for request 1 before its BEGIN_REQUEST is a protocol error."""
    with Watch(pool) as watch:
        answer, closed = exchange(pool, record(99, 1, b"x") + GET_NOTES)
        assert closed and answer == b"", (closed, answer)
        watch.finish()


@pytest.mark.parametrize("role", [FCGI_AUTHORIZER, FCGI_FILTER], ids=["authorizer", "filter"])
def test_only_the_responder_role_is_served(pool, role):
    """The workers are responders: a request in another role must not be served as if it were one (an
    authorizer's 200 means "allowed")."""
    with Watch(pool) as watch:
        answer, closed = exchange(pool, begin(role=role) + GET_NOTES[16:])
        assert closed
        resp = http_answer(answer)
        assert resp is None or resp.status >= 400, resp
        watch.finish()


# ---------------------------------------------------------------------------------------------- lengths


def absurd(lengths: bytes, then: bytes = b"abc") -> bytes:
    """BEGIN_REQUEST, then a PARAMS stream whose one pair claims the given lengths but brings only ``then``."""
    return begin() + records(FCGI_PARAMS, 1, lengths + then) + record(FCGI_PARAMS, 1) + record(FCGI_STDIN, 1)


SURVIVES, MAY_ABORT = "none", "abort"
ABSURD = {
    # The CVE-2025-23016 trigger: nameLen + valueLen + 2 wraps to 0; without Debian's fix the 64 KiB that follow
    # land in a 0-byte buffer. With the fix the pair is refused: the worker must live on.
    "cve-both-0x7fffffff": (long_length(0x7fffffff) + long_length(0x7fffffff), b"A" * 65536, SURVIVES),
    "name-0x7fffffff": (long_length(0x7fffffff) + b"\x01", b"abc", SURVIVES),
    "value-0x7fffffff": (b"\x01" + long_length(0x7fffffff), b"abc", SURVIVES),
    # Sums of 2^31 - 2 and more: malloc of a sign-extended negative size fails, libfcgi's assertion aborts.
    "both-0x7ffffffe": (long_length(0x7ffffffe) + long_length(0x7ffffffe), b"abc", MAY_ABORT),
    "both-0x7ffffff0": (long_length(0x7ffffff0) + long_length(0x7ffffff0), b"abc", MAY_ABORT),
    "both-0x3fffffff": (long_length(0x3fffffff) + long_length(0x3fffffff), b"abc", MAY_ABORT),
    # A 2 GiB name: malloc succeeds lazily here, fails (and aborts) where memory is short.
    "name-0x7ffffff0": (long_length(0x7ffffff0) + b"\x01", b"abc", MAY_ABORT),
    # Lengths larger than the record, and than the whole stream.
    "name-longer-than-record": (b"\x64\x01", b"n" * 8, SURVIVES),
    "value-longer-than-stream": (b"\x01" + long_length(0x10000), b"n" * 8, SURVIVES),
}


@pytest.mark.parametrize("case", list(ABSURD))
def test_absurd_param_lengths_never_corrupt_memory(pool, case):
    """The connection is closed unanswered. The worker either lives on or dies of libfcgi's own assertion
    (SIGABRT, before any write: never SIGSEGV, never glibc's heap-corruption messages) and is replaced; the
    pair that used to overflow the heap (CVE-2025-23016) does not even kill it. Nothing else fails."""
    lengths, then, exits = ABSURD[case]
    with Watch(pool) as watch:
        answer, closed = exchange(pool, absurd(lengths, then))
        assert closed and http_answer(answer) is None, (closed, answer[:300])
        watch.finish(exits=exits)


def test_a_param_length_that_aborts_a_tcp_worker_costs_no_other_request(tcp_pool):
    """The same on TCP, where nginx may sit on another host (--allow-from): one small record kills a worker
    today (SIGABRT), the supervisor replaces it, and the load through nginx sees no failure."""
    with Watch(tcp_pool) as watch:
        answer, closed = exchange(tcp_pool, absurd(long_length(0x3fffffff) + long_length(0x3fffffff)))
        assert closed and http_answer(answer) is None, (closed, answer[:300])
        watch.finish(exits=MAY_ABORT)


# ---------------------------------------------------------------------------------------------- bodies


def post(body: bytes, content_length: str, end_stdin: bool = True) -> bytes:
    return (begin() + params_stream(request_params("POST", "/notes/", content_length, "application/json"))
            + records(FCGI_STDIN, 1, body) + (record(FCGI_STDIN, 1) if end_stdin else b""))


def note_body(text: str) -> bytes:
    return b'{"text": "' + text.encode() + b'", "completed": false}'


def test_a_peer_that_closes_mid_body_frees_its_worker(pool):
    """CONTENT_LENGTH promises 1000 bytes, 40 arrive, then the peer is gone: the worker answers nothing useful
    (at most a 4xx for the cut JSON), and goes back to accepting. Done more times than there are workers, so
    every worker has gone back at least once."""
    with Watch(pool) as watch:
        for _ in range(2 * WORKERS):
            answer, closed = exchange(pool, post(note_body("cut mid-body " + "x" * 40)[:40], "1000", end_stdin=False))
            assert closed
            resp = http_answer(answer)
            assert resp is None or 400 <= resp.status < 500, resp
        watch.finish()


def test_the_body_is_exactly_content_length_bytes(pool):
    """Extra STDIN data beyond CONTENT_LENGTH is not part of the body; the next request is served normally."""
    with Watch(pool) as watch:
        longer = tag()
        answer, closed = exchange(pool, post(note_body(longer), "10"))
        resp = http_answer(answer)
        assert resp is None or resp.status >= 400, resp
        assert notes_with_text(pool, longer) == 0, "the bytes beyond CONTENT_LENGTH were taken as the body"

        exact = tag()
        body = note_body(exact)
        answer, closed = exchange(pool, post(body + b"   bytes beyond CONTENT_LENGTH", str(len(body))))
        assert_note(assert_json(answered(answer), 201), text=exact)
        watch.finish()


def test_a_body_shorter_than_content_length_is_not_applied(pool):
    """An update must not be applied from a body that did not arrive whole."""
    with Watch(pool) as watch:
        for end_stdin in (True, False):
            text = tag()
            body = note_body(text)
            answer, closed = exchange(pool, post(body, str(len(body) + 16), end_stdin=end_stdin))
            resp = http_answer(answer)
            assert resp is None or resp.status >= 400, (end_stdin, resp)
            assert notes_with_text(pool, text) == 0, f"a short body was applied (STDIN ended: {end_stdin})"
        watch.finish()


def test_an_invalid_content_length_is_refused(pool):
    """CONTENT_LENGTH is 1*digit (RFC 3875 4.1.2): negative, non-numeric, float-like or overflowing values are
    the peer's error, and nothing is applied."""
    with Watch(pool) as watch:
        applied = {}
        for value in ("-5", "abc", "1e3", "18446744073709551616"):
            text = tag()
            answer, _ = exchange(pool, post(note_body(text), value))
            resp = http_answer(answer)
            if (resp is not None and resp.status < 400) or notes_with_text(pool, text):
                applied[value] = resp
        assert not applied, f"requests with an invalid CONTENT_LENGTH were applied: {applied}"
        watch.finish()


def test_an_oversized_content_length_is_refused_before_the_body_arrives(pool):
    """413 as soon as CONTENT_LENGTH announces more than 1 MiB, without waiting for the bytes."""
    with Watch(pool) as watch:
        peer = Peer(pool.supervisor.fastcgi_target)
        try:
            peer.send(post(b"{" + b" " * 65536, str(2 << 20), end_stdin=False))
            answer, _ = peer.read_until_closed(ANSWER_WAIT)
        finally:
            peer.close()
        assert_json(answered(answer), 413, {"detail": "Request body too large"})
        watch.finish()


# ---------------------------------------------------------------------------------------------- stalls


def test_silent_connections_on_the_unix_socket_cost_a_delay_not_a_failure(pool):
    """Connections that send nothing: a worker drops each after its 3 s deadline, so the pool serves again
    once they are all gone, and the requests queued behind them meanwhile are late, not lost. (The cost is
    3 s of a worker per silent connection: 200 of them stop a 2-worker pool for about 300 s.)"""
    count = 8
    with Watch(pool) as watch:
        peers = [Peer(pool.supervisor.socket_path) for _ in range(count)]
        try:
            for peer in peers:
                answer, closed = peer.read_until_closed(count * 2 + 30)
                assert closed and answer == b"", (closed, answer)
        finally:
            for peer in peers:
                peer.close()
        watch.finish()


HALF_HEADER = begin()[:3]


@pytest.mark.parametrize("transport,opening", [
    ("unix", "silent"),
    ("unix", "half-header"),
    ("tcp", "silent"),
])
def test_a_stalled_peer_does_not_pin_a_worker(request, transport, opening):
    """One stalled connection per worker, so that every worker holds one: each worker must let go of its peer
    within about --timeout (the test waits PIN_BOUND), and the load started meanwhile must see no failure. A
    watchdog that kills and replaces such a worker would do too."""
    stack: Stack = request.getfixturevalue("pool" if transport == "unix" else "tcp_pool")
    sup = stack.supervisor
    pids = sup.wait_ready()
    baseline = {pid: socket_fd_count(pid) for pid in pids}
    peers = []
    try:
        for _ in range(WORKERS):
            peers.append(Peer(sup.fastcgi_target))
            if opening == "half-header":
                peers[-1].send(HALF_HEADER)
        wait_until(lambda: all(socket_fd_count(pid) > baseline[pid] for pid in pids), ANSWER_WAIT,
                   what="every worker to accept one of the stalled connections")
        with Watch(stack, wait_for_load=False) as watch:
            try:
                for peer in peers:
                    answer, closed = peer.read_until_closed(PIN_BOUND)
                    assert closed, f"a worker still holds a {opening} {transport} connection after {PIN_BOUND}s"
                    assert http_answer(answer) is None, answer
            finally:
                for peer in peers:  # before the Watch ends: its load may be queued behind them
                    peer.close()
            watch.finish(exits="any")
    finally:
        for peer in peers:
            peer.close()


def test_kept_connections_serve_request_after_request_and_pin_no_worker(pool):
    """FCGI_KEEP_CONN (nginx's fastcgi_keep_conn on): the connection stays open after the answer and carries the
    next request; meanwhile the worker holding it serves everybody else, even with more idle kept connections
    than there are workers."""
    with Watch(pool) as watch:
        peers = [Peer(pool.supervisor.fastcgi_target) for _ in range(WORKERS + 2)]
        try:
            for peer in peers:
                peer.send(full_request("GET", "/notes/?take=1", flags=FCGI_KEEP_CONN))
                answer, still_open = peer.read_answer()
                assert_json(answered(answer), 200)
                assert still_open, "the worker closed a connection the peer asked to keep"
            # Every worker holds idle kept connections now; a new connection is still answered at once.
            answer, closed = exchange(pool, GET_NOTES)
            assert closed and answered(answer).status == 200, answer
            text = tag()
            for peer in peers:  # the next request on each kept connection
                peer.send(full_request("POST", "/notes/", note_body(text), flags=FCGI_KEEP_CONN))
                answer, still_open = peer.read_answer()
                assert_json(answered(answer), 201)
                assert still_open
            assert notes_with_text(pool, text) == len(peers)
        finally:
            for peer in peers:
                peer.close()
        watch.finish()


def test_a_request_without_keep_conn_closes_its_connection(pool):
    """Without FCGI_KEEP_CONN the worker closes the connection after the answer, as the FastCGI spec says."""
    peer = Peer(pool.supervisor.fastcgi_target)
    try:
        peer.send(full_request("GET", "/notes/?take=1"))
        answer, still_open = peer.read_answer()
        assert_json(answered(answer), 200)
        assert not still_open, "the worker kept a connection the peer did not ask to keep"
    finally:
        peer.close()


def test_retiring_workers_answer_on_kept_connections_then_close_them(pool):
    """After HUP the old workers take no new connection; a request on a connection one of them keeps is still
    answered, and that connection closed after the answer; a kept connection left idle is closed within the
    head timeout (3 s) when its peer does not close it first. Then the old workers exit on their own."""
    sup = pool.supervisor
    old = sup.wait_ready()
    used, idle = Peer(sup.fastcgi_target), Peer(sup.fastcgi_target)
    try:
        for peer in (used, idle):
            peer.send(full_request("GET", "/notes/?take=1", flags=FCGI_KEEP_CONN))
            answer, still_open = peer.read_answer()
            assert_json(answered(answer), 200)
            assert still_open
        log_offset = len(sup.log())
        sup.send(signal.SIGHUP)
        wait_until(lambda: "reload complete" in sup.log()[log_offset:], 30,
                   what=lambda: f"the new generation\n{sup.log()[log_offset:]}")
        text = tag()
        used.send(full_request("POST", "/notes/", note_body(text), flags=FCGI_KEEP_CONN))
        answer, still_open = used.read_answer()
        assert_json(answered(answer), 201)
        assert not still_open, "a retiring worker kept its connection after answering"
        assert notes_with_text(pool, text) == 1
        rest, closed = idle.read_until_closed(PIN_BOUND)
        assert closed and rest == b"", (closed, rest)
    finally:
        used.close()
        idle.close()
    wait_until(lambda: not (sup.worker_pids() & old), 20, what=lambda: f"the old workers to exit\n{sup.log()}")
    assert not re.search(r"killed", sup.log()[log_offset:]), sup.log()[log_offset:]
    sup.wait_ready()


# ---------------------------------------------------------------------------------------------- resent creates


@pytest.mark.parametrize("resource", ["notes", "authors", "articles"])
def test_a_create_sent_again_with_its_request_id_creates_one_row(pool, resource):
    """nginx resends a POST whose worker died before answering, with the same REQUEST_ID ($request_id): the
    second attempt answers 201 with the row the first one made, and makes none. A REQUEST_ID that is not 32
    hexadecimal digits is ignored: each attempt creates."""
    text = tag()
    if resource == "notes":
        path, body = "/notes/", {"text": text, "completed": False}
    elif resource == "authors":
        path, body = "/authors", {"first_name": text, "last_name": "Resent"}
    else:
        author = assert_json(pool.client.post("/authors", {"first_name": "A", "last_name": "B"}), 201)
        path, body = "/articles", {"title": text, "content": "c", "author_id": author["id"]}
    column = {"notes": "text", "authors": "first_name", "articles": "title"}[resource]
    count = lambda: int(pool.db.query(f"SELECT count(*) FROM {resource} WHERE {column} = '{text}'")[0][0])

    def send(request_id: str) -> dict:
        data = full_request("POST", path, json.dumps(body).encode(), extra_params={"REQUEST_ID": request_id})
        answer, closed = exchange(pool, data)
        assert closed, answer
        return assert_json(answered(answer), 201)

    request_id = uuid.uuid4().hex
    first, second = send(request_id), send(request_id)
    assert first == second, (first, second)
    assert count() == 1
    assert send(request_id.upper()) == first  # the same uuid
    for malformed in ("not-a-request-id", request_id[:31], request_id + "0"):
        send(malformed)
    assert count() == 4, "a malformed request id is ignored, not an error"

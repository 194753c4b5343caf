"""The supervisor and its worker pool: sockets, connections, replacement, signals, graceful stop."""

import json
import os
import re
import signal
import socket
import stat

import pytest

from harness.assertions import assert_json, assert_note
from harness.fastcgi_client import FastCGIConnection, fastcgi_request
from harness.http import Client
from harness.processes import CRASH_MARKERS, proc_comm, process_alive, socket_fd_count, wait_until

WORKERS = 3


@pytest.fixture(scope="module")
def pool(module_launcher):
    return module_launcher.stack("pool", workers=WORKERS)


def log_lines_about(log, pid):
    return [line for line in log.splitlines() if re.search(rf"\b{pid}\b", line)]


def exit_line(sup, pid):
    """The supervisor's log line saying that worker ``pid`` exited or was killed (waits for it)."""
    def find():
        lines = [l for l in log_lines_about(sup.log(), pid)
                 if re.search(rf"\bworker {pid}\b.*\b(exit|killed|died|terminated)", l, re.I)]
        return lines[0] if lines else None
    return wait_until(find, 20, what=f"a supervisor log line about worker {pid} exiting")


def assert_serving(client, requests=12):
    for i in range(requests):
        note = assert_note(assert_json(client.post("/notes/", {"text": f"still here {i}", "completed": False}), 201))
        assert assert_json(client.get(f"/notes/{note['id']}/"), 200) == note


def assert_no_crash(text):
    for marker in CRASH_MARKERS:
        assert marker not in text, f"{marker!r} in:\n{text}"


# ---------------------------------------------------------------------------------------------- pool


def test_unix_socket_mode_is_0660(pool):
    st = os.stat(pool.supervisor.socket_path)
    assert stat.S_ISSOCK(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o660, oct(stat.S_IMODE(st.st_mode))


def test_n_workers_hold_n_connections(pool):
    sup = pool.supervisor
    pids = sup.wait_ready()
    assert len(pids) == WORKERS
    names = pool.db.worker_backend_names()
    assert sorted(names) == sorted(f"notes-worker-{pid}" for pid in pids), (names, pids)
    log = sup.log()
    for pid in pids:
        assert process_alive(pid) and proc_comm(pid) == "notes-worker"
        assert log_lines_about(log, pid), f"no log line about worker {pid}:\n{log}"
    assert_serving(pool.client, 3)
    assert sorted(pool.db.worker_backend_names()) == sorted(names), "requests must not open more connections"


def test_killed_worker_is_replaced(pool):
    sup = pool.supervisor
    before = sup.wait_ready()
    victim = min(before)
    os.kill(victim, signal.SIGKILL)
    line = exit_line(sup, victim)
    assert "9" in line or "KILL" in line.upper(), f"exit line does not name signal 9: {line!r}"
    wait_until(lambda: len(sup.worker_pids() - before) == 1, 20, what="a replacement worker")
    after = sup.wait_ready()
    assert victim not in after and before - {victim} <= after and len(after) == WORKERS, (before, after)
    (new,) = after - before
    assert log_lines_about(sup.log(), new), f"replacement {new} not logged:\n{sup.log()}"
    wait_until(lambda: victim not in pool.db.worker_backends(), 20, what="the killed worker's backend to go")
    assert set(pool.db.worker_backends()) == after
    assert_serving(pool.client)
    assert sup.proc.poll() is None


def test_idle_worker_sigterm_exits_0_and_is_replaced(pool):
    sup = pool.supervisor
    before = sup.wait_ready()
    victim = max(before)
    os.kill(victim, signal.SIGTERM)
    line = exit_line(sup, victim)
    assert "signal" not in line.lower() and re.search(r"(status|code)\D{0,3}0\b", line), \
        f"a worker stopped by SIGTERM while idle must exit with status 0; supervisor says {line!r}"
    def replaced():
        pids = sup.worker_pids()
        return pids if len(pids - before) == 1 and len(pids) == WORKERS else None
    after = wait_until(replaced, 20, what="a replacement worker")
    assert victim not in after
    sup.wait_ready()
    wait_until(lambda: victim not in pool.db.worker_backends(), 20, what="the stopped worker's backend to go")
    assert_serving(pool.client)


def test_pool_survives_repeated_kills(pool):
    sup = pool.supervisor
    for _ in range(3):
        before = sup.wait_ready()
        os.kill(min(before), signal.SIGKILL)
        wait_until(lambda: min(before) not in sup.worker_pids() and len(sup.worker_pids()) == WORKERS, 20,
                   what="replacement")
        assert_serving(pool.client, 2)
    sup.wait_ready()


# ---------------------------------------------------------------------------------------------- stop


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_supervisor_stop_leaves_no_process_connection_or_socket(launcher, migrated_db, sig):
    sup = launcher.supervisor(migrated_db, workers=2)
    pids = sup.wait_ready()
    nginx = launcher.nginx(sup.fastcgi_addr)
    client = Client(nginx.port)
    wait_until(lambda: client.get("/notes/").status == 200, 20, what="the stack to serve")
    assert_serving(client, 2)
    assert sup.socket_path.exists()

    sup.send(sig)
    code = sup.wait_exit()
    log = sup.log()
    assert code == 0, f"supervisor exit code {code}:\n{log}"
    for pid in pids:
        assert not (process_alive(pid) and proc_comm(pid) == "notes-worker"), f"worker {pid} still runs"
    wait_until(lambda: not migrated_db.worker_backends(), 20,
               what="no notes-worker database connection to remain")
    assert not sup.socket_path.exists(), "the unix socket must be removed"
    assert_no_crash(log)
    # nginx with no worker behind it answers JSON 503, not an HTML 502
    assert_json(client.get("/notes/"), 503, {"detail": "Service unavailable"})


def test_supervisor_stop_lets_the_request_in_hand_finish(launcher, migrated_db):
    sup = launcher.supervisor(migrated_db, workers=2)
    pids = sup.wait_ready()
    baseline = {pid: socket_fd_count(pid) for pid in pids}
    payload = json.dumps({"text": "in flight during shutdown", "completed": False}).encode()
    conn = FastCGIConnection(sup.socket_path)
    try:
        conn.begin("POST", "/notes/", content_type="application/json", content_length=len(payload))
        conn.send_stdin(payload[:10])
        busy = wait_until(lambda: next((p for p in pids if socket_fd_count(p) > baseline[p]), None), 15,
                          what="a worker to accept the request")
        sup.send(signal.SIGTERM)
        wait_until(lambda: not any(process_alive(p) for p in pids - {busy}), 15, what="the idle worker to stop")
        conn.send_stdin(payload[10:])
        conn.end_stdin()
        resp = conn.read_response()
    finally:
        conn.close()
    assert_note(assert_json(resp, 201), text="in flight during shutdown")
    assert sup.wait_exit() == 0, sup.log()
    assert not process_alive(busy) or proc_comm(busy) != "notes-worker"
    assert migrated_db.query("SELECT count(*) FROM notes WHERE text = 'in flight during shutdown'") == [["1"]]
    assert not sup.socket_path.exists()
    assert "killed" not in sup.log(), f"the busy worker was not allowed to finish:\n{sup.log()}"


def test_tcp_listen_end_to_end(launcher, migrated_db):
    sup = launcher.supervisor(migrated_db, workers=2, tcp=True)
    sup.wait_ready()
    direct = fastcgi_request(("127.0.0.1", sup.port), "GET", "/notes/")
    assert direct.status == 200 and direct.json() == [], direct
    nginx = launcher.nginx(sup.fastcgi_addr)
    client = Client(nginx.port)
    wait_until(lambda: client.get("/notes/").status == 200, 20, what="the stack to serve over TCP")
    note = assert_note(assert_json(client.post("/notes/", {"text": "over tcp", "completed": True}), 201),
                       text="over tcp", completed=True)
    assert assert_json(client.get("/notes/"), 200) == [note]
    assert_json(client.delete(f"/notes/{note['id']}"), 200,
                {"message": f"Note with id: {note['id']} deleted successfully!"})

    sup.send(signal.SIGTERM)
    assert sup.wait_exit() == 0, sup.log()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", sup.port), timeout=5).close()
    wait_until(lambda: not migrated_db.worker_backends(), 20, what="no notes-worker connection to remain")

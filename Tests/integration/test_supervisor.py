"""Supervisor signals under load (TERM, QUIT, TTIN/TTOU, a worker's SIGKILL, USR1), the systemd notify
protocol and socket activation."""

import json
import os
import re
import signal
import socket
import time
from pathlib import Path

import pytest

from harness.assertions import assert_json, assert_load_clean, assert_nginx_unavailable, assert_note, assert_status
from harness.fastcgi_client import FastCGIConnection, fastcgi_request
from harness.http import Client
from harness.load import Background
from harness.postgres import WORKER_APP_PREFIX
from harness.processes import give_to_service_user, make_dir, proc_comm, process_alive, signal_pending, wait_until
from harness.stack import hold_request_on_lock
from harness.supervisor import SupervisorOptions


# linux/netlink.h: the sock_diag family, notes.socket's ListenNetlink=inet-diag.
NETLINK_SOCK_DIAG = 4


def no_worker_left(pids):
    return not any(process_alive(p) and proc_comm(p) == "notes-worker" for p in pids)


# ---------------------------------------------------------------------------------------------- TERM, QUIT


def test_term_under_load_completes_every_accepted_request(launcher):
    stack = launcher.stack("term", workers=2)
    sup, db, client = stack.supervisor, stack.db, stack.client
    pids = sup.wait_ready()
    note = client.create_note("before the stop")
    # One request is surely accepted by a worker at TERM: it waits on a row lock the test holds.
    session, held, busy = hold_request_on_lock(launcher, db, client, note["id"], "finished after TERM")
    load = stack.load(connections=3, max_requests=3000)
    load.wait_for(60)

    t_term = time.monotonic()
    sup.send(signal.SIGTERM)
    # The other worker finishes the request in hand and exits; the busy one is still waiting on the lock.
    wait_until(lambda: sup.worker_pids() == {busy}, 20,
               what=lambda: f"only the busy worker {busy} to remain\n{sup.log()}")
    assert held.done() is False, "the held request must still be in flight"
    session.commit()
    resp = held.result(30)
    assert_note(assert_json(resp, 200), text="finished after TERM", note_id=note["id"])
    assert sup.wait_exit() == 0, sup.log()
    report = load.stop()

    diag = stack.diagnostics()
    assert no_worker_left(pids | {busy})
    assert not report.errors, f"nginx stays up: no connection errors\n{report.summary()}\n{diag}"
    assert all(r.ok for r in report.finished_before(t_term)), report.summary()
    for r in report.failures:  # after the stop, only nginx's "no worker answered"
        assert_nginx_unavailable(r)
    # A request that a worker accepted is answered: no note written by a request whose client got a 503.
    texts = {row[0] for row in db.query(f"SELECT text FROM notes WHERE text LIKE 'load-{load.tag}-%'")}
    lost = [r for r in report.failures if r.text is not None and r.text in texts]
    assert not lost, f"requests applied but answered 503 (accepted, then dropped): {lost}"
    in_flight = report.in_flight_at(t_term)
    print(f"TERM under load: {report.summary()}; in flight at TERM: {len(in_flight)} "
          f"({sum(r.ok for r in in_flight)} ok, the rest not yet accepted by a worker: nginx's 503)")
    assert "killed" not in sup.log(), f"no worker may be killed on a graceful stop:\n{sup.log()}"
    assert db.query(f"SELECT text FROM notes WHERE id = {note['id']}") == [["finished after TERM"]]


def test_quit_stops_at_once_even_with_a_busy_worker(launcher):
    db = launcher.cluster.create_database()
    stack = launcher.stack("quit", workers=2, db=db, supervisor_options=SupervisorOptions(graceful_timeout=600))
    sup, client = stack.supervisor, stack.client
    pids = sup.wait_ready()
    note = client.create_note("quit")
    session, held, busy = hold_request_on_lock(launcher, db, client, note["id"], "never")
    assert busy in pids

    sup.send(signal.SIGQUIT)
    # With a 600 s graceful timeout, only a fast stop can end while the request is still blocked.
    assert sup.wait_exit(timeout=30) == 0, sup.log()
    assert no_worker_left(pids), f"workers left after QUIT\n{sup.log()}"
    assert not sup.socket_path.exists()
    assert_nginx_unavailable(held.result(30))
    session.rollback()
    wait_until(lambda: not db.worker_backends(), 20, what="no worker connection to remain")


def test_graceful_stop_escalates_to_sigkill_after_graceful_timeout(launcher):
    db = launcher.cluster.create_database()
    stack = launcher.stack("escalate", workers=2, db=db, supervisor_options=SupervisorOptions(graceful_timeout=1))
    sup, client = stack.supervisor, stack.client
    pids = sup.wait_ready()
    note = client.create_note("stuck")
    session, held, busy = hold_request_on_lock(launcher, db, client, note["id"], "never")

    sup.send(signal.SIGTERM)
    assert sup.wait_exit(timeout=30) == 0, sup.log()
    assert no_worker_left(pids)
    assert re.search(rf"worker {busy} killed by signal 9", sup.log()), sup.log()
    assert not re.search(rf"worker {(pids - {busy}).pop()} killed", sup.log()), "the idle one stopped by itself"
    assert_nginx_unavailable(held.result(30))
    session.rollback()


# ---------------------------------------------------------------------------------------------- TTIN / TTOU


def scale(sup, sig, workers):
    assert not signal_pending(sup.pid, sig)
    sup.send(sig)
    sup.workers = workers
    pids = sup.wait_ready()
    wait_until(lambda: set(sup.db.worker_backends()) == pids, 20,
               what=f"{workers} database connections, those of {sorted(pids)}")
    return pids


def test_ttin_ttou_change_workers_and_connections(launcher):
    stack = launcher.stack("scale", workers=2)
    sup = stack.supervisor
    first = sup.wait_ready()
    load = stack.load(connections=2, max_requests=4000)
    load.wait_for(30)

    three = scale(sup, signal.SIGTTIN, 3)
    assert first < three
    assert_status(stack.status(), workers=3)
    load.wait_more(30)
    two = scale(sup, signal.SIGTTOU, 2)
    one = scale(sup, signal.SIGTTOU, 1)
    assert one < two < three
    removed = three - one
    load.wait_more(30)

    # TTOU at one worker keeps one: once that TTOU is handled, a TTIN gives two (not one).
    sup.send(signal.SIGTTOU)
    wait_until(lambda: not signal_pending(sup.pid, signal.SIGTTOU), 10, what="TTOU to be delivered")
    assert_status(stack.status(), workers=1)
    assert sup.worker_pids() == one
    scale(sup, signal.SIGTTIN, 2)
    load.wait_more(30)
    report = load.stop()

    assert_load_clean(report, stack.diagnostics())
    log = sup.log()
    for pid in removed:  # retired gracefully
        assert not re.search(rf"worker {pid} killed", log), log
        assert not process_alive(pid) or proc_comm(pid) != "notes-worker"
    assert_status(stack.status(), workers=2)


# ---------------------------------------------------------------------------------------------- SIGKILL


def a_busy_worker(sup, pids, attempts=30):
    """A worker that status shows busy on a load request (not on /status itself), else any of ``pids``."""
    for _ in range(attempts):
        for w in sup.status()["worker_list"]:
            cur = w["current_request"]
            if w["pid"] in pids and cur and cur["path"] != "/status":
                return w["pid"]
    return max(pids)


def test_sigkill_mid_load_costs_at_most_the_request_in_hand(launcher):
    stack = launcher.stack("kill9", workers=3)
    sup = stack.supervisor
    pids = sup.wait_ready()
    crashed = assert_status(stack.status())["restarts"]["crashed"]
    load = stack.load(connections=4, max_requests=4000)
    load.wait_for(100)
    victim = a_busy_worker(sup, pids)
    os.kill(victim, signal.SIGKILL)
    wait_until(lambda: victim not in sup.worker_pids() and len(sup.worker_pids()) == 3, 20, what="a replacement")
    sup.wait_ready()
    load.wait_more(150)
    report = load.stop()

    assert not report.errors, report.summary()
    assert len(report.failures) <= 1, f"more than the request in hand failed: {report.summary()}\n{sup.log()}"
    for r in report.failures:
        assert_nginx_unavailable(r)
    assert re.search(rf"worker {victim} killed by signal 9", sup.log()), sup.log()
    assert assert_status(stack.status())["restarts"]["crashed"] == crashed + 1


# ---------------------------------------------------------------------------------------------- USR1


def test_usr1_reopens_the_log_file(launcher, migrated_db):
    log_dir = give_to_service_user(make_dir(launcher.tmp_root / "logs"))
    log_file = log_dir / "notes.log"
    sup = launcher.supervisor(migrated_db, name="usr1", workers=1, log_file=log_file)
    (old,) = sup.wait_ready()
    assert re.search(rf"notes-supervisor\[{sup.pid}\]: info: worker {old} started", log_file.read_text()), \
        log_file.read_text()
    assert "notes-supervisor[" not in sup.stderr_text(), f"logs go to the file, not stderr:\n{sup.stderr_text()}"

    rotated = log_dir / "notes.log.1"
    os.rename(log_file, rotated)
    sup.send(signal.SIGUSR1)
    wait_until(log_file.exists, 10, what="a fresh log file at the path")

    # a worker line from a worker that was running before USR1: its database session is cut while it is idle,
    # so at the next request it opens a new one (the write succeeds) and logs why
    migrated_db.cluster.query(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              f"WHERE application_name = '{WORKER_APP_PREFIX}{old}'")
    wait_until(lambda: not migrated_db.cluster.query(
        f"SELECT 1 FROM pg_stat_activity WHERE application_name = '{WORKER_APP_PREFIX}{old}'"), 10,
        what="the terminated session to end")
    resp = sup.fastcgi("POST", "/notes/", body=b'{"text": "x", "completed": false}',
                       content_type="application/json")
    assert resp.status == 201, resp
    line = f"notes-worker[{old}]: warning: database connection lost (closed by the server): opening a new one"
    wait_until(lambda: line in log_file.read_text(), 10,
               what=lambda: f"worker {old}'s line in the new file\n{log_file.read_text()}")
    # a supervisor line
    os.kill(old, signal.SIGKILL)
    wait_until(lambda: re.search(rf"worker {old} killed by signal 9", log_file.read_text()), 10,
               what=lambda: f"the supervisor's line in the new file\n{log_file.read_text()}")
    (new,) = sup.wait_ready()
    assert re.search(rf"worker {new} started", log_file.read_text())

    before = rotated.read_text()
    assert f"notes-worker[{old}]" not in before and f"worker {old} killed" not in before, before
    assert "notes-supervisor[" not in sup.stderr_text(), sup.stderr_text()


def test_usr1_without_log_file_is_harmless(launcher, migrated_db):
    sup = launcher.supervisor(migrated_db, name="usr1-stderr", workers=2)
    pids = sup.wait_ready()
    sup.send(signal.SIGUSR1)
    wait_until(lambda: not signal_pending(sup.pid, signal.SIGUSR1), 10, what="USR1 to be delivered")
    assert sup.fastcgi("GET", "/notes/").status == 200
    victim = min(pids)
    os.kill(victim, signal.SIGKILL)  # logging to stderr goes on
    wait_until(lambda: f"worker {victim} killed by signal 9" in sup.stderr_text(), 10,
               what=lambda: f"the supervisor's line on stderr\n{sup.stderr_text()}")
    assert sup.wait_ready() - pids and sup.proc.poll() is None


# ---------------------------------------------------------------------------------------------- notify


@pytest.mark.parametrize("abstract", [False, True], ids=["path", "abstract"])
def test_notify_socket_messages_in_order(launcher, migrated_db, abstract):
    listener = launcher.notify_listener("notify", abstract=abstract)
    sup = launcher.supervisor(migrated_db, name="notify", workers=2, env=listener.env, start=False)
    sup.start(wait=False)

    ready = listener.wait_for("READY", "1")
    # READY=1 comes once every worker accepts: at that moment the pool is complete and answers.
    status = sup.status()
    assert status["workers"]["total"] == 2 and all(w["state"] != "starting" for w in status["worker_list"]), status
    assert "STATUS" in listener.messages()[ready], f"READY=1 carries STATUS=: {listener.raw}"
    old = sup.wait_ready()

    sup.send(signal.SIGHUP)
    reloading = listener.wait_for("RELOADING", "1", after=ready + 1)
    ready_again = listener.wait_for("READY", "1", after=reloading + 1)
    status = sup.status()
    assert not {w["pid"] for w in status["worker_list"] if w["state"] in ("idle", "busy")} & old, \
        f"READY=1 after the reload must mean the new generation accepts: {status}"

    sup.send(signal.SIGTERM)
    assert sup.wait_exit() == 0, sup.log()
    stopping = listener.wait_for("STOPPING", "1", after=ready_again + 1, timeout=10)

    messages = listener.messages()
    states = [(i, key) for i, m in enumerate(messages) for key in ("READY", "RELOADING", "STOPPING")
              if m.get(key) == "1"]
    assert [k for _, k in states] == ["READY", "RELOADING", "READY", "STOPPING"], listener.raw
    assert [i for i, _ in states] == [ready, reloading, ready_again, stopping], listener.raw
    statuses = [m["STATUS"] for m in messages if "STATUS" in m]
    assert statuses and all(s.strip() for s in statuses), listener.raw
    assert any(re.search(r"\d+ workers?\b", s) for s in statuses), f"STATUS= names the workers: {statuses}"
    assert any("request" in s for s in statuses), f"STATUS= names the requests: {statuses}"
    assert all("MAINPID" not in m for m in messages), listener.raw


# ---------------------------------------------------------------------------------------------- socket activation


def activation_listener(launcher, name: str) -> socket.socket:
    """A bound, listening unix socket, as notes.socket's ListenStream= makes it (systemd's role: bind once, keep it)."""
    path = make_dir(launcher.tmp_root / name) / "activated.sock"
    listener = launcher.add(socket.socket(socket.AF_UNIX, socket.SOCK_STREAM))
    listener.bind(str(path))
    os.chmod(path, 0o666)
    listener.listen(64)
    return listener


def netlink_inodes() -> dict[int, int]:
    """Every netlink socket of this network namespace: its inode and its protocol (/proc/net/netlink)."""
    rows = [line.split() for line in Path("/proc/net/netlink").read_text().splitlines()[1:]]
    return {int(row[-1]): int(row[1]) for row in rows}


def socket_inodes(pid: int) -> set[int]:
    """The inodes of the sockets among the process's descriptors."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            match = re.fullmatch(r"socket:\[(\d+)\]", os.readlink(f"/proc/{pid}/fd/{fd}"))
        except FileNotFoundError:
            continue
        if match:
            inodes.add(int(match.group(1)))
    return inodes


def test_socket_activation_keeps_the_backlog_across_a_restart(launcher, migrated_db):
    listener = activation_listener(launcher, "activation")
    path = Path(listener.getsockname())

    first = launcher.supervisor(migrated_db, name="act1", workers=2, listen_socket=listener)
    first.wait_ready()
    assert fastcgi_request(path, "GET", "/notes/").status == 200
    nginx = launcher.nginx(f"unix:{path}", name="act-nginx")
    client = Client(nginx.port)
    wait_until(lambda: client.get("/notes/").status == 200, 20, what="nginx to reach the activated socket")
    assert_status(first.status(), pid=first.pid)

    first.send(signal.SIGTERM)
    assert first.wait_exit() == 0, first.log()
    assert path.exists(), "an inherited socket is not the supervisor's to remove"

    # No supervisor runs now: connections wait in the socket's backlog.
    payload = json.dumps({"text": "queued while down", "completed": False}).encode()
    queued = FastCGIConnection(path, timeout=60)
    launcher.add(queued)
    queued.begin("POST", "/notes/", content_type="application/json", content_length=len(payload))
    queued.send_stdin(payload)
    queued.end_stdin()
    through_nginx = Background(lambda: client.post("/notes/", {"text": "queued in nginx", "completed": True},
                                                   timeout=60))

    second = launcher.supervisor(migrated_db, name="act2", workers=2, listen_socket=listener, start=False)
    second.start()
    assert_note(assert_json(queued.read_response(), 201), text="queued while down")
    assert_note(assert_json(through_nginx.result(60), 201), text="queued in nginx", completed=True)
    assert_status(second.status(), pid=second.pid)
    second.send(signal.SIGTERM)
    assert second.wait_exit() == 0, second.log()
    assert path.exists()


def test_socket_activation_with_a_sock_diag_socket_reads_the_unix_sockets_queue(launcher, migrated_db):
    """notes.socket's ListenNetlink=inet-diag 0: systemd passes a NETLINK_SOCK_DIAG socket beside the listening
    one (here first, so each is found by what it is); the supervisor reads the unix socket's queue through it,
    opens no netlink socket of its own (the shipped unit forbids that) and hands it to no worker."""
    listener = activation_listener(launcher, "act-diag")
    # Raw, as ListenNetlink= makes it, and non-blocking, which systemd's sockets may be.
    diag = launcher.add(socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_NONBLOCK, NETLINK_SOCK_DIAG))
    diag_inode = os.fstat(diag.fileno()).st_ino
    sup = launcher.supervisor(migrated_db, name="act-diag", workers=2, listen_socket=listener,
                              inherited=(diag, listener))
    workers = sup.wait_ready()
    assert sup.own_status()["listen_queue"]["length"] == 0
    netlink = netlink_inodes()
    assert netlink[diag_inode] == NETLINK_SOCK_DIAG, netlink
    assert socket_inodes(sup.pid) & netlink.keys() == {diag_inode}, (socket_inodes(sup.pid), diag_inode)
    for pid in workers:
        assert not socket_inodes(pid) & netlink.keys(), f"worker {pid} holds a netlink socket"

    waiting = []
    for pid in workers:
        os.kill(pid, signal.SIGSTOP)
    try:
        # Connections nobody accepts wait in the queue; the supervisor, never stopped, samples it.
        for _ in range(6):
            waiting.append(launcher.add(socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)))
            waiting[-1].connect(listener.getsockname())
        queue = wait_until(lambda: (lambda q: q if q["length"] >= 6 else None)(sup.own_status()["listen_queue"]),
                           10, what=f"the listen queue to show 6 waiting connections\n{sup.log()}")
    finally:
        for pid in workers:
            os.kill(pid, signal.SIGCONT)
        for s in waiting:
            s.close()
    assert queue["max"] >= 6 and queue["backlog"] == 64, queue
    assert "cannot read the listen queue" not in sup.log(), sup.log()
    assert socket_inodes(sup.pid) & netlink_inodes().keys() == {diag_inode}
    assert sup.fastcgi("GET", "/notes/").status == 200


@pytest.mark.parametrize("second", ["listener", "pipe"])
def test_socket_activation_refuses_any_other_layout_saying_what_it_got(launcher, migrated_db, second):
    listener = activation_listener(launcher, f"act-bad-{second}")
    if second == "listener":
        other = activation_listener(launcher, "act-bad-other")
        what, reason = "a listening stream socket", "more than one listening socket"
    else:
        read_end, write_end = os.pipe()
        other = launcher.add(os.fdopen(read_end, "rb"))
        launcher.add(os.fdopen(write_end, "wb"))
        what, reason = "a pipe", "fd 4 is neither"
    sup = launcher.supervisor(migrated_db, name=f"act-bad-{second}", workers=1, listen_socket=listener,
                              inherited=(listener, other), start=False)
    sup.start(wait=False)
    assert sup.wait_exit() != 0, sup.log()
    expected = (f"systemd passed LISTEN_FDS=2 (fd 3 is a listening stream socket, fd 4 is {what}): {reason}; "
                "expected one listening stream socket (notes.socket's ListenStream=) and at most one "
                "NETLINK_SOCK_DIAG socket (ListenNetlink=inet-diag 0)")
    assert expected in sup.log(), sup.log()
    assert sup.started_count() == 0, sup.log()


def test_workers_of_a_killed_supervisor_finish_their_request_and_stop(launcher):
    """SIGKILL of the supervisor alone (a crash, an OOM kill): its workers are told by the kernel
    (PR_SET_PDEATHSIG) and stop gracefully, finishing the request in hand and closing their database
    connections, instead of serving on unsupervised and holding the socket a new supervisor needs."""
    stack = launcher.stack("orphans", workers=2)
    sup, db = stack.supervisor, stack.db
    workers = sup.wait_ready()
    note = stack.client.create_note("held while the supervisor dies")
    session, held, holder = hold_request_on_lock(launcher, db, stack.client, note["id"], "finished by an orphan")
    assert holder in workers
    sup.send(signal.SIGKILL)
    assert sup.wait_exit(10) == -signal.SIGKILL
    session.commit()
    resp = held.result(30)
    assert resp.status == 200, resp
    wait_until(lambda: not any(process_alive(pid) for pid in workers), 20,
               what=f"the killed supervisor's workers {workers} to stop")
    wait_until(lambda: not db.worker_backends(), 20, what="their database connections to close")
    assert db.query(f"SELECT text FROM notes WHERE id = {note['id']}") == [["finished by an orphan"]]

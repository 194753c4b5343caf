"""The watchdog (--timeout), recycling (--max-requests) and the crash-loop backoff (a database down at start)."""

import os
import re
import signal
import time

from harness.assertions import (NGINX_UNAVAILABLE, assert_json, assert_load_clean, assert_nginx_unavailable,
                                assert_note, assert_status)
from harness.postgres import WORKER_APP_PREFIX, migrate
from harness.processes import process_alive, wait_until
from harness.stack import hold_request_on_lock
from harness.supervisor import SupervisorOptions


def test_request_blocked_past_timeout_is_ended_and_its_lock_freed(launcher):
    stack = launcher.stack("timeout", workers=2, supervisor_options=SupervisorOptions(extra_args=["--timeout", "2"]))
    sup, db, client = stack.supervisor, stack.db, stack.client
    pids = sup.wait_ready()
    note = client.create_note("old text")
    path = f"/notes/{note['id']}/"
    timeouts = assert_status(stack.status())["restarts"]["timeout"]

    session, put, busy = hold_request_on_lock(launcher, db, client, note["id"], "blocked update")
    assert busy in pids
    resp = put.result(30)  # ends by itself, well before the lock is released
    assert resp.status == 503, f"{resp!r}\n{stack.diagnostics()}"
    assert_json(resp, 503)
    assert resp.json()["detail"] in ("Request timed out", "Service unavailable"), resp

    # the supervisor names the request and how long it ran
    def timeout_line():
        return next((l for l in sup.log().splitlines()
                     if re.search(rf"\b{busy}\b", l) and "PUT" in l and path in l
                     and re.search(r"\d+(\.\d+)?\s?m?s\b", l)), None)
    line = wait_until(timeout_line, 20,
                      what=lambda: f"a log line naming PUT {path} and a duration\n{sup.log()}")
    assert "timed out" in line, line
    # the worker is replaced
    wait_until(lambda: busy not in sup.worker_pids() and len(sup.worker_pids()) == 2, 20, what="a replacement")
    sup.wait_ready()
    assert not process_alive(busy)
    # and its statement did not outlive it: nobody waits on the test's lock any more
    wait_until(lambda: not db.lock_waiters(), 20,
               what=lambda: f"no backend waiting on a lock: {db.lock_waiters()}")
    wait_until(lambda: f"{WORKER_APP_PREFIX}{busy}" not in db.worker_backend_names(), 20,
               what="the timed-out worker's session to end")
    assert db.query(f"SELECT text FROM notes WHERE id = {note['id']}") == [["old text"]]

    # the row is the lock holder's: its own update commits, and the blocked update never lands
    session.execute(f"UPDATE notes SET text = 'by the lock holder' WHERE id = {note['id']}")
    session.commit()
    assert db.query(f"SELECT text FROM notes WHERE id = {note['id']}") == [["by the lock holder"]]
    assert_note(assert_json(client.put(path, {"text": "later", "completed": False}), 200), text="later")
    assert_note(assert_json(client.get(path), 200), text="later")
    status = assert_status(stack.status())
    assert status["restarts"]["timeout"] == timeouts + 1, status["restarts"]


def test_hung_worker_is_killed_past_timeout(launcher):
    """The watchdog's own path: a worker that cannot even answer once the database gave up (stopped with
    SIGSTOP while it holds a request) is killed by the supervisor after --timeout."""
    stack = launcher.stack("hung", workers=2, supervisor_options=SupervisorOptions(extra_args=["--timeout", "2"]))
    sup, db, client = stack.supervisor, stack.db, stack.client
    sup.wait_ready()
    note = client.create_note("old text")
    path = f"/notes/{note['id']}/"
    timeouts = assert_status(stack.status())["restarts"]["timeout"]
    session, put, busy = hold_request_on_lock(launcher, db, client, note["id"], "blocked update")
    os.kill(busy, signal.SIGSTOP)

    resp = put.result(30)
    # A PUT that went on a kept connection is resent by nginx when its worker dies (nginx/notes.conf): the copy
    # waits on the same lock in the other worker, whose statement timeout ends it. On a new connection it is not.
    resent = resp.status == 503 and resp.json() != NGINX_UNAVAILABLE
    if resent:
        assert_json(resp, 503)
        assert resp.json()["detail"] == "Request timed out", resp
    else:
        assert_nginx_unavailable(resp)
    line = wait_until(lambda: next((l for l in sup.log().splitlines() if f"worker {busy} timed out" in l), None), 20,
                      what=lambda: f"the watchdog's line about worker {busy}\n{sup.log()}")
    assert re.search(rf"timed out after \d+(\.\d+)?s on PUT {re.escape(path)} \(unresponsive while busy\); killing it",
                     line), line
    wait_until(lambda: busy not in sup.worker_pids() and len(sup.worker_pids()) == 2, 20, what="a replacement")
    sup.wait_ready()
    assert not process_alive(busy)
    wait_until(lambda: not db.lock_waiters(), 20,
               what=lambda: f"no backend waiting on a lock: {db.lock_waiters()}")
    session.commit()
    assert db.query(f"SELECT text FROM notes WHERE id = {note['id']}") == [["old text"]]
    assert_note(assert_json(client.put(path, {"text": "later", "completed": False}), 200), text="later")
    assert assert_status(stack.status())["restarts"]["timeout"] == timeouts + (2 if resent else 1)


# The watchdog's --timeout in the frozen-worker tests, the supervisor's grace between SIGTERM and SIGKILL (1 s),
# and the slack a loaded two-core machine needs on top: the documented bound on a request's wait.
FROZEN_TIMEOUT = 2
KILL_GRACE = 1
SLACK = 10
# nginx's log lines for a kept connection that broke under a request it had sent: the request was resent.
RESENT = re.compile(r"upstream prematurely closed connection|Connection reset by peer")


def _frozen_worker_is_replaced_under_load(stack, frozen, state):
    """With load running, ``frozen`` (SIGSTOPped by the caller) is found, killed and replaced, the supervisor
    says it was unresponsive and in which state, and no request of the load fails or waits past the bound."""
    sup = stack.supervisor
    try:
        line = wait_until(
            lambda: next((l for l in sup.log().splitlines() if f"worker {frozen} " in l and "unresponsive" in l), None),
            FROZEN_TIMEOUT + KILL_GRACE + SLACK, what=lambda: f"the watchdog's line about worker {frozen}\n{sup.log()}")
        assert f"unresponsive while {state}" in line, line
        wait_until(lambda: not process_alive(frozen), FROZEN_TIMEOUT + KILL_GRACE + SLACK,
                   what=lambda: f"worker {frozen} to be killed\n{sup.log()}")
        wait_until(lambda: frozen not in sup.worker_pids() and len(sup.worker_pids()) == 2, 20, what="a replacement")
    finally:
        if process_alive(frozen):
            os.kill(frozen, signal.SIGCONT)
    return line


def test_frozen_idle_worker_is_replaced_and_the_requests_nginx_gave_it_are_answered(launcher):
    """The issue's measurement: an idle worker stops (SIGSTOP) while nginx keeps connections to it. It is found
    by its missing heartbeat, killed and replaced; the requests nginx had written to its connections are
    resent by nginx to the other worker, so none fails, and none waits much past --timeout."""
    stack = launcher.stack("frozen-idle", workers=2,
                           supervisor_options=SupervisorOptions(extra_args=["--timeout", str(FROZEN_TIMEOUT)]))
    sup = stack.supervisor
    pids = sup.wait_ready()
    # Warm-up: nginx then keeps connections to both workers (six requests at once need six).
    warm = stack.load(connections=6, max_requests=300)
    warm.wait_for(300)
    assert_load_clean(warm.stop(), stack.diagnostics())
    frozen = min(pids)
    # Between loads no request is in flight: the worker is idle, waiting in epoll with its kept connections.
    os.kill(frozen, signal.SIGSTOP)
    stopped_at = time.monotonic()
    load = stack.load(connections=6, max_requests=100_000)
    _frozen_worker_is_replaced_under_load(stack, frozen, "idle")
    load.wait_more(200)
    report = load.stop()

    assert_load_clean(report, stack.diagnostics())
    bound = FROZEN_TIMEOUT + KILL_GRACE + SLACK
    slowest = max(report.results, key=lambda r: r.finished - r.started)
    assert slowest.finished - slowest.started < bound, f"{slowest!r} waited past --timeout + grace + slack"
    assert [r for r in report.results if r.started < stopped_at + FROZEN_TIMEOUT], "the load ran while it was frozen"
    assert RESENT.search(stack.nginx.log_text()), \
        f"nginx resent no request from the frozen worker's connections\n{stack.nginx.log_text()}"
    status = assert_status(stack.status())
    assert status["restarts"]["timeout"] >= 1, status["restarts"]
    assert frozen not in {w["pid"] for w in status["worker_list"]}


def test_frozen_busy_worker_is_replaced_under_load(launcher):
    """The same with a worker frozen in the middle of a request (one held on a row lock): the watchdog names a
    request, and the load, which nginx spreads over both workers' kept connections, sees no failure."""
    stack = launcher.stack("frozen-busy", workers=2,
                           supervisor_options=SupervisorOptions(extra_args=["--timeout", str(FROZEN_TIMEOUT)]))
    sup, db, client = stack.supervisor, stack.db, stack.client
    sup.wait_ready()
    note = client.create_note("held")
    # Warm-up, as for the idle worker: nginx keeps connections to both workers, more than the four of the load and
    # the held PUT need, so none of them goes on a connection nginx opens while the worker freezes. nginx resends a
    # request lost on a kept connection, but not one lost on a connection it had just opened (docs/ARCHITECTURE.md).
    warm = stack.load(connections=6, max_requests=300)
    warm.wait_for(300)
    assert_load_clean(warm.stop(), stack.diagnostics())
    load = stack.load(connections=4, max_requests=100_000)
    load.wait_for(100)
    session, put, busy = hold_request_on_lock(launcher, db, client, note["id"], "blocked update")
    os.kill(busy, signal.SIGSTOP)
    line = _frozen_worker_is_replaced_under_load(stack, busy, "busy")
    # The slot shows the first request of the batch the worker was answering: the held PUT or one of the load's.
    assert re.search(r"timed out after \d+(\.\d+)?s on (GET|POST|PUT) /notes/", line), line
    load.wait_more(200)
    report = load.stop()
    session.rollback()
    put.result(60)  # the held request ends one way or another (resent, it meets the lock's statement timeout)

    assert_load_clean(report, stack.diagnostics())
    bound = FROZEN_TIMEOUT + KILL_GRACE + SLACK
    slowest = max(report.results, key=lambda r: r.finished - r.started)
    assert slowest.finished - slowest.started < bound, f"{slowest!r} waited past --timeout + grace + slack"


def test_max_requests_recycles_workers_without_a_failure(launcher):
    stack = launcher.stack("recycle", workers=2, supervisor_options=SupervisorOptions(
        extra_args=["--max-requests", "20", "--max-requests-jitter", "5"]))
    sup = stack.supervisor
    first = sup.wait_ready()
    connections = 3
    load = stack.load(connections=connections, max_requests=2000)
    retired_re = re.compile(r"worker (\d+) retired after (\d+) requests")
    wait_until(lambda: len(retired_re.findall(sup.log())) >= 6, 60,
               what=lambda: f"six workers retired after max requests\n{sup.log()}")
    load.wait_more(30)
    report = load.stop()

    assert_load_clean(report, stack.diagnostics())
    retired = [(int(pid), int(n)) for pid, n in retired_re.findall(sup.log())]
    for pid, n in retired:
        # A retiring worker still answers what nginx has sent on the connections it keeps, at most one request
        # each, and nginx has at most one connection per request in flight (the load's, and one of the test's).
        assert 20 <= n <= 25 + connections + 1, f"worker {pid} retired after {n} requests, not 20 + 0...5 (+ in flight)"
    assert first <= {pid for pid, _ in retired}, f"both first workers retire: {retired}"
    current = sup.wait_ready()
    assert len(sup.started_pids() - first) >= len(retired), f"retired workers are replaced\n{sup.log()}"
    assert not current & {pid for pid, _ in retired}
    assert not re.search(r"killed by signal", sup.log()), sup.log()
    status = assert_status(stack.status())
    assert status["restarts"]["max_requests"] >= len(retired), (status["restarts"], retired)


def test_database_down_at_start_backs_off_then_pool_comes_up(launcher, bin_dir):
    cluster = launcher.cluster_at("pg-down")
    db = cluster.create_database()
    migrate(bin_dir, db.url)
    cluster.stop()

    sup = launcher.supervisor(db, name="down", workers=2, start=False)
    sup.start(wait=False)
    backoff = re.compile(r"next start in (\d+(?:\.\d+)?)\s?(m?s)")

    def delays():
        assert sup.proc.poll() is None, f"the supervisor must stay up:\n{sup.log()}"
        return [float(v) / (1000 if unit == "ms" else 1) for v, unit in backoff.findall(sup.log())]
    # 0.1 + 0.2 + 0.4 + 0.8 + 1.6 s: five backoff steps
    wait_until(lambda: len(delays()) >= 5, 30, interval=0.1,
               what=lambda: f"five backoff steps\n{sup.log()}")
    seen = delays()
    starts = sup.started_count()
    assert starts < 30, f"{starts} worker starts during five backoff steps: a fork storm\n{sup.log()}"
    assert all(b >= a for a, b in zip(seen, seen[1:])) and seen[-1] > seen[0], f"delays do not grow: {seen}"
    assert max(seen) <= 10, f"backoff capped at a few seconds: {seen}"
    assert "cannot connect to database" in sup.log(), f"the reason is logged:\n{sup.log()}"

    cluster.start()
    pids = sup.wait_ready(timeout=40)
    status = assert_status(sup.status(), pid=sup.pid, workers=2)
    assert status["workers"]["total"] == 2, status
    assert all(w["state"] in ("idle", "busy") for w in status["worker_list"]), status
    assert {w["pid"] for w in status["worker_list"]} == pids
    assert_json(sup.fastcgi("GET", "/healthz"), 200, {"status": "ok"})
    assert sup.proc.poll() is None
    note = assert_note(assert_json(sup.fastcgi("POST", "/notes/", body=b'{"text":"up","completed":false}',
                                               content_type="application/json"), 201))
    assert note["text"] == "up"

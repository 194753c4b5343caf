"""PostgreSQL outages while the service runs (docs/DATABASE.md): restarts under load, a connection lost in the
middle of a write (never retried) or of a read (retried once on a new connection), and a network partition
(packets dropped, nothing refused).

What every test here holds the service to: each answer is a 2xx or the 503 ``{"detail": "Database
unavailable"}`` with ``Retry-After``; no request hangs (each is bounded by a generous client time-out, and one
that runs into it is a failure); the same workers serve before and after (no restart, the supervisor untouched).
"""

import json
import re
import time
import uuid

import pytest

from harness.assertions import assert_json, assert_note
from harness.load import Background
from harness.netns import net_namespace
from harness.pgserver import pg_server
from harness.postgres import backend_waiting_on_lock, lock_waiting_worker
from harness.processes import process_alive, wait_until

DB_DOWN = {"detail": "Database unavailable"}
WORKERS = 2
CONNECTIONS = 4
# A client time-out far above the worst legitimate wait (a partitioned connection in use is given up after about
# 10 s of unacknowledged data, a new one after the 3 s connect_timeout; a read is then tried once more), and
# below the supervisor's watchdog (--timeout 30), which would kill and replace a hung worker.
REQUEST_TIMEOUT = 25


def is_unavailable(status, headers, body: bytes) -> bool:
    """The database-outage answer: 503, the JSON body, and a Retry-After of whole seconds."""
    if status != 503:
        return False
    try:
        if json.loads(body) != DB_DOWN:
            return False
    except ValueError:
        return False
    values = [v for k, v in headers if k.lower() == "retry-after"]
    return len(values) == 1 and re.fullmatch(r"[1-9][0-9]*", values[0].strip()) is not None


def assert_unavailable(resp) -> None:
    assert is_unavailable(resp.status, resp.headers, resp.body), \
        f"expected 503 {DB_DOWN} with Retry-After, got {resp!r}"


def assert_only_ok_or_unavailable(report, diagnostics: str) -> None:
    """No request without an answer (none hung past REQUEST_TIMEOUT, none refused), and every non-2xx answer is
    the database-outage 503."""
    assert report.total > 0, "the load sent nothing"
    assert not report.errors, f"requests without an answer (hung or refused): {report.summary()}\n{diagnostics}"
    wrong = [r for r in report.failures if not is_unavailable(r.status, r.headers, r.body)]
    assert not wrong, f"answers other than 2xx or the outage 503: {wrong[:8]}\n{report.summary()}\n{diagnostics}"


def assert_recovered(report, since: float, workers: int, diagnostics: str) -> None:
    """After ``since`` (the database reachable again) each worker fails at most once, on the connection the outage
    broke (a write is not retried), and the load ends with a run of successes."""
    after = report.started_after(since)
    unavailable = [r for r in after if r.status == 503]
    assert len(unavailable) <= workers, \
        f"{len(unavailable)} outage answers after the database was back (at most one per worker): " \
        f"{unavailable}\n{report.summary()}\n{diagnostics}"
    tail = report.results[-3 * CONNECTIONS:]
    assert len(tail) == 3 * CONNECTIONS and all(r.ok for r in tail), \
        f"the load does not end with successes: {tail}\n{report.summary()}\n{diagnostics}"


def assert_same_pool(stack, pids: set, supervisor_pid: int) -> None:
    sup = stack.supervisor
    assert sup.proc.poll() is None and sup.pid == supervisor_pid and process_alive(supervisor_pid), sup.log()
    assert sup.worker_pids() == pids, f"workers were replaced: {pids} -> {sup.worker_pids()}\n{sup.log()}"
    assert not re.search(r"\b(exited|killed)\b", sup.log()), sup.log()
    # every worker holds a (new) database connection again
    wait_until(lambda: set(stack.db.worker_backends()) == pids, 20,
               what=lambda: f"every worker connected again: {stack.db.worker_backends()} vs {pids}")


def settles(predicate, timeout: float) -> bool:
    """Whether ``predicate`` becomes true within ``timeout`` seconds (no exception: the caller asserts later,
    after cleaning up what must not stay held)."""
    try:
        wait_until(predicate, timeout)
        return True
    except AssertionError:
        return False


def durations(results) -> str:
    return ", ".join(f"{r.finished - r.started:.1f}s" for r in results)


# ---------------------------------------------------------------------------------------------- restarts


@pytest.fixture(scope="module")
def server(module_launcher):
    """A PostgreSQL server on TCP for this module's restarts (each test has its own database)."""
    return pg_server(module_launcher, "pg-outages")


@pytest.mark.parametrize("how", ["restart-fast", "restart-immediate", "down-then-up"])
def test_database_restart_under_load_gives_503_then_2xx_without_worker_restart(launcher, server, how):
    """pg_ctl restart -m fast / -m immediate under a steady load through nginx, and an outage long enough to be
    seen (stop -m immediate, a stream of 503s, start): no hang, only 2xx or the outage 503, and the same workers
    answer 2xx again once the database is back."""
    stack = launcher.stack(f"restart-{how}", db=server.create_database(), workers=WORKERS)
    sup = stack.supervisor
    pids, supervisor_pid = sup.wait_ready(), sup.pid
    load = stack.load(connections=CONNECTIONS, max_requests=100_000, request_timeout=REQUEST_TIMEOUT)
    load.wait_for(100)

    down = time.monotonic()
    if how == "down-then-up":
        server.stop("immediate")
        load.wait_more(40, timeout=60)  # answered while the database is down: not a hang
        server.start()
    else:
        server.restart(how.split("-")[1])
    back = time.monotonic()
    load.wait_more(300, timeout=90)
    report = load.stop()

    diagnostics = f"{stack.diagnostics()}\n--- postgresql\n{server.log_tail()}"
    assert_only_ok_or_unavailable(report, diagnostics)
    assert_recovered(report, back, WORKERS, diagnostics)
    outage = [r for r in report.results if r.status == 503]
    if how == "down-then-up":
        during = [r for r in outage if down < r.started and r.finished < back]
        assert len(during) >= 20, f"the load should have seen the outage: {report.summary()}"
    print(f"\n{how}: {report.total} requests, {len(outage)} answered 503 "
          f"(longest {max((r.finished - r.started for r in outage), default=0):.2f}s)")
    assert_same_pool(stack, pids, supervisor_pid)


# ---------------------------------------------------------------------------------------------- a connection lost mid-statement


def lock_notes(launcher, db):
    """A psql session holding ACCESS EXCLUSIVE on notes: every statement on notes waits until it rolls back."""
    session = launcher.psql(db.url)
    session.execute("BEGIN")
    session.execute("LOCK TABLE notes IN ACCESS EXCLUSIVE MODE")
    return session


def terminate_waiting_backend(db, worker: int, not_in: set) -> int:
    """pg_terminate_backend of the backend of ``worker`` that waits on the lock (one not terminated before)."""
    def waiting():
        backend = backend_waiting_on_lock(db.cluster, worker)
        return backend if backend is not None and backend not in not_in else None
    backend = wait_until(waiting, 20, what=f"a new session of worker {worker} waiting on the lock")
    assert db.query(f"SELECT pg_terminate_backend({backend})") == [["t"]]
    return backend


def test_write_whose_connection_dies_mid_statement_is_not_retried(launcher):
    """POST /notes/ waits on the table lock; its backend is terminated; the lock is released. A write is never
    run again on a new connection: the client gets the 503 and the row does not exist. (Were it retried, the
    retry would wait for the lock and then insert the row: 201, and the row would be there.)"""
    stack = launcher.stack("lost-write", workers=WORKERS)
    sup, db, client = stack.supervisor, stack.db, stack.client
    pids, supervisor_pid = sup.wait_ready(), sup.pid
    text = f"written once {uuid.uuid4().hex}"

    session = lock_notes(launcher, db)
    post = Background(lambda: client.post("/notes/", {"text": text, "completed": False}, timeout=60))
    worker = lock_waiting_worker(db)
    terminate_waiting_backend(db, worker, set())
    # Not retried: the answer comes while the lock is still held (a retry would be waiting on it).
    answered_under_lock = settles(post.done, 20)
    session.rollback()
    resp = post.result(30)

    assert_unavailable(resp)
    assert answered_under_lock, "the POST was answered only after the lock was released: was it run again?"
    assert db.query(f"SELECT count(*) FROM notes WHERE text = '{text}'") == [["0"]], "the lost write was applied"
    # the worker reconnects by itself: the next write succeeds, exactly once
    assert_note(assert_json(client.post("/notes/", {"text": text, "completed": True}), 201), text=text)
    assert db.query(f"SELECT count(*) FROM notes WHERE text = '{text}'") == [["1"]]
    assert_same_pool(stack, pids, supervisor_pid)


@pytest.mark.parametrize("kills", [1, 2])
def test_read_whose_connection_dies_mid_statement_is_retried_once(launcher, kills):
    """GET /notes/{id}/ waits on the table lock and its backend is terminated. With one termination the read is
    run again on a new connection (seen waiting on the lock in a new session) and answers 200 once the lock is
    released; when that second connection is terminated too, the worker gives up: 503 (retried once, not in a
    loop)."""
    stack = launcher.stack(f"lost-read-{kills}", workers=WORKERS)
    sup, db, client = stack.supervisor, stack.db, stack.client
    pids, supervisor_pid = sup.wait_ready(), sup.pid
    note = client.create_note("read through a lost connection", True)

    session = lock_notes(launcher, db)
    get = Background(lambda: client.get(f"/notes/{note['id']}/", timeout=60))
    worker = lock_waiting_worker(db)
    terminated: set[int] = set()
    for _ in range(kills):
        terminated.add(terminate_waiting_backend(db, worker, terminated))

    if kills == 1:
        # the retry: the same request, on a new connection of the same worker, waiting on the same lock
        wait_until(lambda: backend_waiting_on_lock(db.cluster, worker) not in (None, *terminated), 20,
                   what=lambda: f"worker {worker} to retry the read on a new connection\n{sup.log()}")
        assert not get.done()
        session.rollback()
        assert assert_json(get.result(30), 200) == note
    else:
        wait_until(get.done, 20, what="the twice-interrupted read to be answered")
        session.rollback()
        assert_unavailable(get.result(30))
        assert assert_json(client.get(f"/notes/{note['id']}/"), 200) == note
    assert_same_pool(stack, pids, supervisor_pid)


# ---------------------------------------------------------------------------------------------- partition


def test_partition_ends_requests_with_503_and_service_recovers_after_healing(launcher):
    """PostgreSQL in a network namespace; a blackhole route inside it drops every packet towards the service
    (nothing is refused). Three ways a request meets the partition, each ended by a libpq setting the workers
    apply, none by the watchdog: a PUT already waiting in the server (on a row lock the test holds), whose
    connection carries no data, is given up by the keepalives; requests of a steady load in the middle of a
    round trip by tcp_user_timeout (data not acknowledged); requests arriving afterwards by connect_timeout. All
    end with the 503, none hangs; once the route is removed the same workers answer 2xx again."""
    workers = 3  # one held on the lock, two for the load
    netns = net_namespace(launcher)
    server = pg_server(launcher, "pg-partition", netns=netns)
    stack = launcher.stack("partition", db=server.create_database(), workers=workers)
    sup, db, client = stack.supervisor, stack.db, stack.client
    pids, supervisor_pid = sup.wait_ready(), sup.pid
    note = client.create_note("before the partition")

    # The lock is held through the unix socket, which the partition does not touch.
    session = launcher.psql(server.socket_url(db.name))
    session.hold_row_lock("notes", note["id"])
    put = Background(lambda: client.put(f"/notes/{note['id']}/", {"text": "lost in the partition",
                                                                  "completed": True}, timeout=REQUEST_TIMEOUT))
    held = lock_waiting_worker(db)
    load = stack.load(connections=CONNECTIONS, max_requests=100_000, request_timeout=REQUEST_TIMEOUT)
    load.wait_for(100)

    cutting = time.monotonic()
    netns.partition()
    cut = time.monotonic()  # (a request started between the two may still have got through)
    put_resp = put.result(60)
    put_seconds = time.monotonic() - cut
    # by now the load's requests caught in a round trip have failed; wait for some sent after the cut to end too
    # (counted by when they started: the ones caught in a round trip may end last, on a slow machine or under ASan)
    load.wait_started_after(cut, CONNECTIONS, timeout=90)
    heal = time.monotonic()
    netns.heal()
    load.wait_more(300, timeout=120)
    report = load.stop()

    diagnostics = f"{stack.diagnostics()}\n--- postgresql\n{server.log_tail()}"
    assert_unavailable(put_resp)
    assert_only_ok_or_unavailable(report, diagnostics)
    in_flight = [r for r in report.in_flight_at(cut) if r.status == 503]
    during = [r for r in report.results if cut < r.started and r.finished < heal]
    assert during and all(r.status == 503 for r in during), \
        f"requests sent during the partition must end with the 503: {during}\n{report.summary()}"
    assert_recovered(report, heal, workers, diagnostics)
    print(f"\npartition: held PUT answered after {put_seconds:.1f}s; load requests caught in a round trip "
          f"{len(in_flight)} (took {durations(in_flight)}); sent during it {len(during)} (took {durations(during)})")
    assert_same_pool(stack, pids, supervisor_pid)
    assert held in pids

    # Why a write is never retried: the server never learnt that its client gave up, so the PUT the client saw
    # fail is still waiting on the lock, and commits as soon as the lock is released.
    session.rollback()
    wait_until(lambda: db.query(f"SELECT text FROM notes WHERE id = {note['id']}") == [["lost in the partition"]],
               20, what="the orphaned PUT to commit on the server")

"""GET /status (JSON and Prometheus text) from the shared scoreboard, and GET /healthz."""

import math
import os
import signal

import pytest

from harness.assertions import RESTART_CAUSES, assert_json, assert_status
from harness.fastcgi_client import fastcgi_request
from harness.processes import wait_until
from harness.prometheus import parse_prometheus
from harness.stack import hold_request_on_lock

WORKERS = 2


@pytest.fixture(scope="module")
def pool(module_launcher):
    return module_launcher.stack("status", workers=WORKERS)


def status_of(pool):
    return assert_status(pool.status(), pid=pool.supervisor.pid, listen=pool.supervisor.listen, workers=WORKERS)


def test_status_document(pool):
    sup = pool.supervisor
    pids = sup.wait_ready()
    resp = pool.client.get("/status")
    doc = assert_status(assert_json(resp, 200), pid=sup.pid, listen=sup.listen, workers=WORKERS)
    assert doc["workers"]["total"] == WORKERS
    assert doc["workers"]["idle"] + doc["workers"]["busy"] == WORKERS, doc
    assert {w["pid"] for w in doc["worker_list"]} == pids
    # The supervisor answers it from the scoreboard (nginx routes /status to its own listener): no worker is busy
    # with it.
    assert not [w for w in doc["worker_list"] if w["current_request"]], doc

    accepted = doc["accepted_requests"]
    served = sum(w["requests"] for w in doc["worker_list"])
    for i in range(10):
        assert pool.client.get("/notes/").status == 200
    later = status_of(pool)
    assert later["accepted_requests"] >= accepted + 10, (doc, later)
    assert sum(w["requests"] for w in later["worker_list"]) >= served + 10, (doc, later)
    assert any(w["last_request_ms"] is not None for w in later["worker_list"]), later
    assert later["supervisor"]["started_at"] == doc["supervisor"]["started_at"]


def test_status_counts_a_crash(pool):
    sup = pool.supervisor
    before_pids = sup.wait_ready()
    before = status_of(pool)["restarts"]
    victim = min(before_pids)
    os.kill(victim, signal.SIGKILL)
    wait_until(lambda: victim not in sup.worker_pids() and len(sup.worker_pids()) == WORKERS, 20,
               what="a replacement")
    sup.wait_ready()
    def counted():
        doc = status_of(pool)
        return doc if doc["restarts"]["crashed"] == before["crashed"] + 1 else None
    doc = wait_until(counted, 10, what="restarts.crashed to count the SIGKILL")
    assert doc["restarts"]["total"] == before["total"] + 1, (before, doc["restarts"])
    for cause in ("timeout", "max_requests", "reload", "scaled_down"):
        assert doc["restarts"][cause] == before[cause], (before, doc["restarts"])
    assert victim not in {w["pid"] for w in doc["worker_list"]}


def test_status_shows_the_request_in_flight(pool, module_launcher):
    client, db = pool.client, pool.db
    note = client.create_note("held")
    session, put, busy = hold_request_on_lock(module_launcher, db, client, note["id"], "released")
    try:
        doc = status_of(pool)
        (entry,) = [w for w in doc["worker_list"] if w["pid"] == busy]
        assert entry["state"] == "busy", doc
        cur = entry["current_request"]
        assert cur["method"] == "PUT" and cur["path"] == f"/notes/{note['id']}/", cur
        assert doc["workers"]["busy"] == 1, f"the held worker alone (the supervisor answers /status): {doc}"
        later = status_of(pool)
        (again,) = [w for w in later["worker_list"] if w["pid"] == busy]
        assert again["current_request"]["duration_ms"] >= cur["duration_ms"], (cur, again)
    finally:
        session.commit()
    assert_json(put.result(30), 200)
    def released():
        (w,) = [w for w in status_of(pool)["worker_list"] if w["pid"] == busy]
        return w if w["state"] == "idle" else None
    entry = wait_until(released, 10, what=f"worker {busy} to be done with the PUT")
    assert entry["last_request_ms"] is not None, entry
    assert entry["current_request"] is None, entry


def test_status_prometheus(pool):
    sup = pool.supervisor
    pids = sup.wait_ready()
    resp = pool.client.get("/status?format=prometheus")
    assert resp.status == 200, resp
    ctype = resp.header("Content-Type") or ""
    assert ctype.startswith("text/plain") and "version=0.0.4" in ctype, ctype
    samples, types, helps = parse_prometheus(resp.body.decode("utf-8"))
    expected = {
        "notes_supervisor_start_time_seconds": "gauge",
        "notes_accepted_requests_total": "counter",
        "notes_workers": "gauge",
        "notes_worker_restarts_total": "counter",
        "notes_worker_requests_total": "counter",
        "notes_worker_rss_bytes": "gauge",
        "notes_worker_last_request_seconds": "gauge",
    }
    for name, kind in expected.items():
        assert name in types, f"no # TYPE for {name}:\n{resp.body.decode()}"
        assert types[name] == kind, f"{name} is a {types[name]}, expected {kind}"
        assert name in helps, f"no # HELP for {name}"

    def values(name):
        return [(labels, value) for n, labels, value in samples if n == name]
    (start,) = values("notes_supervisor_start_time_seconds")
    assert start[0] == {} and start[1] > 1.5e9, start
    (accepted,) = values("notes_accepted_requests_total")
    assert accepted[1] >= 1
    states = {labels["state"]: value for labels, value in values("notes_workers")}
    assert set(states) == {"idle", "busy", "starting", "retiring"}, states
    # The supervisor answered: no worker is busy with it.
    assert states["idle"] == WORKERS and states["busy"] == 0, states
    causes = {labels["cause"]: value for labels, value in values("notes_worker_restarts_total")}
    assert set(causes) == set(RESTART_CAUSES), causes
    per_worker = values("notes_worker_requests_total")
    assert {int(l["pid"]) for l, _ in per_worker} == pids, per_worker
    assert all(l["generation"].isdigit() for l, _ in per_worker), per_worker
    assert {int(l["pid"]) for l, _ in values("notes_worker_rss_bytes")} == pids
    assert all(v > 0 for _, v in values("notes_worker_rss_bytes"))
    for labels, value in values("notes_worker_last_request_seconds"):
        assert int(labels["pid"]) in pids and (math.isnan(value) or value >= 0), (labels, value)
    for name, labels, value in samples:
        assert not math.isinf(value), (name, labels, value)


def test_healthz(pool):
    for _ in range(2 * WORKERS):
        assert_json(pool.client.get("/healthz"), 200, {"status": "ok"})


def test_healthz_503_while_the_database_is_down(launcher):
    cluster = launcher.cluster_at("pg-health")
    stack = launcher.stack("health", workers=WORKERS, db=cluster.create_database())
    client = stack.client
    assert_json(client.get("/healthz"), 200, {"status": "ok"})
    cluster.stop()
    for _ in range(2 * WORKERS):  # answered by the workers themselves (not nginx's 503)
        assert_json(client.get("/healthz"), 503, {"status": "unavailable"})
    cluster.start()
    wait_until(lambda: client.get("/healthz").status == 200, 30, interval=0.2, what="/healthz to recover")
    for _ in range(2 * WORKERS):
        resp = client.get("/healthz")
        if resp.status != 200:  # at most one more 503 per worker while it reconnects
            assert_json(resp, 503, {"status": "unavailable"})
    wait_until(lambda: all(client.get("/healthz").status == 200 for _ in range(2 * WORKERS)), 20,
               what="every worker healthy")


def test_worker_without_supervisor_has_no_status(launcher, migrated_db):
    worker = launcher.worker(migrated_db.url)
    worker.wait_connected(migrated_db)
    assert_json(fastcgi_request(worker.socket_path, "GET", "/status"), 404, {"detail": "Not Found"})
    assert_json(fastcgi_request(worker.socket_path, "GET", "/healthz"), 200, {"status": "ok"})


def test_status_and_livez_answer_while_every_worker_is_stopped(pool):
    """The supervisor answers /status and /livez itself, so they answer when no worker can (PHP-FPM's
    pm.status_listen): every worker SIGSTOPped, both still answer through nginx, and /status shows the workers."""
    sup = pool.supervisor
    pids = sup.wait_ready()
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        live = pool.client.get("/livez")
        assert assert_json(live, 200) == {"status": "ok"}
        doc = assert_status(assert_json(pool.client.get("/status"), 200), pid=sup.pid, workers=WORKERS)
        assert {w["pid"] for w in doc["worker_list"]} == pids
        text = pool.client.get("/status?format=prometheus")
        assert text.status == 200 and parse_prometheus(text.body.decode())
        assert pool.client.get("/status?format=xml").status == 422
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)
    assert pool.client.get("/notes/").status == 200


"""Saturation in /status (JSON and Prometheus): the listen queue and its maximum, the pool's spells of every
worker busy at once, request durations by route, requests by route and status; all counted in shared memory,
so they survive the worker that served them."""

import os
import signal
import socket
import time
from collections import Counter

import pytest

from harness.assertions import assert_json
from harness.processes import wait_until
from harness.prometheus import Metrics
from harness.stack import hold_request_on_lock

# The declared path templates the load's requests go to (Sources/NotesAPI/Notes/NotesEndpoints.swift).
NOTES, NOTE = "/notes/", "/notes/{note_id}/"


def metrics(stack) -> Metrics:
    resp = stack.client.get("/status?format=prometheus")
    assert resp.status == 200, resp
    return Metrics(resp.body.decode("utf-8"))


def run_to_end(load, requests: int):
    """Waits for a bounded load's ``requests`` and returns its report."""
    load.wait_for(requests)
    return load.stop()


def route_of(method: str, path: str) -> str:
    return NOTES if path.split("?")[0] == "/notes/" else NOTE


@pytest.fixture(scope="module")
def pool(module_launcher):
    return module_launcher.stack("saturation", workers=2)


def test_the_new_families_are_declared(pool):
    m = metrics(pool)
    expected = {
        "notes_listen_queue": "gauge", "notes_listen_queue_max": "gauge", "notes_pool_saturated_total": "counter",
        "notes_pool_saturated_seconds_total": "counter", "notes_request_duration_seconds": "histogram",
        "notes_requests_total": "counter",
    }
    for name, kind in expected.items():
        assert m.types.get(name) == kind and name in m.helps, (name, m.types.get(name))
    doc = pool.status()
    routes = list(doc["requests"])
    assert NOTES in routes and NOTE in routes and "/status" in routes and routes[-1] == "unmatched", routes
    for entry in doc["requests"].values():
        buckets = entry["duration_seconds"]["buckets"]
        assert list(buckets)[-1] == "+Inf" and buckets["+Inf"] == entry["duration_seconds"]["count"], entry
    assert set(doc["listen_queue"]) == {"length", "max", "backlog"}, doc["listen_queue"]
    assert set(doc["saturation"]) == {"count", "seconds", "now"}, doc["saturation"]


def test_requests_by_route_and_status_match_the_load(pool):
    before = metrics(pool)
    load = pool.load(connections=4, max_requests=200)
    # Answers the load does not give: a 404 of a route, a 422 of the same route, a path no route serves.
    provoked = [("GET", "/notes/2000000000/", 404, NOTE), ("GET", "/notes/abc/", 422, NOTE),
                ("DELETE", "/notes/2000000000/", 404, NOTE), ("GET", "/no-such-route", 404, "unmatched")]
    for method, path, status, _ in provoked:
        assert pool.client.request(method, path).status == status
    report = run_to_end(load, 200)
    assert not report.errors, report.summary()
    after = metrics(pool)

    made = Counter((route_of(r.method, r.path), str(r.status)) for r in report.results)
    made.update((route, str(status)) for _, _, status, route in provoked)
    for (route, status), count in made.items():
        counted = after.value("notes_requests_total", route=route, status=status) \
            - before.value("notes_requests_total", route=route, status=status)
        assert counted == count, (route, status, counted, count)
    per_route = Counter()
    for (route, _), count in made.items():
        per_route[route] += count
    for route, count in per_route.items():
        n_after, sum_after, _ = after.histogram("notes_request_duration_seconds", route=route)
        n_before, sum_before, _ = before.histogram("notes_request_duration_seconds", route=route)
        assert n_after - n_before == count, (route, n_after, n_before, count)
        assert sum_after > sum_before, route
    # Per route, the answers by status add up to the requests its histogram counted (both only grow, and each
    # request adds to both in the same step).
    for (labels, count) in after.family("notes_request_duration_seconds_count"):
        by_status = sum(v for l, v in after.family("notes_requests_total") if l["route"] == labels["route"])
        assert by_status == count, (labels, by_status, count)
    doc = pool.status()
    notes = doc["requests"][NOTE]
    assert notes["by_status"]["404"] >= 2 and notes["by_status"]["422"] >= 1, notes


def test_counts_survive_the_worker_that_served_them(pool):
    sup = pool.supervisor
    for _ in range(5):
        assert pool.client.get("/notes/2000000000/").status == 404
    before = metrics(pool).value("notes_requests_total", route=NOTE, status="404")
    for pid in sup.wait_ready():
        os.kill(pid, signal.SIGKILL)
    wait_until(lambda: len(sup.wait_ready()) == 2, 30, what="replacements")
    wait_until(lambda: pool.client.get("/notes/").status == 200, 30, what="the pool to answer again")
    assert metrics(pool).value("notes_requests_total", route=NOTE, status="404") == before


def test_saturation_counts_spells_of_every_worker_busy(pool, module_launcher):
    sup, client = pool.supervisor, pool.client
    note = client.create_note("held")
    start = sup.status()["saturation"]
    # One request at a time: one worker busy at most (it shows idle before its answer is written), never the
    # whole pool.
    for _ in range(10):
        assert client.get("/notes/").status == 200
    quiet = sup.status()["saturation"]
    assert quiet["count"] == start["count"] and quiet["now"] is False, (start, quiet)
    # One worker held on a row lock: each request the other one takes makes the whole pool busy. Straight to
    # the pool's socket, so none waits on a connection nginx keeps to the held worker.
    session, put, held = hold_request_on_lock(module_launcher, pool.db, client, note["id"], "released")
    try:
        for _ in range(10):
            assert sup.fastcgi("GET", f"/notes/{note['id']}/").status == 200
        during = sup.status()["saturation"]
        assert during["now"] is True, during  # the held worker and the one answering this
        resp = sup.fastcgi("GET", "/status", "format=prometheus")
        prometheus = Metrics(resp.body.decode("utf-8"))
    finally:
        session.commit()
    assert_json(put.result(30), 200)
    # Ten requests and the /status that read it, each one spell.
    assert during["count"] == quiet["count"] + 11, (quiet, during)
    assert prometheus.value("notes_pool_saturated_total") == during["count"] + 1, during
    assert prometheus.value("notes_pool_saturated_seconds_total") >= during["seconds"] > quiet["seconds"], during
    def calm():
        doc = sup.status()["saturation"]
        return doc if doc["now"] is False else None
    after = wait_until(calm, 10, what="the pool to leave saturation")
    assert after["seconds"] >= during["seconds"], (during, after)


def test_saturation_under_load_with_one_worker(launcher):
    # With one worker every batch it takes is a spell of the whole pool busy.
    stack = launcher.stack("single", workers=1)
    before = stack.status()["saturation"]
    report = run_to_end(stack.load(connections=4, max_requests=100), 100)
    assert not report.errors and not report.failures, report.summary()
    after = stack.status()["saturation"]
    assert 25 <= after["count"] - before["count"] <= 101, (before, after)
    assert after["seconds"] > before["seconds"], (before, after)


@pytest.mark.parametrize("tcp", [False, True], ids=["unix", "tcp"])
def test_listen_queue_rises_while_every_worker_is_stopped(launcher, tcp):
    stack = launcher.stack("queue", workers=2, tcp=tcp)
    sup = stack.supervisor
    start = stack.status()["listen_queue"]
    assert start["length"] == 0 and start["backlog"] > 0, start
    load = stack.load(connections=4, max_requests=100000, mix=("get", "list"))
    load.wait_for(20)
    waiting = []
    pids = sup.wait_ready()
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        # Connections nobody accepts wait in the socket's queue (besides the load's, which nginx may send on
        # the connections it keeps to the stopped workers).
        target = sup.fastcgi_target
        for _ in range(6):
            s = socket.socket(socket.AF_INET if tcp else socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(target if tcp else str(target))
            waiting.append(s)
        # The supervisor samples the queue at least every 100 ms; it is never stopped.
        time.sleep(1.0)
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)
        for s in waiting:
            s.close()
    load.wait_more(20)
    report = load.stop()
    assert not report.errors and not report.failures, report.summary()
    doc = stack.status()["listen_queue"]
    assert doc["max"] >= 6, doc
    m = metrics(stack)
    assert m.value("notes_listen_queue_max") >= 6
    drained = wait_until(lambda: (lambda d: d if d["length"] == 0 else None)(stack.status()["listen_queue"]), 10,
                         what="the queue to drain")
    assert drained["max"] >= doc["max"], (doc, drained)

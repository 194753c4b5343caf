"""--access-log (one JSON line per request, written by the workers, reopened on USR1) and --server-timing."""

import json
import os
import signal
from pathlib import Path

import pytest

from harness.processes import give_to_service_user, make_dir, wait_until
from harness.supervisor import SupervisorOptions

FIELDS = {"time", "request_id", "method", "route", "status", "bytes", "db_ms", "total_ms", "pid"}


def log_lines(path: Path) -> list:
    if not path.exists():
        return []
    text = path.read_text()
    assert text == "" or text.endswith("\n"), "a line was cut"
    return [json.loads(line) for line in text.splitlines()]


@pytest.fixture(scope="module")
def logged(module_launcher):
    directory = give_to_service_user(make_dir(module_launcher.tmp_root / "access"))
    path = directory / "access.log"
    stack = module_launcher.stack("access", workers=2, supervisor_options=SupervisorOptions(
        extra_args=["--access-log", str(path), "--server-timing"]))
    return stack, path


def test_one_json_line_per_request_under_load(logged):
    stack, path = logged
    load = stack.load(connections=4, max_requests=200)
    assert stack.client.get("/notes/abc/").status == 422
    load.wait_for(200)
    report = load.stop()
    assert not report.errors and not report.failures, report.summary()
    pids = stack.supervisor.wait_ready()

    def all_logged():
        by_id = {line["request_id"]: line for line in log_lines(path)}
        return by_id if all(dict(r.headers).get("X-Request-Id") in by_id for r in report.results) else None
    by_id = wait_until(all_logged, 10, what="a line for every request")
    lines = log_lines(path)
    assert len(by_id) == len(lines), "a request id logged twice"
    for line in lines:
        assert set(line) == FIELDS, line
        assert line["pid"] in pids and line["total_ms"] >= line["db_ms"] >= 0, line
        assert line["time"].endswith("Z") and len(line["request_id"]) == 32, line
    for result in report.results:
        headers = dict(result.headers)
        line = by_id[headers["X-Request-Id"]]
        assert line["method"] == result.method and line["status"] == result.status, (line, result)
        assert line["route"] == ("/notes/" if result.path.split("?")[0] == "/notes/" else "/notes/{note_id}/"), line
        assert line["bytes"] == len(result.body), (line, result)
        assert headers["Server-Timing"].startswith("db;dur=") and ", app;dur=" in headers["Server-Timing"], headers
    invalid = [line for line in lines if line["status"] == 422]
    assert invalid and invalid[-1]["route"] == "/notes/{note_id}/" and invalid[-1]["method"] == "GET", invalid


def test_usr1_reopens_the_access_log(logged):
    stack, path = logged
    moved = path.with_name("access.log.1")
    os.rename(path, moved)
    stack.supervisor.send(signal.SIGUSR1)

    def new_file_used():
        resp = stack.client.get("/notes/")
        assert resp.status == 200
        rid = resp.header("X-Request-Id")
        return rid if any(line["request_id"] == rid for line in log_lines(path)) else None
    # Each worker reopens when it sees the signal: until both have, a request may still go to the old file.
    rid = wait_until(new_file_used, 10, what="a line in the new file")
    for _ in range(10):
        assert stack.client.get("/notes/").status == 200
    after = {line["request_id"] for line in log_lines(path)}
    assert rid in after and len(after) >= 11
    assert not after & {line["request_id"] for line in log_lines(moved)}


def test_without_the_options_no_server_timing_and_no_log(launcher):
    stack = launcher.stack("plain", workers=1)
    resp = stack.client.get("/notes/")
    assert resp.status == 200 and resp.header("Server-Timing") is None, resp.headers
    assert resp.header("X-Request-Id"), resp.headers
    assert "--access-log" not in open(f"/proc/{min(stack.supervisor.wait_ready())}/cmdline").read()

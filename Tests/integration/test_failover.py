"""Failover to a promoted standby with a multi-host DATABASE_URL (docs/DATABASE.md).

A primary and a streaming standby (pg_basebackup -R, replication slot) on two loopback ports; the service's
DATABASE_URL names both with target_session_attrs=read-write, so libpq connects to whichever accepts writes.
The primary is stopped (-m immediate, as in a crash), the standby promoted, and nothing is done to the service:
its workers find the new primary by themselves. The time from the promote command to the first 201 is printed
(pytest -s) and written to ``failover-seconds.txt`` in the test's directory (NOTES_KEEP_TMP=1 keeps it); it is
measured, not asserted.
"""

import json
import re
import time

from harness.assertions import assert_json, assert_note
from harness.pgserver import libpq_url, pg_server
from harness.postgres import Database
from harness.processes import process_alive, wait_until

DB_DOWN = {"detail": "Database unavailable"}


def test_promoted_standby_takes_writes_without_touching_the_service(launcher):
    primary = pg_server(launcher, "pg-primary")
    standby = launcher.add(primary.create_standby(launcher.tmp_root / "pg-standby"))
    standby.start()
    primary.wait_streaming()
    assert standby.in_recovery()

    url = libpq_url([(primary.host, primary.port), (standby.host, standby.port)], "notes",
                    target_session_attrs="read-write")
    stack = launcher.stack("failover", db=Database(primary, "notes", url), workers=2)
    sup, client = stack.supervisor, stack.client
    pids, supervisor_pid = sup.wait_ready(), sup.pid
    before = [client.create_note(f"before the failover {i}", i % 2 == 0) for i in range(6)]
    # read-write: the workers are on the primary, none on the standby (which refuses writes)
    assert set(Database(standby, "notes", url).worker_backends()) == set()
    primary.wait_replayed(standby)

    primary.stop("immediate")
    promote_started = time.monotonic()
    standby.promote()
    promoted = time.monotonic()
    statuses = []

    def write():
        resp = client.post("/notes/", {"text": "after the failover", "completed": False}, timeout=30)
        statuses.append(resp.status)
        if resp.status == 201:
            return resp
        assert_json(resp, 503, DB_DOWN)  # a worker still on the dead primary's connection, or reconnecting
        return None

    first = wait_until(write, 60, interval=0.05, what=lambda: f"a write to succeed: {statuses}\n{sup.log()}")
    written = time.monotonic()
    note = assert_note(assert_json(first, 201), text="after the failover")

    seconds = written - promote_started
    report = (f"failover: promote command {promoted - promote_started:.3f}s, promote command to first 201 "
              f"{seconds:.3f}s, answers until then {statuses}\n")
    print("\n" + report, end="")
    (launcher.tmp_root / "failover-seconds.txt").write_text(report)

    # nothing was restarted
    assert sup.proc.poll() is None and sup.pid == supervisor_pid and process_alive(supervisor_pid), sup.log()
    assert sup.worker_pids() == pids, f"workers were replaced: {pids} -> {sup.worker_pids()}\n{sup.log()}"
    assert not re.search(r"\b(exited|killed)\b", sup.log()), sup.log()
    # the new primary has it all: the notes written before (replicated) and the one written after
    assert not standby.in_recovery()
    for old in before:
        assert assert_json(client.get(f"/notes/{old['id']}/"), 200) == old
    assert standby.query(f"SELECT text FROM notes WHERE id = {note['id']}", url) == [["after the failover"]]
    # and every worker reconnects to it by itself: under a concurrent load (which reaches every worker) each may fail
    # once, on the connection to the dead primary that it had not used since, and then serves
    load = stack.load(connections=4, max_requests=200)
    wait_until(lambda: not load.running(), 60, interval=0.1, what="the load to finish")
    report = load.stop()
    assert not report.errors, report.summary()
    assert all(r.status == 503 and json.loads(r.body) == DB_DOWN for r in report.failures), report.summary()
    assert len(report.failures) <= len(pids), report.summary()
    assert set(Database(standby, "notes", url).worker_backends()) == pids, sup.log()

"""The adaptive pool (--workers-min, --workers-max, --worker-idle-timeout): under load it grows from its minimum
toward its maximum without a failed request, and once the load stops and the idle timeout passes it shrinks back
to its minimum, each change logged and shown in /status's target_workers."""

from __future__ import annotations

import re
import subprocess
import signal

from harness.assertions import assert_load_clean, assert_status
from harness.processes import signal_pending, wait_until
from harness.supervisor import SupervisorOptions

IDLE_TIMEOUT = 3


def adaptive(launcher, name: str, minimum: int, maximum: int, *extra: str):
    return launcher.stack(name, supervisor_options=SupervisorOptions(
        workers_range=(minimum, maximum), extra_args=["--worker-idle-timeout", str(IDLE_TIMEOUT), *extra]))


def pool_lines(log: str) -> list[tuple[int, int, str]]:
    """The supervisor's "pool: A -> B workers (why)" lines, as (A, B, why)."""
    return [(int(a), int(b), why) for a, b, why in re.findall(r"pool: (\d+) -> (\d+) workers \((.*?)\)\n", log)]


def test_grows_under_load_and_shrinks_back_when_idle(launcher):
    stack = adaptive(launcher, "adaptive", 1, 3)
    sup = stack.supervisor
    first = sup.wait_ready()
    assert len(first) == 1
    assert stack.status()["supervisor"]["target_workers"] == 1

    load = stack.load(connections=6, max_requests=20000)
    wait_until(lambda: len(sup.worker_pids()) == 3, 30, what=lambda: f"the pool to grow to 3\n{sup.log()}")
    sup.workers = 3
    grown = sup.wait_ready()
    assert first < grown
    load.wait_more(100)
    assert_status(stack.status(), workers=3)
    report = load.stop()
    assert_load_clean(report, stack.diagnostics())

    # Each worker read the database's connection room (the supervisor's cap) without an error.
    assert "cannot read the database's connection room" not in sup.log(), sup.log()
    grew = [(a, b, why) for a, b, why in pool_lines(sup.log()) if b > a]
    assert grew and grew[0][0] == 1 and grew[-1][1] == 3, sup.log()
    assert all(why in ("every worker busy", "requests waiting in the listen queue") for _, _, why in grew), grew

    # No request now: past the idle timeout the pool goes back to its minimum, one idle worker at a time.
    wait_until(lambda: len(sup.worker_pids()) == 1, IDLE_TIMEOUT + 30,
               what=lambda: f"the pool to shrink to 1\n{sup.log()}")
    log = sup.log()
    shrank = [(a, b, why) for a, b, why in pool_lines(log) if b < a]
    assert [(a, b) for a, b, _ in shrank] == [(3, 2), (2, 1)], log
    for _, _, why in shrank:
        idle = re.fullmatch(r"worker (\d+) idle ([\d.]+)s", why)
        assert idle and idle[1] and float(idle[2]) >= IDLE_TIMEOUT, why
        assert not re.search(rf"worker {idle[1]} killed", log), log
    print(f"adaptive pool under load: {report.summary()}; changes: {pool_lines(log)}")
    doc = stack.status()
    assert_status(doc, workers=1)
    assert doc["restarts"]["scaled_down"] == 2, doc["restarts"]


def test_never_grows_past_the_database_connections_it_is_granted(launcher):
    stack = adaptive(launcher, "adaptive-capped", 1, 4, "--database-connections", "2")
    sup = stack.supervisor
    sup.wait_ready()
    load = stack.load(connections=6, max_requests=20000)
    wait_until(lambda: len(sup.worker_pids()) == 2, 30, what=lambda: f"the pool to grow to 2\n{sup.log()}")
    seen = set()
    for _ in range(40):  # every worker busy all along: the pool would grow to 4 without the cap
        load.wait_more(10)
        seen.add(len(sup.worker_pids()))
    report = load.stop()
    assert_load_clean(report, stack.diagnostics())
    assert max(seen) == 2, seen
    assert all(b <= 2 for _, b, _ in pool_lines(sup.log())), sup.log()
    assert stack.status()["supervisor"]["target_workers"] == 2


def test_ttin_and_ttou_move_the_range(launcher):
    stack = adaptive(launcher, "adaptive-signals", 1, 2)
    sup = stack.supervisor
    sup.wait_ready()
    sup.send(signal.SIGTTIN)
    sup.workers = 2
    sup.wait_ready()
    assert "received SIGTTIN: 2...3 workers (target 2)" in sup.log()
    assert stack.status()["supervisor"]["target_workers"] == 2
    sup.send(signal.SIGTTOU)
    wait_until(lambda: not signal_pending(sup.pid, signal.SIGTTOU), 10, what="TTOU to be delivered")
    wait_until(lambda: "received SIGTTOU: 1...2 workers (target 2)" in sup.log(), 10, what=lambda: sup.log())
    # Two workers are within 1...2: the second goes only once idle for the timeout.
    wait_until(lambda: len(sup.worker_pids()) == 1, IDLE_TIMEOUT + 30, what=lambda: f"one worker\n{sup.log()}")
    assert_status(stack.status(), workers=1)


def test_workers_and_a_range_together_are_refused(launcher, migrated_db):
    both = launcher.supervisor(migrated_db, name="both", workers=2, start=False,
                               extra_args=["--workers-min", "1", "--workers-max", "3"])
    inverted = launcher.supervisor(migrated_db, name="inverted", start=False, workers_range=(3, 2))
    for sup, message in ((both, "--workers N is a fixed pool"), (inverted, "--workers-min (3) must not be above --workers-max (2)")):
        done = subprocess.run(sup.command(), capture_output=True, text=True, timeout=30, env=sup.environment())
        assert done.returncode != 0 and message in done.stderr, done.stderr

"""Recycling healthy workers (--max-worker-rss, --max-worker-lifetime): replaced one at a time under load, a
fresh worker started before the old one leaves, no request lost."""

import re

import pytest

from harness.assertions import assert_load_clean, assert_status
from harness.processes import SERVICE_USER, run, wait_until
from harness.supervisor import SupervisorOptions

RECYCLED = re.compile(r"worker (\d+) recycled: (.*); replacing it")


def _recycled_under_load(launcher, name, args, cause, expected_reason):
    stack = launcher.stack(name, workers=2, supervisor_options=SupervisorOptions(extra_args=args))
    sup = stack.supervisor
    sup.wait_ready()
    load = stack.load(connections=3, max_requests=100_000)
    wait_until(lambda: len(RECYCLED.findall(sup.log())) >= 4, 60,
               what=lambda: f"four workers recycled\n{sup.log()}")
    report = load.stop()

    assert_load_clean(report, stack.diagnostics())
    recycled = RECYCLED.findall(sup.log())
    assert all(re.fullmatch(expected_reason, reason) for _, reason in recycled), recycled
    assert len({pid for pid, _ in recycled}) == len(recycled), f"each worker is recycled once: {recycled}"
    assert not re.search(r"killed by signal|still running", sup.log()), sup.log()
    # Recycling goes on (with 1 MiB, forever): counted when reaped, so the count read later is at least as high.
    reaped = len(re.findall(r"worker \d+ recycled: exited", sup.log()))
    status = assert_status(stack.status())
    assert status["restarts"][cause] >= reaped >= 3, (status["restarts"], sup.log())


def test_workers_over_the_memory_limit_are_recycled_one_at_a_time_without_a_failure(launcher):
    # Every worker holds more than 1 MiB: each is replaced as soon as it accepts, the hardest churn there is.
    _recycled_under_load(launcher, "rss", ["--max-worker-rss", "1"], "max_rss",
                         r"its resident memory \d+ MiB is over --max-worker-rss 1 MiB")


def test_workers_past_their_lifetime_are_recycled_without_a_failure(launcher):
    _recycled_under_load(launcher, "lifetime", ["--max-worker-lifetime", "1", "--max-worker-lifetime-jitter", "0.5"],
                         "max_lifetime", r"it has run 1\.\d+s, over its lifetime of 1(\.\d+)?s")


@pytest.mark.parametrize("option", ["--max-worker-rss", "--max-worker-lifetime", "--max-worker-lifetime-jitter"])
def test_recycling_limits_must_not_be_negative(bin_dir, tmp_path, option):
    result = run([bin_dir / "notes-supervisor", "--listen", f"unix:{tmp_path}/notes.sock", "--workers", "1",
                  "--user", SERVICE_USER, f"{option}=-1"], check=False, timeout=30)
    assert result.returncode != 0, f"{option} -1 was accepted:\n{result.stdout}{result.stderr}"
    assert "must not be negative" in result.stderr, result.stderr

"""Least privilege: the supervisor refuses root unless told which account to switch to, then switches before any
worker starts, for good (no supplementary groups, no capabilities, no_new_privs); without root it runs as it is."""

import os
import pwd
import signal
import subprocess

import pytest

from harness.processes import SERVICE_USER, child_env, is_root, make_dir, process_alive, wait_until

# NoNewPrivs set; effective, permitted and bounding-irrelevant capability sets empty.
EMPTY_CAPABILITIES = "0000000000000000"


@pytest.fixture(autouse=True)
def needs_root():
    # Switching users can only be shown by a root test run, which is how make test runs in CI.
    assert is_root(), "these tests start notes-supervisor as root: run the suite as root"


@pytest.fixture
def run_dir(launcher, request):
    # Under the suite's world-traversable temporary root: pytest's tmp_path is private to root.
    return make_dir(launcher.tmp_root / request.node.name.replace("[", "-").replace("]", ""))


def proc_status(pid: int) -> dict[str, str]:
    fields = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    return fields


def assert_runs_unprivileged_as(pid: int, account: pwd.struct_passwd) -> None:
    status = proc_status(pid)
    uid, gid = str(account.pw_uid), str(account.pw_gid)
    assert status["Uid"].split() == [uid] * 4, f"pid {pid}: Uid {status['Uid']}"
    assert status["Gid"].split() == [gid] * 4, f"pid {pid}: Gid {status['Gid']}"
    assert status["Groups"] == "", f"pid {pid} kept supplementary groups: {status['Groups']!r}"
    assert status["NoNewPrivs"] == "1", f"pid {pid}: NoNewPrivs {status['NoNewPrivs']}"
    for capabilities in ("CapInh", "CapPrm", "CapEff", "CapAmb"):
        assert status[capabilities] == EMPTY_CAPABILITIES, f"pid {pid}: {capabilities} {status[capabilities]}"


def run_supervisor(bin_dir, run_dir, *args, env=None, prefix=(), timeout=20):
    cmd = [*prefix, str(bin_dir / "notes-supervisor"), "--listen", f"unix:{run_dir}/notes.sock", *args]
    return subprocess.run(cmd, env=env or child_env(), stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=timeout)


def test_root_without_user_is_refused_before_anything_starts(bin_dir, run_dir, migrated_db):
    result = run_supervisor(bin_dir, run_dir, "--workers", "1", env=child_env(DATABASE_URL=migrated_db.url))
    assert result.returncode != 0, result
    assert "refusing to run as root" in result.stderr and "--user" in result.stderr, result.stderr
    assert not (run_dir / "notes.sock").exists(), "the socket was bound before the refusal"
    assert not migrated_db.worker_backends(), "a worker started"


@pytest.mark.parametrize("user,message", [
    ("no-such-account-here", "no user named 'no-such-account-here'"),
    ("root", "must name an unprivileged account"),
])
def test_user_must_be_an_existing_unprivileged_account(bin_dir, run_dir, user, message):
    result = run_supervisor(bin_dir, run_dir, "--user", user)
    assert result.returncode != 0, result
    assert message in result.stderr, result.stderr
    assert not (run_dir / "notes.sock").exists()


def test_supervisor_and_workers_run_as_the_user_without_any_privilege(launcher):
    # The harness starts every supervisor of the suite as root with --user SERVICE_USER.
    stack = launcher.stack("privileges", workers=2)
    sup = stack.supervisor
    workers = sup.wait_ready()
    account = pwd.getpwnam(SERVICE_USER)
    assert f"running as {SERVICE_USER} (uid {account.pw_uid}, gid {account.pw_gid})" in sup.log(), sup.log()
    for pid in [sup.pid, *workers]:
        assert_runs_unprivileged_as(pid, account)
    # Still the whole service: the socket (root:www-data 0660, bound before the switch) serves through nginx.
    assert stack.client.create_note("as notes")["text"] == "as notes"
    # A worker started after the switch (a replacement) is unprivileged too.
    os.kill(min(workers), signal.SIGKILL)
    replaced = wait_until(lambda: (sup.worker_pids() - workers) or None, 20, what="a replacement worker")
    for pid in replaced:
        assert_runs_unprivileged_as(pid, account)


def test_log_file_is_handed_to_the_user_and_reopened_by_it(launcher, migrated_db):
    run_dir = launcher.tmp_root / "privileges-log"
    log_file = run_dir / "notes.log"
    sup = launcher.supervisor(migrated_db, "privileges-log", workers=1, log_file=log_file)
    workers = sup.wait_ready()
    account = pwd.getpwnam(SERVICE_USER)
    assert (log_file.stat().st_uid, log_file.stat().st_gid) == (account.pw_uid, account.pw_gid)
    log_file.rename(run_dir / "notes.log.1")
    sup.send(signal.SIGUSR1)
    wait_until(lambda: log_file.exists(), 10, what="the log file reopened by the unprivileged supervisor")
    assert log_file.stat().st_uid == account.pw_uid
    assert all(process_alive(pid) for pid in workers)


def test_without_root_it_runs_as_it_is_and_user_needs_root(bin_dir, run_dir, migrated_db):
    account = pwd.getpwnam(SERVICE_USER)
    os.chown(run_dir, account.pw_uid, account.pw_gid)
    as_user = ["setpriv", f"--reuid={account.pw_uid}", f"--regid={account.pw_gid}", "--clear-groups"]
    env = child_env(DATABASE_URL=migrated_db.url)

    refused = run_supervisor(bin_dir, run_dir, "--user", "nobody", env=env, prefix=as_user)
    assert refused.returncode != 0 and "needs root" in refused.stderr, refused

    # Its own account named (as systemd's User= plus a copied command line would): nothing to switch.
    proc = subprocess.Popen(
        [*as_user, str(bin_dir / "notes-supervisor"), "--listen", f"unix:{run_dir}/notes.sock", "--workers", "1",
         "--user", SERVICE_USER, "--log-file", str(run_dir / "notes.log")],
        env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: migrated_db.worker_backends() or None, 20, what="a worker of the unprivileged supervisor")
        assert_runs_unprivileged_as(proc.pid, account)
        assert "running as" not in (run_dir / "notes.log").read_text()
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    assert proc.returncode == 0
    assert not (run_dir / "notes.sock").exists(), "the unprivileged supervisor left its socket behind"

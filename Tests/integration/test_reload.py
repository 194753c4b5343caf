"""HUP: a zero-downtime reload under load, a new worker binary picked up from disk, the env file re-read,
a reload whose new generation cannot start."""

import os
import re
import shutil
import signal
import time

from harness.assertions import assert_json, assert_load_clean, assert_note, assert_status
from harness.postgres import migrate
from harness.processes import give_to_service_user, make_dir, proc_comm, process_alive, wait_until
from harness.stack import hold_request_on_lock
from harness.supervisor import SupervisorOptions

WORKERS = 3


def reload(sup, before, timeout=40.0):
    """Send HUP and wait until the old generation is gone and N new workers hold their connections."""
    sup.send(signal.SIGHUP)

    def swapped():
        assert sup.proc.poll() is None, f"supervisor exited on HUP:\n{sup.log()}"
        pids = sup.worker_pids()
        return pids if len(pids) == sup.workers and not pids & before else None
    wait_until(swapped, timeout,
               what=lambda: f"a new generation to replace {sorted(before)}\n{sup.log()}")
    return sup.wait_ready()


def assert_gone(pids):
    for pid in pids:
        assert not (process_alive(pid) and proc_comm(pid) == "notes-worker"), f"old worker {pid} still runs"


def test_hup_reload_under_load_fails_no_request(launcher):
    stack = launcher.stack("reload", workers=WORKERS)
    sup, db = stack.supervisor, stack.db
    pids = sup.wait_ready()
    generation = assert_status(stack.status(), pid=sup.pid, workers=WORKERS)["supervisor"]["generation"]
    load = stack.load(connections=4, max_requests=100_000)
    load.wait_for(100)
    retired, windows = set(), []
    for _ in range(2):  # two reloads in a row, both under the same load
        t_hup = time.monotonic()
        new = reload(sup, pids)
        windows.append((t_hup, time.monotonic()))
        retired |= pids
        load.wait_more(100)
        status = assert_status(stack.status(), pid=sup.pid, workers=WORKERS)
        assert status["supervisor"]["generation"] > generation, (generation, status)
        generation = status["supervisor"]["generation"]
        assert {w["pid"] for w in status["worker_list"]} == new, (new, status)
        assert all(w["generation"] == generation for w in status["worker_list"]), status
        pids = new
    report = load.stop()
    assert_load_clean(report, stack.diagnostics())
    for start, end in windows:  # the load ran all through each reload
        assert [r for r in report.results if start <= r.started and r.finished <= end], report.summary()
    assert_gone(retired)
    wait_until(lambda: set(db.worker_backends()) == pids, 20, what="only the new workers' connections")
    log = sup.log()
    assert len(re.findall(r"reloading: starting generation \d+", log)) == 2, log
    assert len(re.findall(r"reload complete: generation \d+ accepting", log)) == 2, log
    for pid in retired:  # retired gracefully, never killed
        assert not re.search(rf"worker {pid} killed", log), log


def test_reload_neither_waits_for_nor_drops_a_long_request(launcher):
    stack = launcher.stack("longreload", workers=2)
    sup, db, client = stack.supervisor, stack.db, stack.client
    old = sup.wait_ready()
    note = client.create_note("before")
    session, held, busy = hold_request_on_lock(launcher, db, client, note["id"], "finished by generation 1")

    sup.send(signal.SIGHUP)
    wait_until(lambda: re.search(r"reload complete", sup.log()), 20,
               what=lambda: f"the reload to complete while a request is held\n{sup.log()}")
    new = sup.worker_pids() - old
    assert len(new) == 2 and busy in sup.worker_pids(), f"the busy worker finishes first\n{sup.log()}"
    status = assert_status(stack.status())
    (entry,) = [w for w in status["worker_list"] if w["pid"] == busy]
    # (the contract allows "busy" or "retiring" for an old worker still on its request)
    assert entry["state"] in ("busy", "retiring") and entry["current_request"]["method"] == "PUT", status
    assert entry["generation"] < status["supervisor"]["generation"], status
    for i in range(6):  # the new generation serves meanwhile
        assert_note(assert_json(client.post("/notes/", {"text": f"during {i}", "completed": False}), 201))

    session.commit()
    assert_note(assert_json(held.result(30), 200), text="finished by generation 1")
    wait_until(lambda: sup.worker_pids() == new, 20, what="the old generation to be gone")
    assert not re.search(rf"worker {busy} killed", sup.log()), sup.log()


def test_new_worker_binary_on_disk_runs_after_hup(launcher, bin_dir):
    real = (bin_dir / "notes-worker").resolve()
    bin_copy = make_dir(launcher.tmp_root / "bin")
    worker = bin_copy / "notes-worker"
    shutil.copy2(real, worker)
    stack = launcher.stack("newbin", workers=2, supervisor_options=SupervisorOptions(worker_binary=worker))
    sup = stack.supervisor
    old = sup.wait_ready()
    copy_inode = os.stat(worker).st_ino
    for pid in old:
        assert os.stat(f"/proc/{pid}/exe").st_ino == copy_inode, f"worker {pid} does not run the copy"

    # A "new build" replaces the file in place, the way install(1) does (a new inode under the same name):
    # a wrapper that records the pid of every process started from it, then becomes the real worker.
    marker = give_to_service_user(make_dir(launcher.tmp_root / "markers")) / "started-by-new-build"
    script = f'#!/bin/sh\necho "$$" >> "{marker}"\nexec "{real}" "$@"\n'
    staged = bin_copy / ".notes-worker.new"
    staged.write_text(script)
    os.chmod(staged, 0o755)
    os.replace(staged, worker)
    assert not marker.exists()

    load = stack.load(connections=3, max_requests=4000)
    load.wait_for(60)
    t_hup = time.monotonic()
    new = reload(sup, old)
    t_done = time.monotonic()
    load.wait_more(100)
    report = load.stop()
    assert_load_clean(report, stack.diagnostics())
    assert [r for r in report.results if t_hup <= r.started and r.finished <= t_done], report.summary()

    started_by_new_build = {int(line) for line in marker.read_text().split()}
    assert new <= started_by_new_build, f"new workers {new} were not started from the new file " \
                                        f"(it started {started_by_new_build})\n{sup.log()}"
    for pid in new:
        assert os.path.samefile(f"/proc/{pid}/exe", real), f"worker {pid} runs {os.readlink(f'/proc/{pid}/exe')}"
    assert_gone(old)


def test_hup_rereads_env_file(launcher, cluster, bin_dir):
    first, second = cluster.create_database(), cluster.create_database()
    migrate(bin_dir, second.url)
    run_dir = make_dir(launcher.tmp_root / "envfile")
    env_file = run_dir / "notes.env"
    env_file.write_text(f"# the database of the first generation\n\nDATABASE_URL={first.url}\n")
    stack = launcher.stack("envfile", workers=2, db=first,
                           supervisor_options=SupervisorOptions(extra_args=["--env-file", str(env_file)]))
    sup = stack.supervisor
    old = sup.wait_ready()
    assert_note(assert_json(stack.client.post("/notes/", {"text": "in the first", "completed": False}), 201))

    staged = run_dir / "notes.env.new"
    staged.write_text(f"# moved\nDATABASE_URL={second.url}\n")
    os.replace(staged, env_file)
    sup.db = second  # wait_ready checks the connections in this database
    new = reload(sup, old)
    assert set(second.worker_backends()) == new
    wait_until(lambda: not first.worker_backends(), 20, what="the first database's connections to close")
    assert_note(assert_json(stack.client.post("/notes/", {"text": "in the second", "completed": False}), 201))
    assert second.query("SELECT text FROM notes") == [["in the second"]]
    assert first.query("SELECT text FROM notes") == [["in the first"]]


def test_reload_whose_new_generation_cannot_start_keeps_the_old_one(launcher, bin_dir):
    real = (bin_dir / "notes-worker").resolve()
    bin_copy = make_dir(launcher.tmp_root / "bin")
    worker = bin_copy / "notes-worker"
    shutil.copy2(real, worker)
    stack = launcher.stack("badreload", workers=2, supervisor_options=SupervisorOptions(worker_binary=worker))
    sup = stack.supervisor
    old = sup.wait_ready()

    staged = bin_copy / ".notes-worker.new"
    staged.write_text("#!/bin/sh\necho 'notes-worker: this build is broken' >&2\nexit 1\n")
    os.chmod(staged, 0o755)
    os.replace(staged, worker)

    load = stack.load(connections=2, max_requests=4000)
    load.wait_for(40)
    started = sup.started_count()
    sup.send(signal.SIGHUP)
    wait_until(lambda: re.search(r"reload.*abandon|abandon.*reload", sup.log(), re.I), 30,
               what=lambda: f"the supervisor to abandon the reload\n{sup.log()}")
    load.wait_more(60)
    report = load.stop()
    assert_load_clean(report, stack.diagnostics())
    assert sup.proc.poll() is None
    assert sup.worker_pids() == old, f"the old generation must keep serving\n{sup.log()}"
    assert sup.started_count() - started < 30, f"a fork storm:\n{sup.log()}"

    # with a working build back in place, the next HUP succeeds
    shutil.copy2(real, staged)
    os.replace(staged, worker)
    reload(sup, old)
    assert_note(assert_json(stack.client.post("/notes/", {"text": "after the good reload", "completed": False}),
                            201))

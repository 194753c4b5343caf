"""The database password is never exposed (issue 7): not in a log line, an error response, /status or a process
title.

PostgreSQL on TCP with password authentication (``pgserver.PgServer``: scram-sha-256 for every TCP client, trust
only on its private unix socket, which the test itself uses), and a role of this module's own whose password is
distinctive and awkward: a fresh random core (searched for on its own, so even a partial or re-encoded copy is
found) between characters that URLs and pgpass files must escape. The service gets it the usual way, in
``DATABASE_URL`` (percent-encoded), and every test greps whatever the run produced for it, raw and encoded:

- the supervisor's stderr and its ``--log-file`` (the workers' lines included), nginx's error and access logs,
  PostgreSQL's log, the output of ``notes-worker migrate``;
- every response body: notes, 400, 404, 405, 413, 422, the 503 of a database outage, /healthz, /status as JSON
  and as Prometheus text;
- ``/proc/PID/cmdline`` (the process title) of every process on the machine, the supervisor's and every
  worker's included, at several moments.

``/proc/PID/environ`` legitimately holds ``DATABASE_URL``, password included: that is how it is passed (readable
by the process's own user and root only: the test checks that group and others get nothing). To keep it out of
the environment, give it in a password file: ``PGPASSFILE`` (or ``~/.pgpass``) and a ``DATABASE_URL`` without a
password, which ``test_password_file_keeps_the_password_out_of_the_environment`` shows working
(docs/SECURITY.md).

What a run goes through: normal requests, client errors, SIGKILL of a worker, a reload (HUP), the database
stopped (503s, a worker that cannot connect at start) and started again, a wrong password, an unreachable
database at start, a malformed ``DATABASE_URL`` (libpq quotes the URL, or the token it choked on, in its error
message: the worker leaves every quoted part out).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import urllib.parse
import uuid
from pathlib import Path
from typing import Optional

import pytest

from harness.assertions import assert_json, assert_note
from harness.http import Client
from harness.pgserver import pg_server
from harness.postgres import Database, migrate
from harness.processes import child_env, free_port, give_to_service_user, make_dir, run, wait_until
from harness.supervisor import SupervisorOptions

WORKERS = 2
ROLE = "keeper"
CORE = uuid.uuid4().hex  # 32 hex digits no other text holds
PASSWORD = f"Np@:/%?#& ={CORE[:16]}\\'!{CORE[16:]}"
WRONG_CORE = uuid.uuid4().hex
WRONG_PASSWORD = f"Wr@:/{WRONG_CORE}"


def quoted(value: str) -> str:
    return urllib.parse.quote(value, safe="")


def needles(password: str, core: str) -> list[bytes]:
    """The forms a leaked password could take: as is, percent-encoded, and each half of its random core."""
    return [password.encode(), quoted(password).encode(), core[:16].encode(), core[16:].encode()]


SECRETS = needles(PASSWORD, CORE) + needles(WRONG_PASSWORD, WRONG_CORE)


def assert_secret_free(what: str, data) -> None:
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogateescape")
    for needle in SECRETS:
        assert needle not in data, f"the database password ({needle!r}) appears in {what}"


def read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return b""


def assert_no_process_title_holds_it() -> int:
    """No process on the machine has the password in its command line (its title, as ps shows it). Returns
    how many processes were looked at."""
    count = 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            cmdline = read_bytes(Path("/proc") / entry / "cmdline")
            if cmdline:
                count += 1
                assert_secret_free(f"the command line of process {entry}: {cmdline[:300]!r}", cmdline)
    return count


def assert_environ_private(pid: int) -> bytes:
    """/proc/PID/environ, which only the process's own user and root may read (root alone once the process
    has switched users: the kernel then marks it non-dumpable); returns it."""
    path = Path(f"/proc/{pid}/environ")
    info = os.stat(path)
    assert info.st_mode & 0o077 == 0, f"{path} has mode {oct(info.st_mode & 0o777)}: others may read it"
    assert info.st_uid in (0, os.stat(f"/proc/{pid}").st_uid), f"{path} belongs to uid {info.st_uid}"
    return read_bytes(path)


def log_files(*roots: Path) -> list[Path]:
    """Every log and captured output under ``roots``: *.log, *.stderr, *.stdout, rotated *.log.N."""
    found = []
    for root in roots:
        for path in root.rglob("*"):
            if path.is_file() and re.search(r"\.(log|stderr|stdout)(\.\d+)?$", path.name):
                found.append(path)
    return found


def assert_logs_secret_free(*roots: Path) -> list[Path]:
    files = log_files(*roots)
    assert files, f"no log files under {roots}"
    for path in files:
        assert_secret_free(f"log file {path}", read_bytes(path))
    return files


# ---------------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def pg(module_launcher):
    """PostgreSQL on a loopback port, scram-sha-256 for TCP clients, with this module's role."""
    server = pg_server(module_launcher, "pg-secrets")
    assert "scram-sha-256" in (server.data / "pg_hba.conf").read_text()
    # The password goes to psql on its standard input, never on a command line.
    escaped = PASSWORD.replace("'", "''")
    result = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", server.socket_url("postgres")],
                            input=f"CREATE ROLE {ROLE} LOGIN PASSWORD '{escaped}';\n", text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=child_env(), timeout=60)
    assert result.returncode == 0, result.stderr
    return server


def url(pg, dbname: str, password: Optional[str] = PASSWORD, host: Optional[str] = None,
        port: Optional[int] = None) -> str:
    auth = quoted(ROLE) + (":" + quoted(password) if password is not None else "")
    return f"postgresql://{auth}@{host or pg.host}:{port or pg.port}/{dbname}"


def new_database(pg, prefix: str) -> Database:
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    pg.query(f'CREATE DATABASE "{name}" OWNER {ROLE}')
    return Database(pg, name, url(pg, name))


def request(client: Client, bodies: list, method: str, path: str, **kw):
    """A request whose answer is kept for the final search."""
    resp = client.request(method, path, **kw)
    bodies.append((f"{method} {path} -> {resp.status}", resp.body, resp.headers))
    return resp


def assert_answers_secret_free(bodies: list) -> None:
    for what, body, headers in bodies:
        assert_secret_free(f"the answer to {what}", body)
        assert_secret_free(f"the headers of the answer to {what}", repr(headers))


# ---------------------------------------------------------------------------------------------- tests


def test_password_stays_out_of_logs_answers_status_and_process_titles(launcher, pg):
    db = new_database(pg, "secret")
    log_file = give_to_service_user(make_dir(launcher.tmp_root / "logs")) / "notes.log"
    stack = launcher.stack("secret", workers=WORKERS, db=db, supervisor_options=SupervisorOptions(log_file=log_file))
    sup, client, bodies = stack.supervisor, stack.client, []
    seen_pids = {sup.pid} | sup.wait_ready()

    # normal requests
    note = assert_note(assert_json(request(client, bodies, "POST", "/notes/",
                                           json_body={"text": "kept", "completed": False}), 201))
    for method, path, kw, status in [
        ("GET", f"/notes/{note['id']}/", {}, 200),
        ("GET", "/notes/?take=5", {}, 200),
        ("PUT", f"/notes/{note['id']}/", {"json_body": {"text": "kept!", "completed": True}}, 200),
        ("PATCH", f"/notes/{note['id']}/", {"json_body": {"completed": False}}, 200),
        ("POST", "/authors", {"json_body": {"first_name": "A", "last_name": "B"}}, 201),
        ("GET", "/openapi.json", {}, 200),
        ("GET", "/healthz", {}, 200),
        # client errors
        ("GET", "/notes/9223372036854775807/", {}, 404),
        ("GET", "/nope", {}, 404),
        ("GET", "/notes/abc/", {}, 422),
        ("POST", "/notes/", {"body": b'{"text": "a", "completed": tru'}, 422),
        ("POST", "/notes/", {"json_body": {"text": "a\u0000", "completed": True}}, 422),
        ("PATCH", "/notes/", {"json_body": {}}, 405),
        ("TRACE", "/notes/", {}, 405),
        ("POST", "/notes/", {"json_body": {"text": "a", "completed": True}, "content_type": "text/plain"}, 422),
        ("POST", "/notes/", {"body": b"\xff"}, 400),
        ("POST", "/notes/", {"body": b"x" * (1024 * 1024 + 1)}, 413),
        ("GET", "/notes/%00/", {}, 400),
    ]:
        assert request(client, bodies, method, path, **kw).status == status, bodies[-1]
    for path in ("/status", "/status?format=prometheus"):
        assert request(client, bodies, "GET", path).status == 200, bodies[-1]

    # the processes: titles never, environment yes (that is how DATABASE_URL is passed), private
    assert assert_no_process_title_holds_it() > 0
    for pid in seen_pids:
        assert quoted(PASSWORD).encode() in assert_environ_private(pid), f"DATABASE_URL not in {pid}'s environment"

    # a worker killed and replaced, then a reload
    victim = sorted(sup.wait_ready())[0]
    os.kill(victim, signal.SIGKILL)
    wait_until(lambda: victim not in sup.worker_pids(), 30, what=lambda: f"worker {victim} to die\n{sup.log()}")
    seen_pids |= sup.wait_ready()
    before_reload = sup.wait_ready()
    sup.send(signal.SIGHUP)
    wait_until(lambda: not (sup.worker_pids() & before_reload), 60,
               what=lambda: f"a new generation after HUP\n{sup.log()}")
    seen_pids |= sup.wait_ready()
    assert_no_process_title_holds_it()

    # the database stopped: 503s, and a worker started meanwhile cannot connect (and says so in the log)
    pg.stop("fast")
    try:
        resp = request(client, bodies, "GET", f"/notes/{note['id']}/")
        assert_json(resp, 503, {"detail": "Database unavailable"})
        assert_json(request(client, bodies, "GET", "/healthz"), 503, {"status": "unavailable"})
        assert_json(request(client, bodies, "POST", "/notes/", json_body={"text": "x", "completed": True}), 503,
                    {"detail": "Database unavailable"})
        victim = sorted(sup.worker_pids())[0]
        os.kill(victim, signal.SIGKILL)
        # (the 503s above logged "database unavailable during GET ...: cannot connect ..." at warning level;
        # this is the worker that fails at start)
        refused = f"error: cannot connect to database at host {pg.host} port {pg.port}"
        wait_until(lambda: refused in sup.log() and "exited with status 1" in sup.log(), 30,
                   what=lambda: f"{refused!r} in the log\n{sup.log()}")
        seen_pids |= sup.worker_pids()
        assert_no_process_title_holds_it()
    finally:
        pg.start()
    wait_until(lambda: client.get(f"/notes/{note['id']}/").status == 200, 60,
               what=lambda: f"the service to answer again\n{sup.log()}")
    seen_pids |= sup.wait_ready(timeout=60)
    for path in ("/status", "/status?format=prometheus"):
        assert request(client, bodies, "GET", path).status == 200, bodies[-1]

    # the search: the events are in the logs, the password is not
    log = sup.log()
    assert log_file.exists() and "database unavailable during GET" in log and refused in log, log
    assert "killed by signal 9" in log and "reload complete" in log, log
    assert_answers_secret_free(bodies)
    files = assert_logs_secret_free(launcher.tmp_root, pg.dir)
    assert log_file in files and sup.log_path in files and pg.log_path in files, files
    assert_no_process_title_holds_it()
    for pid in sup.worker_pids() | {sup.pid}:
        assert_secret_free(f"the command line of {pid}", read_bytes(Path(f"/proc/{pid}/cmdline")))


def test_wrong_password_is_refused_and_logged_without_it(launcher, pg):
    """Workers given a wrong password cannot start; their log line names the host, port and PostgreSQL's
    reason, never the password tried (nor the right one)."""
    db = new_database(pg, "wrong")
    migrate(launcher.bin_dir, db.url)
    wrong = Database(pg, db.name, url(pg, db.name, WRONG_PASSWORD))
    result = migrate(launcher.bin_dir, wrong.url, check=False)
    assert result.returncode != 0, result
    assert "password authentication failed" in result.stderr, result.stderr
    assert_secret_free("notes-worker migrate's output", result.stdout + result.stderr)

    sup = launcher.supervisor(wrong, "sup-wrong", workers=WORKERS, start=False,
                              log_file=give_to_service_user(make_dir(launcher.tmp_root / "wrong-logs")) / "notes.log")
    sup.start(wait=False)
    failed = f"cannot connect to database at host {pg.host} port {pg.port}"
    wait_until(lambda: failed in sup.log() and "password authentication failed" in sup.log(), 30,
               what=lambda: f"the failed login in the log\n{sup.log()}")
    assert f'password authentication failed for user "{ROLE}"' in pg.log_tail(20000), pg.log_tail()
    assert_no_process_title_holds_it()
    assert_logs_secret_free(launcher.tmp_root, pg.dir)


def test_unreachable_database_at_start_is_logged_without_the_password(launcher, pg):
    """Nothing listens where DATABASE_URL points: the workers' log line says where, not how the service would
    have logged in. (A host name that does not resolve would do as well, but would wait on the machine's DNS.)"""
    host, port = "127.0.0.1", free_port()
    away = Database(pg, "notes", url(pg, "notes", host=host, port=port))
    sup = launcher.supervisor(away, "sup-refused", workers=1, start=False)
    sup.start(wait=False)
    line = f"error: cannot connect to database at host {host} port {port}"
    wait_until(lambda: line in sup.log(), 30, what=lambda: f"{line!r} in the log\n{sup.log()}")
    assert_no_process_title_holds_it()
    assert_logs_secret_free(launcher.tmp_root)


def pgpass_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace(":", "\\:")


def test_password_file_keeps_the_password_out_of_the_environment(launcher, pg):
    """DATABASE_URL without a password plus PGPASSFILE (mode 0600): libpq reads the password from the file, the
    service logs in (scram-sha-256, so the password was right), and no process's environment, command line or log
    holds it. The same check finds it in the environment when DATABASE_URL carries it (the first test)."""
    db = new_database(pg, "passfile")
    passfile = launcher.tmp_root / "pgpass"
    passfile.write_text(f"{pg.host}:{pg.port}:{db.name}:{ROLE}:{pgpass_escape(PASSWORD)}\n")
    os.chmod(passfile, 0o600)
    give_to_service_user(passfile)  # (the supervisor started as root runs, with its workers, as the service user)
    bare = Database(pg, db.name, url(pg, db.name, password=None))
    env = {"PGPASSFILE": str(passfile)}
    run([launcher.bin_dir / "notes-worker", "migrate"], env=child_env(DATABASE_URL=bare.url, **env), timeout=60)

    sup = launcher.supervisor(bare, "sup-passfile", workers=WORKERS, env=env)
    nginx = launcher.nginx(sup.fastcgi_addr, "nginx-passfile")
    client = Client(nginx.port)
    created = assert_note(assert_json(client.post("/notes/", {"text": "via pgpass", "completed": False}), 201))
    assert assert_json(client.get(f"/notes/{created['id']}/"), 200) == created
    assert pg.query(f"SELECT count(*) FROM pg_stat_activity WHERE datname = '{db.name}' AND usename = '{ROLE}' "
                    "AND client_addr IS NOT NULL") == [[str(WORKERS)]]

    for pid in sup.wait_ready() | {sup.pid}:
        environ = assert_environ_private(pid)
        assert f"PGPASSFILE={passfile}".encode() in environ and bare.url.encode() in environ, environ
        assert_secret_free(f"the environment of {pid}", environ)
    assert_no_process_title_holds_it()
    assert_logs_secret_free(launcher.tmp_root)


MALFORMED = {
    "unclosed-ipv6-bracket": lambda pg, name: f"postgresql://{ROLE}:{quoted(PASSWORD)}@[::1/{name}",
    "bad-percent-escape": lambda pg, name: f"postgresql://{ROLE}:{CORE}%zz@{pg.host}:{pg.port}/{name}",
}


@pytest.mark.parametrize("how", sorted(MALFORMED))
def test_malformed_database_url_is_logged_without_the_password(launcher, pg, how):
    bad = Database(pg, "notes", MALFORMED[how](pg, "notes"))
    sup = launcher.supervisor(bad, f"sup-{how}", workers=1, start=False)
    sup.start(wait=False)
    wait_until(lambda: "DATABASE_URL is not a valid libpq URI" in sup.log(), 30, what=lambda: sup.log())
    assert_logs_secret_free(launcher.tmp_root)

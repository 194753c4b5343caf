"""PostgreSQL for the tests: the private cluster of ``scripts/pg-cluster`` (no TCP, a private unix socket),
its databases, ``notes-worker migrate``, a psql session kept open across a test's steps, and who waits on a
lock.

The servers on TCP, standbys and PgBouncer of the resilience tests are in ``pgserver`` and ``pgbouncer``; their
``query()`` has the same shape as ``Cluster.query``, so ``Database`` works on them too.

Python 3 standard library only.
"""

from __future__ import annotations

import queue
import signal
import subprocess
import threading
import time
import urllib.parse
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from harness.processes import SCRIPTS_DIR, child_env, run, stop_process, wait_until

# A worker's database session names it: application_name is this prefix and the worker's pid.
WORKER_APP_PREFIX = "notes-worker-"


def url_with_dbname(url: str, dbname: str) -> str:
    """The same libpq URI with another database name."""
    parts = urllib.parse.urlsplit(url)
    # (urlunsplit would drop the "//" of an empty authority: postgresql:///db?host=...)
    return f"{parts.scheme}://{parts.netloc}/{dbname}" + (f"?{parts.query}" if parts.query else "")


@dataclass
class Database:
    cluster: "Cluster"
    name: str
    url: str

    def query(self, sql: str) -> list[list[str]]:
        return self.cluster.query(sql, self.url)

    def worker_backends(self) -> dict[int, int]:
        """{worker pid from application_name: backend pid} for the notes workers connected to this database."""
        rows = self.cluster.query(
            "SELECT application_name, pid FROM pg_stat_activity "
            f"WHERE datname = '{self.name}' AND application_name LIKE '{WORKER_APP_PREFIX}%'")
        result = {}
        for app, backend in rows:
            suffix = app[len(WORKER_APP_PREFIX):]
            result[int(suffix) if suffix.isdigit() else -1] = int(backend)
        return result

    def lock_waiters(self) -> list[str]:
        """application_name of every backend of this database waiting on a lock (wait_event_type = 'Lock')."""
        return [r[0] for r in self.cluster.query(
            "SELECT coalesce(nullif(application_name, ''), '?') FROM pg_stat_activity "
            f"WHERE datname = '{self.name}' AND wait_event_type = 'Lock'")]

    def worker_backend_names(self) -> list[str]:
        return [r[0] for r in self.cluster.query(
            "SELECT application_name FROM pg_stat_activity "
            f"WHERE datname = '{self.name}' AND application_name LIKE '{WORKER_APP_PREFIX}%'")]


class Cluster:
    """A private PostgreSQL cluster managed with scripts/pg-cluster."""

    def __init__(self, directory: Path):
        self.dir = directory
        self.url: Optional[str] = None
        self._counter = 0

    def start(self) -> str:
        result = run([SCRIPTS_DIR / "pg-cluster", "start", self.dir], timeout=180)
        lines = [l for l in result.stdout.splitlines() if l.strip()]
        assert len(lines) == 1, f"pg-cluster start must print exactly the URL, got {result.stdout!r}"
        self.url = lines[0].strip()
        return self.url

    def stop(self) -> None:
        run([SCRIPTS_DIR / "pg-cluster", "stop", self.dir], timeout=120, check=False)

    @property
    def log_path(self) -> Path:
        """The server's log (scripts/pg-cluster), shared by every database of the cluster."""
        return self.dir / "postgresql.log"

    def log_size(self) -> int:
        return self.log_path.stat().st_size

    def log_since(self, offset: int) -> str:
        """What the server logged after ``offset`` (a ``log_size()``)."""
        with open(self.log_path, "rb") as log:
            log.seek(offset)
            return log.read().decode(errors="replace")

    close = stop

    def query(self, sql: str, url: Optional[str] = None) -> list[list[str]]:
        out = run(["psql", "-X", "-q", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1",
                   "-d", url or self.url, "-c", sql], timeout=60)
        return [line.split("\t") for line in out.stdout.splitlines() if line != ""]

    def create_database(self, prefix: str = "t") -> Database:
        self._counter += 1
        name = f"{prefix}_{self._counter}_{uuid.uuid4().hex[:8]}"
        self.query(f'CREATE DATABASE "{name}"')
        return Database(self, name, url_with_dbname(self.url, name))


def migrate(bin_dir: Path, db_url: str, check: bool = True) -> subprocess.CompletedProcess:
    return run([bin_dir / "notes-worker", "migrate"], env=child_env(DATABASE_URL=db_url), timeout=60,
               check=check)


# --------------------------------------------------------------------------------------------------
# a held session, locks


class PsqlSession:
    """A psql kept running with its stdin a pipe, so that a test can hold a transaction open across its
    steps (e.g. a row lock with SELECT ... FOR UPDATE). Its application_name is APP_NAME."""

    APP_NAME = "notes-test-session"

    def __init__(self, url: str):
        self.proc = subprocess.Popen(["psql", "-X", "-q", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1",
                                      "-d", url], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, bufsize=1,
                                     env=child_env(PGAPPNAME=self.APP_NAME), start_new_session=True)
        self._lines: "queue.Queue[Optional[str]]" = queue.Queue()
        self._reader = threading.Thread(target=self._read, name="psql-reader", daemon=True)
        self._reader.start()
        self._count = 0

    def _read(self) -> None:
        for line in self.proc.stdout:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def execute(self, sql: str, timeout: float = 30.0) -> list[list[str]]:
        """Run SQL in the session and return its rows (waits for it to finish)."""
        self._count += 1
        marker = f"__notes_test_done_{self._count}__"
        sql = sql.strip()
        if not sql.endswith(";"):
            sql += ";"  # (psql would otherwise keep the statement in its buffer and run the \echo first)
        self.proc.stdin.write(sql + "\n\\echo " + marker + "\n")
        self.proc.stdin.flush()
        rows, deadline = [], time.monotonic() + timeout
        while True:
            try:
                line = self._lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"psql did not finish {sql!r} within {timeout:.0f}s; output so far {rows}")
            if line is None:
                raise AssertionError(f"psql exited ({self.proc.poll()}) running {sql!r}: {rows}")
            if line == marker:
                return rows
            if line:
                rows.append(line.split("\t"))

    def hold_row_lock(self, table: str, row_id: int) -> None:
        """BEGIN and lock one row (SELECT ... FOR UPDATE) until commit() / rollback() / close()."""
        self.execute("BEGIN")
        rows = self.execute(f"SELECT id FROM {table} WHERE id = {int(row_id)} FOR UPDATE")
        assert rows == [[str(row_id)]], f"row {row_id} of {table} not found to lock: {rows}"

    def commit(self) -> None:
        self.execute("COMMIT")

    def rollback(self) -> None:
        self.execute("ROLLBACK")

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()  # end of input: psql exits, an open transaction is rolled back
            except OSError:
                pass
        stop_process(self.proc, signal.SIGTERM, timeout=10, group=True)


def lock_waiting_worker(db: Database, timeout: float = 20.0) -> int:
    """The pid of the (one) worker whose database session waits on a lock."""
    def find():
        waiting = [a for a in db.lock_waiters() if a.startswith(WORKER_APP_PREFIX)]
        return waiting if len(waiting) == 1 else None
    (app,) = wait_until(find, timeout, what="one worker waiting on the test's row lock")
    return int(app[len(WORKER_APP_PREFIX):])


def backend_waiting_on_lock(cluster, worker_pid: int) -> Optional[int]:
    """The backend pid of ``worker_pid``'s session while it waits on a lock, else None (``cluster``: a PgServer or
    a Cluster)."""
    rows = cluster.query("SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                        f"AND application_name = '{WORKER_APP_PREFIX}{worker_pid}'")
    return int(rows[0][0]) if rows else None

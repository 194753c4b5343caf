"""PgBouncer in front of a ``pgserver.PgServer``: Debian's ``pgbouncer`` run in the foreground (as ``postgres`` when
root: PgBouncer refuses to run as root), its ini and userlist written into its own directory, its admin console
read with ``show()``; and ``BouncedDatabase``, a database the workers reach through it.

Python 3 standard library only.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
from pathlib import Path
from typing import Optional

from harness.pgserver import (ADMIN_PASSWORD, ADMIN_USER, APP_PASSWORD, APP_USER, OWNER, PgServer, give_to_owner,
                              libpq_url)
from harness.postgres import WORKER_APP_PREFIX, Database
from harness.processes import child_env, free_port, is_root, make_dir, run, stop_process, wait_until


class PgBouncer:
    """Debian's pgbouncer in front of ``server`` (any database name is passed through to it), listening on a free
    loopback port, ``pool_mode`` (default transaction) with ``pool_size`` server connections per database and
    user. Clients log in as ``app`` with its password (scram-sha-256, checked by PgBouncer against its userlist,
    which PgBouncer also uses to log in to the server). ``show()`` reads the admin console."""

    def __init__(self, directory: Path, server: PgServer, pool_size: int = 2, pool_mode: str = "transaction"):
        self.dir = make_dir(directory)
        self.server = server
        self.port = free_port()
        self.pool_size = pool_size
        self.pool_mode = pool_mode
        self.ini_path = self.dir / "pgbouncer.ini"
        self.log_path = self.dir / "pgbouncer.log"
        self.stderr_path = self.dir / "pgbouncer.stderr"
        self.proc: Optional[subprocess.Popen] = None

    def _write_config(self) -> None:
        userlist = self.dir / "userlist.txt"
        userlist.write_text(f'"{APP_USER}" "{APP_PASSWORD}"\n"{ADMIN_USER}" "{ADMIN_PASSWORD}"\n')
        os.chmod(userlist, 0o600)
        self.ini_path.write_text("\n".join([
            "; Written by the tests' harness/pgbouncer.py.",
            "[databases]",
            f"* = host={self.server.host} port={self.server.port}",
            "",
            "[pgbouncer]",
            "listen_addr = 127.0.0.1",
            f"listen_port = {self.port}",
            "unix_socket_dir =",
            "auth_type = scram-sha-256",
            f"auth_file = {userlist}",
            f"admin_users = {ADMIN_USER}",
            f"pool_mode = {self.pool_mode}",
            f"default_pool_size = {self.pool_size}",
            "min_pool_size = 0",
            "reserve_pool_size = 0",
            "max_client_conn = 200",
            f"logfile = {self.log_path}",
            f"pidfile = {self.dir / 'pgbouncer.pid'}",
            "ignore_startup_parameters = extra_float_digits",
        ]) + "\n")
        give_to_owner(self.dir, userlist, self.ini_path)

    def start(self) -> "PgBouncer":
        binary = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
        if not os.access(binary, os.X_OK):
            raise AssertionError("pgbouncer is not installed: run scripts/install-deps (Debian package pgbouncer)")
        self._write_config()
        kw = {}
        if is_root():
            kw = {"user": OWNER, "group": pwd.getpwnam(OWNER).pw_gid}  # PgBouncer refuses to run as root
        with open(self.stderr_path, "ab") as err:
            self.proc = subprocess.Popen([binary, str(self.ini_path)], stdin=subprocess.DEVNULL, stdout=err,
                                         stderr=err, env=child_env(), cwd="/", start_new_session=True, **kw)
        wait_until(self._answers, 20, interval=0.1, what=lambda: f"pgbouncer on port {self.port}\n{self.log_text()}")
        return self

    def _answers(self) -> bool:
        assert self.proc.poll() is None, f"pgbouncer exited with {self.proc.returncode}\n{self.log_text()}"
        try:
            return bool(self.show("VERSION"))
        except AssertionError:
            return False

    def url(self, dbname: str) -> str:
        """The service's URL for ``dbname`` through the pooler."""
        return libpq_url([("127.0.0.1", self.port)], dbname)

    def admin_url(self) -> str:
        """PgBouncer's admin console (SHOW POOLS, SHOW CLIENTS...)."""
        return libpq_url([("127.0.0.1", self.port)], "pgbouncer", ADMIN_USER, ADMIN_PASSWORD)

    def show(self, what: str) -> list[dict]:
        """``SHOW <what>`` on the admin console (POOLS, CLIENTS, SERVERS...), as one dict per row."""
        out = run(["psql", "-X", "-q", "-A", "-F", "\t", "-P", "footer=off", "-d", self.admin_url(), "-c",
                   f"SHOW {what}"],
                  timeout=30, check=False)
        if out.returncode != 0:
            raise AssertionError(f"SHOW {what} on pgbouncer failed: {out.stderr}")
        lines = [line for line in out.stdout.splitlines() if line != ""]
        if not lines:
            return []
        header = lines[0].split("\t")
        return [dict(zip(header, line.split("\t"))) for line in lines[1:]]

    def log_text(self) -> str:
        parts = []
        for path in (self.stderr_path, self.log_path):
            try:
                parts.append(path.read_text(errors="replace")[-4000:])
            except OSError:
                pass
        return "\n".join(parts)

    def close(self) -> None:
        if self.proc is not None:
            stop_process(self.proc, signal.SIGINT, timeout=10, group=True)  # SIGINT: PgBouncer's safe shutdown


class BouncedDatabase(Database):
    """A database reached through PgBouncer. In transaction pooling a worker holds no server connection of its
    own between transactions, so which workers are connected is read from PgBouncer's client list (by
    application_name) rather than from pg_stat_activity; SQL still goes to the server itself."""

    def __init__(self, server: PgServer, name: str, bouncer: PgBouncer):
        super().__init__(server, name, bouncer.url(name))
        self.bouncer = bouncer
        self.direct_url = server.tcp_url(name)

    def worker_backends(self) -> dict[int, int]:
        """{worker pid: its client port at PgBouncer} for the workers logged in to this database."""
        result = {}
        for row in self.bouncer.show("CLIENTS"):
            app = row.get("application_name", "")
            if row.get("database") == self.name and app.startswith(WORKER_APP_PREFIX):
                suffix = app[len(WORKER_APP_PREFIX):]
                result[int(suffix) if suffix.isdigit() else -1] = int(row.get("port") or 0)
        return result

    def server_backends(self) -> int:
        """How many connections of the server itself serve this database for ``app`` (PgBouncer's)."""
        rows = self.cluster.query("SELECT count(*) FROM pg_stat_activity "
                                  f"WHERE datname = '{self.name}' AND usename = '{APP_USER}'")
        return int(rows[0][0])

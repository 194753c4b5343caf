"""PostgreSQL servers on TCP for the resilience tests: a primary, a streaming standby of it, in a network namespace
when the test cuts the network.

``scripts/pg-cluster`` (and ``postgres.Cluster`` over it) deliberately runs PostgreSQL without TCP, on a private
unix socket, and has no replication; the tests of outages, failover and pooling need what it leaves out:
libpq's TCP timeouts and keepalives only matter on TCP, a multi-host ``DATABASE_URL`` names host:port pairs, a
standby streams from a replication user over TCP, and PgBouncer connects to a port. So ``PgServer`` follows
the same conventions as pg-cluster (a directory per server with ``data/``, ``socket/`` and a log; run as user
``postgres`` when root, since PostgreSQL refuses root; superuser ``notes`` with trust on the socket, which is the
test's own way in) and adds:

- TCP on a free loopback port (or on an address inside a ``netns.NetNamespace``), password authentication
  (scram-sha-256) for the application role ``app`` and the replication role ``replicator``: the service and
  PgBouncer log in the way production does;
- ``create_standby()`` (``pg_basebackup -R`` with a replication slot), ``stop(mode)``, ``restart(mode)``,
  ``promote()``, ``wait_replayed()``;
- a ``query()`` compatible with ``postgres.Cluster``'s, so ``postgres.Database`` (worker_backends,
  lock_waiters...) works on these servers too. It always goes through the unix socket, which keeps working while
  the server's network is partitioned.

The service runs over such a database as ``launcher.stack(name, db=..., migrate_url=...)``, the migrations at
a URL of their own when the workers go through PgBouncer (``pgbouncer``).

Everything here is owned by a ``Launcher`` (``launcher.add``), which stops it after the test, in reverse order of
creation.

Python 3 standard library only.
"""

from __future__ import annotations

import os
import pwd
import re
import subprocess
import urllib.parse
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Optional

from harness.netns import NetNamespace
from harness.postgres import Database
from harness.processes import free_port, is_root, make_dir, run, wait_until

if TYPE_CHECKING:
    from harness.stack import Launcher

OWNER = "postgres"  # the user PostgreSQL and PgBouncer run as when the tests run as root
SUPERUSER = "notes"  # trust on the unix socket only: the tests' own way in
APP_USER, APP_PASSWORD = "app", "app-Pw-7c41"  # the service's role (owns its databases)
REPLICATION_USER, REPLICATION_PASSWORD = "replicator", "repl-Pw-93be"
ADMIN_USER, ADMIN_PASSWORD = "pgbadmin", "pgb-Pw-5d02"  # PgBouncer's admin console
START_TIMEOUT = 60


def pg_bindir() -> Path:
    """The server binaries (initdb, pg_ctl, pg_basebackup): pg_config's bindir, else the newest installed
    server, as scripts/pg-cluster finds them."""
    try:
        out = subprocess.run(["pg_config", "--bindir"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             text=True, timeout=30)
        candidate = Path(out.stdout.strip())
        if out.returncode == 0 and (candidate / "pg_ctl").exists():
            return candidate
    except FileNotFoundError:
        pass
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),
                      key=lambda p: [int(x) for x in re.findall(r"\d+", p.parent.parent.name)] or [0])
    if not versions:
        raise AssertionError("no PostgreSQL server binaries (pg_ctl) found: run scripts/install-deps")
    return versions[-1].parent


def as_owner(cmd: list) -> list[str]:
    """``cmd`` run as the servers' owner: through runuser when root (PostgreSQL refuses root)."""
    cmd = [str(c) for c in cmd]
    return ["runuser", "-u", OWNER, "--"] + cmd if is_root() else cmd


def give_to_owner(*paths: Path) -> None:
    """chown to the servers' owner when root, so postgres/pgbouncer can write there."""
    if not is_root():
        return
    entry = pwd.getpwnam(OWNER)
    for path in paths:
        os.chown(path, entry.pw_uid, entry.pw_gid)


def url_encode(value: str) -> str:
    return urllib.parse.quote(value, safe="")


def libpq_url(hosts: Iterable[tuple[str, int]], dbname: str, user: str = APP_USER, password: str = APP_PASSWORD,
              **params: str) -> str:
    """A libpq URI naming one or several host:port pairs (tried in order), e.g. with
    target_session_attrs=read-write."""
    netloc = ",".join(f"{h}:{p}" for h, p in hosts)
    query = "&".join(f"{k}={url_encode(v)}" for k, v in params.items())
    return f"postgresql://{url_encode(user)}:{url_encode(password)}@{netloc}/{dbname}" + (f"?{query}" if query else "")


class PgServer:
    """One PostgreSQL server in ``directory`` (``data/``, ``socket/``, ``postgresql.log``), listening on the unix
    socket (superuser ``notes``, trust) and on TCP ``host:port`` (password authentication for ``app`` and
    ``replicator`` from ``client_networks``). Inside ``netns`` when given (then ``host`` is its address).
    ``init()`` makes a new primary, ``create_standby()`` a streaming standby of it."""

    def __init__(self, directory: Path, host: str = "127.0.0.1", port: Optional[int] = None,
                 netns: Optional[NetNamespace] = None, client_networks: Iterable[str] = ("127.0.0.1/32",)):
        self.dir = make_dir(directory)
        self.data = self.dir / "data"
        self.socket_dir = self.dir / "socket"
        self.log_path = self.dir / "postgresql.log"
        self.netns = netns
        self.host = netns.ns_addr if netns is not None else host
        self.port = port or (5432 if netns is not None else free_port())
        self.client_networks = list(client_networks) + ([f"{netns.host_addr}/32"] if netns is not None else [])
        self.bindir = pg_bindir()
        self.url: Optional[str] = None  # the superuser's socket URL for database notes, as Cluster.url
        self._counter = 0

    # -- the pieces of a command line

    def _prefix(self) -> list[str]:
        return self.netns.exec_prefix() if self.netns is not None else []

    def _owner_run(self, cmd: list, timeout: float = START_TIMEOUT + 30, check: bool = True,
                   in_netns: bool = False) -> subprocess.CompletedProcess:
        full = (self._prefix() if in_netns else []) + as_owner(cmd)
        return run(full, timeout=timeout, check=check, cwd=Path("/"))

    def socket_url(self, dbname: str = "postgres") -> str:
        return f"postgresql:///{dbname}?host={url_encode(str(self.socket_dir))}&port={self.port}&user={SUPERUSER}"

    def tcp_url(self, dbname: str = "notes", **params: str) -> str:
        """The service's URL for ``dbname`` over TCP (role app, with its password)."""
        return libpq_url([(self.host, self.port)], dbname, **params)

    # -- creating

    def _prepare_dirs(self) -> None:
        make_dir(self.socket_dir)
        give_to_owner(self.dir, self.socket_dir)

    def init(self) -> "PgServer":
        """A new primary: initdb, then this server's configuration (written again at every start)."""
        self._prepare_dirs()
        self._owner_run([self.bindir / "initdb", "-D", self.data, "-U", SUPERUSER, "-E", "UTF8", "--locale=C",
                         "--auth-local=trust", "--auth-host=reject", "--no-sync"], timeout=180)
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write("include_if_exists = 'topology.conf'  # written by the tests' harness at each start\n")
        self._write_hba()
        return self

    def _write_hba(self) -> None:
        lines = ["# Written by the tests' harness/pgserver.py.",
                 "local all all trust",
                 "local replication all trust"]
        for network in self.client_networks:
            lines.append(f"host replication {REPLICATION_USER} {network} scram-sha-256")
            lines.append(f"host all all {network} scram-sha-256")
        path = self.data / "pg_hba.conf"
        path.write_text("\n".join(lines) + "\n")
        give_to_owner(path)

    def _write_conf(self) -> None:
        socket_dir = str(self.socket_dir).replace("'", "''")
        path = self.data / "topology.conf"
        path.write_text("\n".join([
            "# Written by the tests' harness/pgserver.py at each start; edits are lost.",
            f"listen_addresses = '{self.host}'",
            f"port = {self.port}",
            f"unix_socket_directories = '{socket_dir}'",
            "wal_level = replica",
            "max_wal_senders = 5",
            "max_replication_slots = 5",
            "hot_standby = on",
            "log_connections = on",
            "log_disconnections = on",
            "log_line_prefix = '%m [%p] %q%u@%d %a '",
        ]) + "\n")
        give_to_owner(path)

    def bootstrap(self) -> None:
        """The roles of a new primary: ``app`` (the service; it owns the databases it uses) and ``replicator``."""
        self.query(f"CREATE ROLE {APP_USER} LOGIN PASSWORD '{APP_PASSWORD}'")
        self.query(f"CREATE ROLE {REPLICATION_USER} REPLICATION LOGIN PASSWORD '{REPLICATION_PASSWORD}'")
        self.query(f"CREATE DATABASE notes OWNER {APP_USER}")

    def create_standby(self, directory: Path, port: Optional[int] = None, slot: str = "standby") -> "PgServer":
        """A streaming standby of this (running) server, made with ``pg_basebackup -R`` over TCP as the
        replication role, with a replication slot; returned not yet started."""
        standby = PgServer(directory, self.host, port, self.netns, self.client_networks)
        standby._prepare_dirs()
        conninfo = (f"host={self.host} port={self.port} user={REPLICATION_USER} "
                    f"password={REPLICATION_PASSWORD} application_name={slot}")
        self._owner_run([self.bindir / "pg_basebackup", "-D", standby.data, "-R", "-X", "stream", "-C", "-S", slot,
                         "-c", "fast", "--no-sync", "-d", conninfo], timeout=180, in_netns=True)
        return standby

    # -- running

    def running(self) -> bool:
        if not (self.data / "postmaster.pid").exists():
            return False
        return self._owner_run([self.bindir / "pg_ctl", "-D", self.data, "status"], check=False).returncode == 0

    def start(self) -> "PgServer":
        self._write_conf()
        # setsid: a session of its own, as scripts/pg-cluster does; inside the namespace when there is one.
        result = self._owner_run(["setsid", "-w", self.bindir / "pg_ctl", "-D", self.data, "-l", self.log_path,
                                  "-w", "-t", str(START_TIMEOUT), "-s", "start"], check=False, in_netns=True)
        if result.returncode != 0:
            raise AssertionError(f"could not start PostgreSQL in {self.data}: {result.stderr}\n{self.log_tail()}")
        self.url = self.socket_url("notes")
        return self

    def stop(self, mode: str = "fast") -> None:
        """pg_ctl stop -m fast (disconnect clients, clean shutdown) or -m immediate (like a crash: recovery
        at the next start)."""
        if self.running():
            self._owner_run([self.bindir / "pg_ctl", "-D", self.data, "-m", mode, "-w", "-t", str(START_TIMEOUT),
                             "-s", "stop"])

    def restart(self, mode: str = "fast") -> None:
        """pg_ctl restart -m MODE: every connection is cut, the server is back (accepting) when this returns."""
        result = self._owner_run(["setsid", "-w", self.bindir / "pg_ctl", "-D", self.data, "-l", self.log_path,
                                  "-m", mode, "-w", "-t", str(START_TIMEOUT), "-s", "restart"], check=False,
                                 in_netns=True)
        if result.returncode != 0:
            raise AssertionError(f"pg_ctl restart -m {mode} failed: {result.stderr}\n{self.log_tail()}")

    def promote(self) -> None:
        """pg_ctl promote -w: returns once the standby accepts writes."""
        self._owner_run([self.bindir / "pg_ctl", "-D", self.data, "-w", "-t", str(START_TIMEOUT), "-s", "promote"])

    def close(self) -> None:
        try:
            self.stop("fast")
        except AssertionError:
            self.stop("immediate")

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    # -- SQL, always through the unix socket

    def query(self, sql: str, url: Optional[str] = None) -> list[list[str]]:
        """Rows of ``sql`` run as the superuser through the unix socket, in the database named by ``url`` (any
        URL of this server: only its database name is used), else in database ``postgres``. Same shape as
        ``Cluster.query``, so ``Database`` works on this server."""
        dbname = "postgres"
        if url:
            path = urllib.parse.urlsplit(url).path.lstrip("/")
            dbname = urllib.parse.unquote(path) or "postgres"
        out = run(["psql", "-X", "-q", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1",
                   "-d", self.socket_url(dbname), "-c", sql], timeout=60)
        return [line.split("\t") for line in out.stdout.splitlines() if line != ""]

    def create_database(self, prefix: str = "t", url_host: Optional[tuple[str, int]] = None) -> Database:
        """A new database owned by ``app``; its ``url`` is the service's TCP URL (to ``url_host`` when given,
        e.g. a pooler)."""
        self._counter += 1
        name = f"{prefix}_{self._counter}_{uuid.uuid4().hex[:8]}"
        self.query(f'CREATE DATABASE "{name}" OWNER {APP_USER}')
        host, port = url_host or (self.host, self.port)
        return Database(self, name, libpq_url([(host, port)], name))

    def in_recovery(self) -> bool:
        return self.query("SELECT pg_is_in_recovery()") == [["t"]]

    def wait_streaming(self, count: int = 1, timeout: float = 60.0) -> None:
        """Wait until ``count`` standbys stream from this server."""
        def streaming():
            rows = self.query("SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'")
            return int(rows[0][0]) >= count
        wait_until(streaming, timeout, interval=0.2, what=lambda: f"{count} streaming standby(s)\n{self.log_tail()}")

    def wait_replayed(self, standby: "PgServer", timeout: float = 60.0) -> None:
        """Wait until ``standby`` has replayed everything this server has written so far."""
        (lsn,), = self.query("SELECT pg_current_wal_lsn()")
        wait_until(lambda: standby.query(f"SELECT pg_last_wal_replay_lsn() >= '{lsn}'::pg_lsn") == [["t"]],
                   timeout, interval=0.1, what=f"the standby to replay up to {lsn}")


def pg_server(launcher: Launcher, name: str, **kw) -> PgServer:
    """A new primary, started, with its roles, owned by ``launcher`` (kw: host, port, netns, client_networks)."""
    server = launcher.add(PgServer(make_dir(launcher.tmp_root / name), **kw))
    server.init().start().bootstrap()
    return server

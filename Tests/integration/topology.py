"""Database topologies for the resilience tests: PostgreSQL on TCP, a streaming standby, PgBouncer, and a
server in a network namespace that a test can cut off.

``scripts/pg-cluster`` (and ``stack.Cluster`` over it) deliberately runs PostgreSQL without TCP, on a private
unix socket, and has no replication; the tests of outages, failover and pooling need what it leaves out:
libpq's TCP timeouts and keepalives only matter on TCP, a multi-host ``DATABASE_URL`` names host:port pairs, a
standby streams from a replication user over TCP, and PgBouncer connects to a port. So ``PgServer`` follows
the same conventions as pg-cluster (a directory per server with ``data/``, ``socket/`` and a log; run as user
``postgres`` when root, since PostgreSQL refuses root; superuser ``notes`` with trust on the socket, which is the
test's own way in) and adds:

- TCP on a free loopback port (or on an address inside a ``NetNamespace``), password authentication
  (scram-sha-256) for the application role ``app`` and the replication role ``replicator``: the service and
  PgBouncer log in the way production does;
- ``create_standby()`` (``pg_basebackup -R`` with a replication slot), ``stop(mode)``, ``restart(mode)``,
  ``promote()``, ``wait_replayed()``;
- a ``query()`` compatible with ``stack.Cluster``'s, so ``stack.Database`` (worker_backends, lock_waiters...)
  works on these servers too. It always goes through the unix socket, which keeps working while the server's
  network is partitioned.

``PgBouncer`` writes its ini and userlist into its own directory and runs Debian's ``pgbouncer`` in the
foreground (as ``postgres`` when root: PgBouncer refuses to run as root). ``NetNamespace`` is a network
namespace joined to the host by a veth pair; ``partition()`` adds a blackhole route inside it towards the
host's address, so the server's packets to the service are silently dropped (nothing is refused: the client
sees a peer that went quiet, as with a broken network), and ``heal()`` removes it.

The service runs over such a database as ``launcher.stack(name, db=..., migrate_url=...)``, the migrations at
a URL of their own when the workers go through PgBouncer.

Everything here is owned by a ``stack.Launcher`` (``launcher.add``), which stops it after the test, in
reverse order of creation: the namespace is created before the server in it and removed after it.
A missing capability (no ``ip netns``, not root) fails with a message that says so; nothing skips silently.

Python 3 standard library only.
"""

from __future__ import annotations

import ipaddress
import os
import pwd
import random
import re
import shutil
import signal
import subprocess
import urllib.parse
import uuid
from pathlib import Path
from typing import Iterable, Optional

from stack import (Database, Launcher, WORKER_APP_PREFIX, child_env, free_port, is_root, make_dir, run, stop_process,
                   wait_until)

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


# --------------------------------------------------------------------------------------------------
# network namespace


class NetNamespace:
    """A network namespace joined to the host by a veth pair on a /30 of 10.77.0.0/16: the host side is
    ``host_addr`` (the address the service's connections come from), the namespace side ``ns_addr`` (where a
    server inside listens). ``partition()`` drops, inside the namespace, every packet towards the host
    (a blackhole route: nothing answers, nothing is refused); ``heal()`` restores the route."""

    def __init__(self):
        suffix = uuid.uuid4().hex[:6]
        self.name = f"notes-it-{suffix}"
        self.host_if, self.ns_if = f"nih{suffix}", f"nin{suffix}"  # (interface names: 15 bytes at most)
        network = self._free_network()
        self.host_addr, self.ns_addr = str(network[1]), str(network[2])
        self.prefix = network.prefixlen
        self.created = False
        self.partitioned = False

    @staticmethod
    def _free_network() -> ipaddress.IPv4Network:
        used = subprocess.run(["ip", "-4", "-o", "addr", "show"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              text=True).stdout
        taken = [ipaddress.ip_interface(m) for m in re.findall(r"inet (\S+)", used)]
        for _ in range(100):
            network = ipaddress.ip_network(f"10.77.{random.randrange(256)}.{4 * random.randrange(64)}/30")
            if not any(i.network.overlaps(network) for i in taken):
                return network
        raise AssertionError("no free /30 in 10.77.0.0/16 for a test network namespace")

    def _ip(self, *args: str, inside: bool = False, check: bool = True) -> subprocess.CompletedProcess:
        cmd = (["ip", "netns", "exec", self.name] if inside else []) + ["ip", *args]
        return run(cmd, timeout=30, check=check)

    def create(self) -> "NetNamespace":
        if shutil.which("ip") is None:
            raise AssertionError("the network partition test needs iproute2's `ip` (scripts/install-deps installs it)")
        if not is_root():
            raise AssertionError("the network partition test needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN) to "
                                 "create a network namespace; it does not run without them")
        result = run(["ip", "netns", "add", self.name], timeout=30, check=False)
        if result.returncode != 0:
            raise AssertionError(f"cannot create a network namespace (`ip netns add` failed: {result.stderr.strip()}); "
                                 "the partition test needs network namespaces and veth support in the kernel")
        self.created = True
        self._ip("link", "add", self.host_if, "type", "veth", "peer", "name", self.ns_if)
        self._ip("link", "set", self.ns_if, "netns", self.name)
        self._ip("addr", "add", f"{self.host_addr}/{self.prefix}", "dev", self.host_if)
        self._ip("link", "set", self.host_if, "up")
        self._ip("addr", "add", f"{self.ns_addr}/{self.prefix}", "dev", self.ns_if, inside=True)
        self._ip("link", "set", self.ns_if, "up", inside=True)
        self._ip("link", "set", "lo", "up", inside=True)
        return self

    def exec_prefix(self) -> list[str]:
        """Prefix of a command to run inside the namespace."""
        return ["ip", "netns", "exec", self.name]

    def partition(self) -> None:
        """From now on the namespace's replies to the host vanish: connections in use stall, new ones hang."""
        self._ip("route", "add", "blackhole", f"{self.host_addr}/32", inside=True)
        self.partitioned = True

    def heal(self) -> None:
        self._ip("route", "del", "blackhole", f"{self.host_addr}/32", inside=True)
        self.partitioned = False

    def close(self) -> None:
        if not self.created:
            return
        self._ip("link", "del", self.host_if, check=False)  # (its peer goes with it)
        run(["ip", "netns", "del", self.name], timeout=30, check=False)
        self.created = False


# --------------------------------------------------------------------------------------------------
# PostgreSQL over TCP


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
        self.url: Optional[str] = None  # the superuser's socket URL for database notes, as stack.Cluster.url
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
            conf.write("include_if_exists = 'topology.conf'  # written by the tests' topology.py at each start\n")
        self._write_hba()
        return self

    def _write_hba(self) -> None:
        lines = ["# Written by the tests' topology.py.",
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
            "# Written by the tests' topology.py at each start; edits are lost.",
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
        ``stack.Cluster.query``, so ``stack.Database`` works on this server."""
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


def net_namespace(launcher: Launcher) -> NetNamespace:
    """A created NetNamespace owned by ``launcher`` (removed after everything added later)."""
    return launcher.add(NetNamespace()).create()


# --------------------------------------------------------------------------------------------------
# PgBouncer


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
            "; Written by the tests' topology.py.",
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


# --------------------------------------------------------------------------------------------------
# the service over such a database


def backend_waiting_on_lock(cluster, worker_pid: int) -> Optional[int]:
    """The backend pid of ``worker_pid``'s session while it waits on a lock, else None (``cluster``: a PgServer or
    a stack.Cluster)."""
    rows = cluster.query("SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                        f"AND application_name = '{WORKER_APP_PREFIX}{worker_pid}'")
    return int(rows[0][0]) if rows else None

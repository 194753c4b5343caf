"""The notes processes a test starts itself: ``notes-supervisor`` with its pool (``Supervisor``, its options a
``SupervisorOptions``), a ``notes-worker`` on a socket of the test's (``DirectWorker``, as spawn-fcgi runs it), and
the test's own NOTIFY_SOCKET (``NotifyListener``).

Python 3 standard library only.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterable, Optional

from harness.fastcgi_client import fastcgi_request
from harness.http import Response
from harness.postgres import Database
from harness.processes import (SERVICE_USER, child_env, children_of, free_port, give_to_service_user, group_exists,
                               is_root, make_dir, proc_comm, process_alive, stop_process, wait_until)

# How long a supervisor may take to stop gracefully in tests (it is started with this --graceful-timeout).
GRACEFUL_TIMEOUT = 10


@dataclass
class SupervisorOptions:
    """What a Supervisor is started with beyond its pool (the database, the number of workers, unix or TCP)."""
    extra_args: Iterable[str] = ()  # more command-line arguments, e.g. ["--timeout", "2"]
    # An adaptive pool: (minimum, maximum) as --workers-min/--workers-max instead of --workers N; the workers
    # the Supervisor waits for at start are then the minimum.
    workers_range: Optional[tuple] = None
    env: dict = field(default_factory=dict)  # overrides of the environment (e.g. NOTIFY_SOCKET); None removes one
    worker_binary: Optional[Path] = None  # --worker-binary
    log_file: Optional[Path] = None  # --log-file; Supervisor.log() then reads both that file and stderr
    graceful_timeout: float = GRACEFUL_TIMEOUT  # --graceful-timeout
    # A bound, listening unix socket handed over as fd 3 with LISTEN_FDS=1 and LISTEN_PID=<the supervisor's pid>,
    # as systemd's socket activation does (the socket stays the test's).
    listen_socket: Optional[socket.socket] = None
    # Every descriptor handed over, in order from fd 3 (LISTEN_FDS counts them), when there is more than
    # listen_socket alone, e.g. the netlink socket of ListenNetlink= beside it (descriptors or objects with fileno()).
    inherited: tuple = ()


class Supervisor:
    """notes-supervisor on a unix socket (default) or a loopback TCP port, stderr in ``log_path``; the rest of
    its command line and environment from ``options`` (keyword arguments are a shorthand for its fields)."""

    WORKER_STARTED = re.compile(r"worker (\d+) started")

    def __init__(self, bin_dir: Path, db: Optional[Database], run_dir: Path, workers: int = 2, tcp: bool = False,
                 options: Optional[SupervisorOptions] = None, **option_fields):
        options = replace(options or SupervisorOptions(), **option_fields)
        self.bin_dir = bin_dir
        self.db = db
        self.run_dir = make_dir(run_dir)
        give_to_service_user(self.run_dir)  # the supervisor removes its socket and reopens its log file here
        self.workers_range = options.workers_range
        self.workers = workers if self.workers_range is None else self.workers_range[0]
        self.log_path = run_dir / "supervisor.log"
        self.listen_socket = options.listen_socket
        self.inherited = tuple(options.inherited) or ((self.listen_socket,) if self.listen_socket else ())
        if self.listen_socket is not None:
            self.port = None
            self.socket_path = Path(self.listen_socket.getsockname())
            self.listen = f"unix:{self.socket_path}"
            self.fastcgi_addr = self.listen
        elif tcp:
            self.port = free_port()
            self.socket_path = None
            self.listen = f"127.0.0.1:{self.port}"
            self.fastcgi_addr = self.listen
        else:
            self.port = None
            self.socket_path = run_dir / "notes.sock"
            self.listen = f"unix:{self.socket_path}"
            self.fastcgi_addr = f"unix:{self.socket_path}"
        self.extra_args = list(options.extra_args)
        self.env = dict(options.env or {})
        self.worker_binary = options.worker_binary
        self.log_file = options.log_file
        self.graceful_timeout = options.graceful_timeout
        self.proc: Optional[subprocess.Popen] = None
        self.seen_workers: set[int] = set()

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def fastcgi_target(self):
        """The listening address in the form FastCGIConnection / fastcgi_request / Peer take."""
        if self.socket_path is not None:
            return self.socket_path
        return ("127.0.0.1", self.port)

    def command(self) -> list[str]:
        if self.workers_range is None:
            pool = ["--workers", str(self.workers)]
        else:
            pool = ["--workers-min", str(self.workers_range[0]), "--workers-max", str(self.workers_range[1])]
        cmd = [str(self.bin_dir / "notes-supervisor"), "--listen", self.listen, *pool,
               "--graceful-timeout", f"{self.graceful_timeout:g}"]
        if self.socket_path is not None and self.listen_socket is None and is_root() and group_exists("www-data"):
            cmd += ["--socket-group", "www-data"]  # nginx's workers run as www-data when nginx starts as root
        if is_root():
            cmd += ["--user", SERVICE_USER]
        if self.worker_binary is not None:
            cmd += ["--worker-binary", str(self.worker_binary)]
        if self.log_file is not None:
            cmd += ["--log-file", str(self.log_file)]
        return cmd + self.extra_args

    def environment(self) -> dict:
        return child_env(DATABASE_URL=self.db.url if self.db is not None else None, **self.env)

    def start(self, wait: bool = True) -> "Supervisor":
        cmd, pass_fds, env = self.command(), (), self.environment()
        if self.inherited:
            # LISTEN_PID must be the supervisor's own pid, known only in the child: a small exec wrapper
            # moves the descriptors to fds 3, 4, ... (by way of copies above them, so that none overwrites
            # another), sets LISTEN_FDS and LISTEN_PID to its pid and execs the supervisor (same pid).
            fds = [s if isinstance(s, int) else s.fileno() for s in self.inherited]
            wrapper = ("import fcntl, os, sys\n"
                       "fds = [int(fd) for fd in sys.argv[1].split(',')]\n"
                       "copies = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 100) for fd in fds]\n"
                       "for fd in fds: os.close(fd)\n"
                       "for i, copy in enumerate(copies): os.dup2(copy, 3 + i); os.close(copy)\n"
                       "os.environ['LISTEN_FDS'] = str(len(fds))\n"
                       "os.environ['LISTEN_PID'] = str(os.getpid())\n"
                       "os.execv(sys.argv[2], sys.argv[2:])\n")
            cmd = [sys.executable, "-c", wrapper, ",".join(map(str, fds))] + cmd
            pass_fds = tuple(fds)
            env = {k: v for k, v in env.items() if k not in ("LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES")}
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env,
                                         pass_fds=pass_fds, start_new_session=True)
        if wait:
            self.wait_ready()
        return self

    def stderr_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log(self) -> str:
        """Everything logged so far: stderr, plus the --log-file (and files it was rotated to: *.N) if any."""
        text = self.stderr_text()
        if self.log_file is not None:
            for path in sorted(self.log_file.parent.glob(self.log_file.name + ".*")) + [self.log_file]:
                try:
                    text += path.read_text(errors="replace")
                except FileNotFoundError:
                    pass
        return text

    def started_count(self) -> int:
        """How many "worker N started" lines the supervisor logged."""
        return len(self.WORKER_STARTED.findall(self.log()))

    def started_pids(self) -> set[int]:
        """The pids of the "worker N started" lines."""
        return {int(pid) for pid in self.WORKER_STARTED.findall(self.log())}

    def worker_pids(self) -> set[int]:
        """Live notes-worker children of the supervisor."""
        pids = {p for p in children_of(self.pid) if proc_comm(p) == "notes-worker"}
        self.seen_workers |= pids
        return pids

    def wait_ready(self, timeout: float = 30.0, workers: Optional[int] = None) -> set[int]:
        """Wait until N workers run (``workers``, default the configured number) and each holds its database
        connection; returns their pids."""
        expected = self.workers if workers is None else workers
        def ready():
            assert self.proc.poll() is None, f"supervisor exited with {self.proc.returncode}:\n{self.log()}"
            pids = self.worker_pids()
            if len(pids) != expected:
                return None
            if self.socket_path is not None and not self.socket_path.exists():
                return None
            if self.db is not None and not pids <= set(self.db.worker_backends()):
                return None
            return pids
        return wait_until(ready, timeout, what=lambda: f"{expected} workers with database connections\n{self.log()}")

    def fastcgi(self, method: str, path: str, query: str = "", **kw) -> Response:
        """A request straight to the pool's socket (no nginx)."""
        return fastcgi_request(self.fastcgi_target, method, path, query, **kw)

    def status(self) -> dict:
        """GET /status straight from the pool (a worker answers it from the shared scoreboard)."""
        resp = self.fastcgi("GET", "/status")
        assert resp.status == 200, f"/status: {resp!r}\n{self.log()}"
        return resp.json()

    def own_status(self) -> dict:
        """GET /status from the supervisor's own listener (--status-listen's default beside a unix --listen
        socket), which answers while every worker is stopped."""
        assert self.socket_path is not None and "--status-listen" not in self.extra_args, self.command()
        path = self.socket_path.with_name(self.socket_path.stem + "-status.sock")
        resp = fastcgi_request(path, "GET", "/status")
        assert resp.status == 200, f"/status: {resp!r}\n{self.log()}"
        return resp.json()

    def send(self, sig: int) -> None:
        os.kill(self.pid, sig)

    def wait_exit(self, timeout: Optional[float] = None) -> int:
        return self.proc.wait(timeout=timeout if timeout is not None else min(self.graceful_timeout, 60) + 20)

    def close(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.worker_pids()  # remember the current workers, to check for leftovers below
        stop_process(self.proc, signal.SIGTERM, timeout=min(self.graceful_timeout, GRACEFUL_TIMEOUT) + 10,
                     group=True)
        for pid in self.seen_workers:  # workers that somehow outlived their supervisor (another group, say)
            if process_alive(pid) and proc_comm(pid) == "notes-worker":
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass


class DirectWorker:
    """notes-worker started by the test itself on a listening unix socket passed as fd 0 (like spawn-fcgi)."""

    def __init__(self, bin_dir: Path, db_url: str, run_dir: Path, env: Optional[dict] = None,
                 args: Iterable[str] = ()):
        self.bin_dir = bin_dir
        self.run_dir = make_dir(run_dir)
        self.socket_path = run_dir / "worker.sock"
        self.stderr_path = run_dir / "worker.stderr"
        self.stdout_path = run_dir / "worker.stdout"
        self.env = env if env is not None else child_env(DATABASE_URL=db_url)
        self.args = list(args)
        self.proc: Optional[subprocess.Popen] = None

    @property
    def pid(self) -> int:
        return self.proc.pid

    def start(self) -> "DirectWorker":
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            listener.bind(str(self.socket_path))
            listener.listen(64)
            with open(self.stderr_path, "wb") as err, open(self.stdout_path, "wb") as out:
                self.proc = subprocess.Popen([str(self.bin_dir / "notes-worker"), *self.args], stdin=listener.fileno(),
                                             stdout=out, stderr=err, env=self.env, start_new_session=True)
        finally:
            listener.close()
        return self

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def wait_connected(self, db: Database, timeout: float = 20.0) -> None:
        def connected():
            assert self.proc.poll() is None, f"worker exited with {self.proc.returncode}: {self.stderr()}"
            return self.pid in db.worker_backends()
        wait_until(connected, timeout, what=f"worker {self.pid} database connection")

    def close(self) -> None:
        if self.proc is not None:
            stop_process(self.proc, signal.SIGTERM, timeout=15, group=True)
        try:
            self.socket_path.unlink()
        except FileNotFoundError:
            pass


class NotifyListener:
    """The test's own NOTIFY_SOCKET: a unix datagram socket (a path in ``directory``, or an abstract name with
    ``abstract``) whose datagrams a background thread collects, in order, as dicts of their KEY=VALUE lines.
    Pass ``env`` to the supervisor."""

    def __init__(self, directory: Path, abstract: bool = False):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        if abstract:
            name = f"notes-it-notify-{uuid.uuid4().hex[:12]}"
            self.sock.bind("\0" + name)
            self.address = "@" + name
        else:
            path = directory / "notify.sock"
            self.sock.bind(str(path))
            os.chmod(path, 0o666)
            self.address = str(path)
        self.sock.settimeout(0.1)
        self.raw: list[str] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="notify-listener", daemon=True)
        self._thread.start()

    @property
    def env(self) -> dict:
        return {"NOTIFY_SOCKET": self.address}

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            with self._lock:
                self.raw.append(data.decode("utf-8", "replace"))

    @staticmethod
    def parse(datagram: str) -> dict:
        fields = {}
        for line in datagram.split("\n"):
            if line:
                key, _, value = line.partition("=")
                fields[key] = value
        return fields

    def messages(self) -> list[dict]:
        with self._lock:
            return [self.parse(d) for d in self.raw]

    def wait_for(self, key: str, value: Optional[str] = None, after: int = 0, timeout: float = 30.0) -> int:
        """Index of the first message at index >= ``after`` that has ``key`` (equal to ``value`` if given)."""
        def find():
            for i, m in enumerate(self.messages()[after:], after):
                if key in m and (value is None or m[key] == value):
                    return i + 1  # (truthy even for index 0)
            return None
        return wait_until(find, timeout, what=lambda: f"a notify message with {key}={value or '*'} after "
                                                      f"#{after}: {self.raw}") - 1

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()
        if not self.address.startswith("@"):
            try:
                os.unlink(self.address)
            except FileNotFoundError:
                pass

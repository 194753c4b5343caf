"""Boot the real notes stack for integration tests.

PostgreSQL cluster (scripts/pg-cluster) -> notes-worker migrate -> notes-supervisor (+ N notes-worker)
-> nginx (scripts/nginx-local), all on private sockets and free loopback ports, plus small clients to
drive it: HTTP (raw socket + http.client's parser, so any request can be sent) and FastCGI (to talk to
a worker without nginx).

Every process started here is stopped by its owner's ``close()`` (SIGTERM, bounded wait, SIGKILL as a
last resort), and ``Launcher.close()`` closes everything it started, in reverse order, even after a
failed assertion. Readiness is always awaited by polling with a deadline (``wait_until``); nothing
here asserts on timing.

Python 3 standard library only.
"""

from __future__ import annotations

import grp
import http.client
import json
import os
import pwd
import queue
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Optional

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPTS_DIR = REPO_ROOT / "scripts"

WORKER_APP_PREFIX = "notes-worker-"
# How long a supervisor may take to stop gracefully in tests (it is started with this --graceful-timeout).
GRACEFUL_TIMEOUT = 10
# The account notes-supervisor switches to when the tests run as root (scripts/install-deps creates it).
SERVICE_USER = "notes"


# --------------------------------------------------------------------------------------------------
# small utilities


def wait_until(predicate: Callable[[], object], timeout: float = 30.0, interval: float = 0.05,
               what="condition"):
    """Poll ``predicate`` until it returns a truthy value (returned) or ``timeout`` seconds pass.

    ``what`` names the condition in the failure message; a callable is called only then (e.g. to show
    a log as it is at the deadline, not as it was when the wait began)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            description = what() if callable(what) else what
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {description} (last value: {value!r})")
        time.sleep(interval)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (bind port 0, read it, release it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def child_env(**overrides: Optional[str]) -> dict:
    """The environment for a child process: ours without DATABASE_URL and PG* variables, plus overrides
    (an override of None removes the variable)."""
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL" and not k.startswith("PG")}
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def make_dir(path: Path, mode: int = 0o755) -> Path:
    """Create a directory that other users (postgres, www-data) can traverse."""
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, mode)
    return path


def is_root() -> bool:
    return os.geteuid() == 0


def give_to_service_user(path: Path) -> Path:
    """As root, makes ``path`` the service account's (as a RuntimeDirectory or a log directory is in production):
    notes-supervisor started as root switches to SERVICE_USER before it writes anything there."""
    if is_root():
        account = pwd.getpwnam(SERVICE_USER)
        os.chown(path, account.pw_uid, account.pw_gid)
    return path


def group_exists(name: str) -> bool:
    try:
        grp.getgrnam(name)
        return True
    except KeyError:
        return False


CRASH_MARKERS = ("Traceback", "Fatal error", "Stack dump", "stack trace", "Backtrace", "Segmentation fault",
                 "panic", "SIGSEGV", "SIGILL")


# --------------------------------------------------------------------------------------------------
# processes


def _proc_stat(pid: int) -> Optional[tuple[str, int, int]]:
    """(state, ppid, pgrp) of a process, or None if it does not exist."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read().decode("utf-8", "replace")
    except (FileNotFoundError, ProcessLookupError):
        return None
    rest = data[data.rfind(")") + 2:].split()
    return rest[0], int(rest[1]), int(rest[2])


def proc_comm(pid: int) -> Optional[str]:
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except (FileNotFoundError, ProcessLookupError):
        return None


def process_alive(pid: int) -> bool:
    """True if the process exists and is not a zombie."""
    stat = _proc_stat(pid)
    return stat is not None and stat[0] not in ("Z", "X")


def children_of(pid: int) -> set[int]:
    """Live (non-zombie) children of ``pid``."""
    result = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        stat = _proc_stat(int(entry))
        if stat and stat[1] == pid and stat[0] not in ("Z", "X"):
            result.add(int(entry))
    return result


def signal_pending(pid: int, signum: int) -> bool:
    """True while ``signum`` is pending (not yet delivered) for the process."""
    try:
        with open(f"/proc/{pid}/status") as f:
            status = f.read()
    except FileNotFoundError:
        return False
    bit = 1 << (signum - 1)
    for key in ("SigPnd", "ShdPnd"):
        m = re.search(rf"^{key}:\s*([0-9a-f]+)", status, re.M)
        if m and int(m.group(1), 16) & bit:
            return True
    return False


def socket_fd_count(pid: int) -> int:
    """Number of socket file descriptors a process holds."""
    count = 0
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:"):
                    count += 1
            except OSError:
                pass
    except OSError:
        return 0
    return count


def stop_process(proc: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 15.0,
                 group: bool = False) -> Optional[int]:
    """Send ``sig``, wait up to ``timeout``, then SIGKILL (the process group when ``group``). Returns the exit code."""
    if proc.poll() is None:
        try:
            proc.send_signal(sig)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill(proc, group)
            proc.wait(timeout=10)
    if group:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # leftovers of the group we created with start_new_session
        except (ProcessLookupError, PermissionError):
            pass
    return proc.returncode


def _kill(proc: subprocess.Popen, group: bool) -> None:
    try:
        if group:
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
    except ProcessLookupError:
        pass


def run(cmd: list, env: Optional[dict] = None, timeout: float = 120.0, check: bool = True,
        cwd: Optional[Path] = None) -> subprocess.CompletedProcess:
    result = subprocess.run([str(c) for c in cmd], env=env if env is not None else child_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout, cwd=cwd,
                            stdin=subprocess.DEVNULL, text=True)
    if check and result.returncode != 0:
        raise AssertionError(f"command failed ({result.returncode}): {' '.join(map(str, cmd))}\n"
                             f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}")
    return result


def find_bin_dir() -> Path:
    """NOTES_BIN_DIR, else `scripts/build --show-bin-path` in the repository root."""
    env_dir = os.environ.get("NOTES_BIN_DIR")
    if env_dir:
        path = Path(env_dir)
    else:
        out = subprocess.run([str(REPO_ROOT / "scripts" / "build"), "--show-bin-path"], cwd=REPO_ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=300)
        path = Path(out.stdout.strip())
    for name in ("notes-worker", "notes-supervisor"):
        if not os.access(path / name, os.X_OK):
            raise RuntimeError(f"{path / name} missing: build first (scripts/build) or set NOTES_BIN_DIR")
    return path


# --------------------------------------------------------------------------------------------------
# PostgreSQL


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


# --------------------------------------------------------------------------------------------------
# notes processes


def migrate(bin_dir: Path, db_url: str, check: bool = True) -> subprocess.CompletedProcess:
    return run([bin_dir / "notes-worker", "migrate"], env=child_env(DATABASE_URL=db_url), timeout=60,
               check=check)


class Supervisor:
    """notes-supervisor on a unix socket (default) or a loopback TCP port, stderr in ``log_path``.

    Options beyond the pool itself: ``extra_args`` (e.g. ``["--timeout", "2"]``), ``env`` (overrides of the
    supervisor's environment, e.g. NOTIFY_SOCKET; None removes a variable), ``worker_binary``, ``log_file``
    (``--log-file``; ``log()`` then reads both that file and stderr), ``graceful_timeout`` and
    ``listen_socket``: a bound, listening unix socket handed over as fd 3 with LISTEN_FDS=1 and
    LISTEN_PID=<the supervisor's pid>, as systemd's socket activation does (the socket stays ours)."""

    WORKER_STARTED = re.compile(r"worker (\d+) started")

    def __init__(self, bin_dir: Path, db: Optional[Database], run_dir: Path, workers: int = 2, tcp: bool = False,
                 extra_args: Iterable[str] = (), env: Optional[dict] = None,
                 worker_binary: Optional[Path] = None, log_file: Optional[Path] = None,
                 graceful_timeout: float = GRACEFUL_TIMEOUT, listen_socket: Optional[socket.socket] = None):
        self.bin_dir = bin_dir
        self.db = db
        self.run_dir = make_dir(run_dir)
        give_to_service_user(self.run_dir)  # the supervisor removes its socket and reopens its log file here
        self.workers = workers
        self.log_path = run_dir / "supervisor.log"
        self.listen_socket = listen_socket
        if listen_socket is not None:
            self.port = None
            self.socket_path = Path(listen_socket.getsockname())
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
        self.extra_args = list(extra_args)
        self.env = dict(env or {})
        self.worker_binary = worker_binary
        self.log_file = log_file
        self.graceful_timeout = graceful_timeout
        self.proc: Optional[subprocess.Popen] = None
        self.seen_workers: set[int] = set()

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def fastcgi_target(self):
        """The listening address in the form FastCGIConnection / fastcgi_request take."""
        if self.socket_path is not None:
            return self.socket_path
        return ("127.0.0.1", self.port)

    def command(self) -> list[str]:
        cmd = [str(self.bin_dir / "notes-supervisor"), "--listen", self.listen, "--workers", str(self.workers),
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
        if self.listen_socket is not None:
            # LISTEN_PID must be the supervisor's own pid, known only in the child: a small exec wrapper
            # moves the socket to fd 3, sets LISTEN_PID to its pid and execs the supervisor (same pid).
            fd = self.listen_socket.fileno()
            wrapper = ("import os, sys\n"
                       "fd = int(sys.argv[1])\n"
                       "os.dup2(fd, 3)\n"
                       "if fd != 3: os.close(fd)\n"
                       "os.environ['LISTEN_FDS'] = '1'\n"
                       "os.environ['LISTEN_PID'] = str(os.getpid())\n"
                       "os.execv(sys.argv[2], sys.argv[2:])\n")
            cmd = [sys.executable, "-c", wrapper, str(fd)] + cmd
            pass_fds = (fd,)
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

    def fastcgi(self, method: str, path: str, query: str = "", **kw) -> "Response":
        """A request straight to the pool's socket (no nginx)."""
        return fastcgi_request(self.fastcgi_target, method, path, query, **kw)

    def status(self) -> dict:
        """GET /status straight from the pool (a worker answers it from the shared scoreboard)."""
        resp = self.fastcgi("GET", "/status")
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


class Nginx:
    """nginx rendered and started by scripts/nginx-local from the shipped nginx/notes.conf."""

    def __init__(self, state_dir: Path, fastcgi_addr: str, cors_origins: Optional[str] = None):
        self.state_dir = make_dir(state_dir)
        self.port = free_port()
        self.fastcgi_addr = fastcgi_addr
        self.cors_origins = cors_origins
        self.started = False
        self.master_pid: Optional[int] = None

    def start(self) -> "Nginx":
        cmd = [SCRIPTS_DIR / "nginx-local", "render", self.state_dir, str(self.port), self.fastcgi_addr]
        if self.cors_origins:
            cmd.append(self.cors_origins)
        run(cmd, timeout=60)
        self.started = True
        run([SCRIPTS_DIR / "nginx-local", "start", self.state_dir], timeout=60)
        self.master_pid = self._read_pid()
        wait_until(self._answers, 20, what=f"nginx on port {self.port}")
        return self

    def _read_pid(self) -> Optional[int]:
        for pid_file in sorted(self.state_dir.rglob("*.pid")):
            try:
                text = pid_file.read_text().strip()
            except OSError:
                continue
            if text.isdigit() and proc_comm(int(text)) == "nginx":
                return int(text)
        return None

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=2):
                return True
        except OSError:
            return False

    def log_text(self) -> str:
        parts = []
        for path in sorted(self.state_dir.rglob("*.log")):
            try:
                parts.append(f"== {path}\n{path.read_text(errors='replace')[-4000:]}")
            except OSError:
                pass
        return "\n".join(parts)

    def close(self) -> None:
        if not self.started:
            return
        run([SCRIPTS_DIR / "nginx-local", "stop", self.state_dir], timeout=60, check=False)
        if self.master_pid and process_alive(self.master_pid) and proc_comm(self.master_pid) == "nginx":
            try:
                wait_until(lambda: not process_alive(self.master_pid), 10, what="nginx to stop")
            except AssertionError:
                os.kill(self.master_pid, signal.SIGKILL)


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


# --------------------------------------------------------------------------------------------------
# HTTP client


@dataclass
class Response:
    status: int
    headers: list = field(default_factory=list)  # [(name, value)] in order, repeated names kept
    body: bytes = b""

    def header_values(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def header(self, name: str) -> Optional[str]:
        """The value of a header that must appear at most once."""
        values = self.header_values(name)
        assert len(values) <= 1, f"header {name} appears {len(values)} times: {values}"
        return values[0] if values else None

    def cors_headers(self) -> dict:
        return {k.lower(): v for k, v in self.headers if k.lower().startswith("access-control-")}

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError as e:
            raise AssertionError(f"response body is not JSON ({e}): status {self.status}, body {self.body[:500]!r}")

    def __repr__(self) -> str:
        return f"Response({self.status}, {self.headers}, {self.body[:300]!r})"


def _encode_body(body, json_body) -> Optional[bytes]:
    if json_body is not _NOTHING:
        return json.dumps(json_body, ensure_ascii=False).encode("utf-8")
    if isinstance(body, str):
        return body.encode("utf-8")
    return body


_NOTHING = object()


def http_request(port: int, method: str, path: str, body=None, json_body=_NOTHING,
                 headers: Optional[dict] = None, content_type: Optional[str] = _NOTHING,
                 timeout: float = 30.0, on_sent: Optional[Callable[[], None]] = None) -> Response:
    """One HTTP/1.1 request on a fresh connection (Connection: close).

    ``json_body`` is serialized as UTF-8 JSON; ``body`` is sent as is. Content-Type defaults to
    application/json when there is a body; pass ``content_type=None`` to send none. ``on_sent`` is called
    once the whole request has been written, before the response is read."""
    data = _encode_body(body, json_body)
    hdrs = {"Host": f"127.0.0.1:{port}", "Connection": "close", "User-Agent": "notes-integration-tests"}
    if content_type is _NOTHING:
        content_type = "application/json" if data is not None else None
    if content_type is not None:
        hdrs["Content-Type"] = content_type
    if data is not None or method in ("POST", "PUT", "PATCH"):
        hdrs["Content-Length"] = str(len(data or b""))
    hdrs.update(headers or {})
    head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in hdrs.items()) + "\r\n"
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        try:
            sock.sendall(head.encode("latin-1") + (data or b""))
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer (413) before reading the whole body
        if on_sent is not None:
            on_sent()
        resp = http.client.HTTPResponse(sock, method=method)
        resp.begin()
        payload = resp.read()
        return Response(resp.status, list(resp.getheaders()), payload)
    finally:
        sock.close()


class Client:
    """HTTP client bound to one port."""

    def __init__(self, port: int):
        self.port = port

    def request(self, method: str, path: str, **kw) -> Response:
        return http_request(self.port, method, path, **kw)

    def get(self, path: str, **kw) -> Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, json_body=_NOTHING, **kw) -> Response:
        return self.request("POST", path, json_body=json_body, **kw)

    def put(self, path: str, json_body=_NOTHING, **kw) -> Response:
        return self.request("PUT", path, json_body=json_body, **kw)

    def patch(self, path: str, json_body=_NOTHING, **kw) -> Response:
        return self.request("PATCH", path, json_body=json_body, **kw)

    def delete(self, path: str, **kw) -> Response:
        return self.request("DELETE", path, **kw)

    def options(self, path: str, **kw) -> Response:
        return self.request("OPTIONS", path, **kw)

    def create_note(self, text: str = "note", completed: bool = False) -> dict:
        r = self.post("/notes/", {"text": text, "completed": completed})
        assert r.status == 201, r
        return r.json()


# --------------------------------------------------------------------------------------------------
# FastCGI client (to talk to a worker without nginx)

FCGI_BEGIN_REQUEST, FCGI_ABORT_REQUEST, FCGI_END_REQUEST = 1, 2, 3
FCGI_PARAMS, FCGI_STDIN, FCGI_STDOUT, FCGI_STDERR = 4, 5, 6, 7
FCGI_RESPONDER = 1


def _fcgi_record(rtype: int, request_id: int, content: bytes) -> bytes:
    padding = (-len(content)) % 8
    return struct.pack("!BBHHBx", 1, rtype, request_id, len(content), padding) + content + b"\0" * padding


def _fcgi_length(n: int) -> bytes:
    return bytes([n]) if n < 128 else struct.pack("!I", n | 0x80000000)


def _fcgi_pairs(params: dict) -> bytes:
    out = b""
    for k, v in params.items():
        kb, vb = k.encode(), str(v).encode()
        out += _fcgi_length(len(kb)) + _fcgi_length(len(vb)) + kb + vb
    return out


class FastCGIConnection:
    """One FastCGI responder request, sent in steps so a test can pause mid-body."""

    def __init__(self, address, timeout: float = 30.0):
        if isinstance(address, (str, Path)):
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.settimeout(timeout)
            self.sock.connect(str(address))
        else:
            self.sock = socket.create_connection(address, timeout=timeout)
        self.request_id = 1

    def begin(self, method: str, path: str, query: str = "", content_type: Optional[str] = None,
              content_length: int = 0, extra: Optional[dict] = None) -> None:
        params = {
            "REQUEST_METHOD": method,
            "REQUEST_URI": path + ("?" + query if query else ""),
            "DOCUMENT_URI": path,
            "SCRIPT_NAME": path,
            "QUERY_STRING": query,
            "CONTENT_TYPE": content_type or "",
            "CONTENT_LENGTH": str(content_length) if content_length else "",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "REMOTE_PORT": "40000",
            "SERVER_ADDR": "127.0.0.1",
            "SERVER_PORT": "80",
            "SERVER_NAME": "localhost",
        }
        params.update(extra or {})
        begin_body = struct.pack("!HB5x", FCGI_RESPONDER, 0)
        data = _fcgi_record(FCGI_BEGIN_REQUEST, self.request_id, begin_body)
        pairs = _fcgi_pairs(params)
        for i in range(0, len(pairs), 65535):
            data += _fcgi_record(FCGI_PARAMS, self.request_id, pairs[i:i + 65535])
        data += _fcgi_record(FCGI_PARAMS, self.request_id, b"")
        self.sock.sendall(data)

    def send_stdin(self, data: bytes) -> None:
        for i in range(0, len(data), 65535):
            self.sock.sendall(_fcgi_record(FCGI_STDIN, self.request_id, data[i:i + 65535]))

    def end_stdin(self) -> None:
        self.sock.sendall(_fcgi_record(FCGI_STDIN, self.request_id, b""))

    def _recv_exact(self, n: int) -> bytes:
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise EOFError("FastCGI connection closed before FCGI_END_REQUEST")
            buf += chunk
        return buf

    def read_response(self) -> Response:
        stdout, stderr = b"", b""
        while True:
            version, rtype, _rid, length, padding = struct.unpack("!BBHHBx", self._recv_exact(8))
            content = self._recv_exact(length)
            self._recv_exact(padding)
            if rtype == FCGI_STDOUT:
                stdout += content
            elif rtype == FCGI_STDERR:
                stderr += content
            elif rtype == FCGI_END_REQUEST:
                break
        self.stderr = stderr
        return parse_cgi_response(stdout)

    def close(self) -> None:
        self.sock.close()


def parse_cgi_response(raw: bytes) -> Response:
    sep = raw.find(b"\r\n\r\n")
    if sep >= 0:
        head, body = raw[:sep].decode("latin-1"), raw[sep + 4:]
    else:
        sep = raw.find(b"\n\n")
        assert sep >= 0, f"no header terminator in FastCGI response: {raw[:300]!r}"
        head, body = raw[:sep].decode("latin-1"), raw[sep + 2:]
    status, headers = 200, []
    for line in head.splitlines():
        if not line:
            continue
        name, _, value = line.partition(":")
        name, value = name.strip(), value.strip()
        if name.lower() == "status":
            status = int(value.split()[0])
        else:
            headers.append((name, value))
    return Response(status, headers, body)


def fastcgi_request(address, method: str, path: str, query: str = "", body: Optional[bytes] = None,
                    content_type: Optional[str] = None, extra: Optional[dict] = None,
                    timeout: float = 30.0) -> Response:
    """One FastCGI request, the params as nginx/notes.conf sends them (plus ``extra``, e.g. HTTP_ORIGIN)."""
    conn = FastCGIConnection(address, timeout)
    try:
        conn.begin(method, path, query, content_type, len(body or b""), extra)
        try:
            if body:
                conn.send_stdin(body)
            conn.end_stdin()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the worker may answer (413) without reading the whole body
        return conn.read_response()
    finally:
        conn.close()


# --------------------------------------------------------------------------------------------------
# load, systemd notify, a held database session


@dataclass
class LoadResult:
    """One request of a LoadClient. Times are time.monotonic(); ``status`` is None for a connection error."""
    connection: int
    method: str
    path: str
    started: float
    sent: Optional[float]
    finished: float
    status: Optional[int]
    error: Optional[str] = None
    body: bytes = b""
    text: Optional[str] = None  # the note text sent (POST, PUT)
    headers: list = field(default_factory=list)  # [(name, value)] of the answer, as Response.headers

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def __repr__(self) -> str:
        what = self.status if self.status is not None else self.error
        return f"<{self.method} {self.path} -> {what} {self.body[:120]!r}>"


class LoadReport:
    """What a LoadClient saw: every request, the failures (non-2xx answers) and the connection errors."""

    def __init__(self, results: list[LoadResult]):
        self.results = sorted(results, key=lambda r: r.started)

    @property
    def total(self) -> int:
        return len(self.results)

    @property
    def ok(self) -> list[LoadResult]:
        return [r for r in self.results if r.ok]

    @property
    def failures(self) -> list[LoadResult]:
        """Answers that are not 2xx."""
        return [r for r in self.results if r.status is not None and not r.ok]

    @property
    def errors(self) -> list[LoadResult]:
        """Requests that got no HTTP answer at all (refused, reset, timed out, garbled)."""
        return [r for r in self.results if r.status is None]

    def finished_before(self, t: float) -> list[LoadResult]:
        return [r for r in self.results if r.finished < t]

    def in_flight_at(self, t: float) -> list[LoadResult]:
        """Requests completely sent before ``t`` and answered (or failed) after it."""
        return [r for r in self.results if r.sent is not None and r.sent <= t < r.finished]

    def started_after(self, t: float) -> list[LoadResult]:
        return [r for r in self.results if r.started > t]

    def summary(self, limit: int = 8) -> str:
        counts: dict = {}
        for r in self.results:
            key = r.status if r.status is not None else f"error {r.error.split(':')[0] if r.error else ''}"
            counts[key] = counts.get(key, 0) + 1
        bad = (self.failures + self.errors)[:limit]
        return f"{self.total} requests, by outcome {counts}; first failures: {bad}"


class LoadClient:
    """A steady load through nginx: ``connections`` threads, each sending one request at a time on a fresh
    connection, until stop() or until ``max_requests`` were sent in all (the bound). Every answer is recorded;
    a non-2xx answer is a failure, a request without an HTTP answer a connection error.

    Each thread cycles through ``mix``: POST /notes/ (a unique text), GET /notes/{id}/ and PUT /notes/{id}/
    of the note it created last, GET /notes/?take=5."""

    def __init__(self, port: int, connections: int = 4, max_requests: int = 3000, request_timeout: float = 30.0,
                 mix: Iterable[str] = ("post", "get", "put", "list")):
        self.port = port
        self.connections = connections
        self.max_requests = max_requests
        self.request_timeout = request_timeout
        self.mix = list(mix)
        self.tag = uuid.uuid4().hex[:8]
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._issued = 0
        self._results: list[LoadResult] = []
        self._threads: list[threading.Thread] = []
        self._report: Optional[LoadReport] = None

    def start(self) -> "LoadClient":
        for i in range(self.connections):
            t = threading.Thread(target=self._run, args=(i,), name=f"load-{i}", daemon=True)
            self._threads.append(t)
            t.start()
        return self

    def _take_ticket(self) -> bool:
        with self._lock:
            if self._stop.is_set() or self._issued >= self.max_requests:
                return False
            self._issued += 1
            return True

    def _run(self, index: int) -> None:
        note_id: Optional[int] = None
        step = 0
        while self._take_ticket():
            op = self.mix[step % len(self.mix)]
            step += 1
            if op in ("get", "put") and note_id is None:
                op = "post"
            text = None
            if op == "post":
                text = f"load-{self.tag}-{index}-{step}"
                result = self._one(index, "POST", "/notes/", {"text": text, "completed": False}, text)
                if result.status == 201:
                    try:
                        note_id = json.loads(result.body)["id"]
                    except (ValueError, KeyError, TypeError):
                        pass
            elif op == "get":
                self._one(index, "GET", f"/notes/{note_id}/")
            elif op == "put":
                text = f"load-{self.tag}-{index}-{step}-put"
                self._one(index, "PUT", f"/notes/{note_id}/", {"text": text, "completed": True}, text)
            else:
                self._one(index, "GET", "/notes/?take=5")

    def _one(self, index: int, method: str, path: str, json_body=_NOTHING, text: Optional[str] = None) -> LoadResult:
        sent: list[float] = []
        started = time.monotonic()
        try:
            resp = http_request(self.port, method, path, json_body=json_body, timeout=self.request_timeout,
                                on_sent=lambda: sent.append(time.monotonic()))
            result = LoadResult(index, method, path, started, sent[0] if sent else None, time.monotonic(),
                                resp.status, None, resp.body, text, resp.headers)
        except (OSError, http.client.HTTPException) as e:
            result = LoadResult(index, method, path, started, sent[0] if sent else None, time.monotonic(),
                                None, f"{type(e).__name__}: {e}", b"", text)
        with self._lock:
            self._results.append(result)
        return result

    @property
    def completed(self) -> int:
        with self._lock:
            return len(self._results)

    def running(self) -> bool:
        return any(t.is_alive() for t in self._threads)

    def wait_for(self, count: int, timeout: float = 60.0) -> int:
        """Wait until ``count`` requests have completed since the start; returns the number completed."""
        def done():
            n = self.completed
            if n >= count:
                return n
            assert self.running(), f"the load ended after {n} requests, before {count} (max_requests too low?)"
            return None
        return wait_until(done, timeout, interval=0.02, what=f"{count} load requests to complete")

    def wait_more(self, count: int, timeout: float = 60.0) -> int:
        """Wait until ``count`` more requests have completed from now."""
        return self.wait_for(self.completed + count, timeout)

    def stop(self, timeout: float = 60.0) -> LoadReport:
        """Stop issuing requests, wait for those in flight, and return the report."""
        self._stop.set()
        deadline = time.monotonic() + timeout
        for t in self._threads:
            t.join(max(0.0, deadline - time.monotonic()))
        assert not self.running(), "load threads still running"
        with self._lock:
            self._report = LoadReport(list(self._results))
        return self._report

    def close(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(self.request_timeout + 5)


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


class Background:
    """Runs ``fn()`` in a thread, e.g. a request that will block; result() waits (bounded) for its value and
    re-raises its exception."""

    def __init__(self, fn: Callable[[], object], name: str = "background"):
        self._value = None
        self._error: Optional[BaseException] = None
        self._thread = threading.Thread(target=self._run, args=(fn,), name=name, daemon=True)
        self._thread.start()

    def _run(self, fn) -> None:
        try:
            self._value = fn()
        except BaseException as e:  # handed to result()
            self._error = e

    def done(self) -> bool:
        return not self._thread.is_alive()

    def result(self, timeout: float = 30.0):
        self._thread.join(timeout)
        assert not self._thread.is_alive(), f"background call still running after {timeout:.0f}s"
        if self._error is not None:
            raise self._error
        return self._value


def lock_waiting_worker(db: Database, timeout: float = 20.0) -> int:
    """The pid of the (one) worker whose database session waits on a lock."""
    def find():
        waiting = [a for a in db.lock_waiters() if a.startswith(WORKER_APP_PREFIX)]
        return waiting if len(waiting) == 1 else None
    (app,) = wait_until(find, timeout, what="one worker waiting on the test's row lock")
    return int(app[len(WORKER_APP_PREFIX):])


def hold_request_on_lock(launcher: "Launcher", db: Database, client: "Client", note_id: int, text: str):
    """Lock the note's row in a psql session, send PUT /notes/{id}/ through nginx in the background, and wait
    until a worker is blocked on the lock with it. Returns (session, background request, worker pid)."""
    session = launcher.psql(db.url)
    session.hold_row_lock("notes", note_id)
    put = Background(lambda: client.put(f"/notes/{note_id}/", {"text": text, "completed": True}, timeout=120))
    return session, put, lock_waiting_worker(db)


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


# --------------------------------------------------------------------------------------------------
# the whole stack


class Stack:
    """A migrated database, a supervisor with N workers and an nginx in front of it."""

    def __init__(self, launcher: "Launcher", name: str, workers: int = 2, tcp: bool = False,
                 cors_origins: Optional[str] = None, db: Optional[Database] = None,
                 supervisor_kw: Optional[dict] = None, migrate_url: Optional[str] = None):
        self.launcher = launcher
        # Migrations may need a URL of their own: straight to PostgreSQL when the workers go through PgBouncer,
        # whose transaction pooling would not keep the migrator's session advisory lock.
        self.migrate_url = migrate_url
        self.supervisor_kw = dict(supervisor_kw or {})  # more Supervisor options: extra_args, env, log_file...
        self.dir = make_dir(launcher.tmp_root / name)
        self.db = db
        self.workers = workers
        self.tcp = tcp
        self.cors_origins = cors_origins
        self.supervisor: Optional[Supervisor] = None
        self.nginx: Optional[Nginx] = None
        self.client: Optional[Client] = None

    def start(self) -> "Stack":
        if self.db is None:
            self.db = self.launcher.cluster.create_database()
        migrate(self.launcher.bin_dir, self.migrate_url or self.db.url)
        self.supervisor = self.launcher.add(Supervisor(self.launcher.bin_dir, self.db, self.dir / "run",
                                                       self.workers, tcp=self.tcp, **self.supervisor_kw))
        self.supervisor.start()
        self.nginx = self.launcher.add(Nginx(self.dir / "nginx-state", self.supervisor.fastcgi_addr,
                                             self.cors_origins))
        self.nginx.start()
        self.client = Client(self.nginx.port)
        wait_until(self._serves, 30, what=lambda: f"the stack to answer GET /notes/\n{self.diagnostics()}")
        return self

    def _serves(self) -> bool:
        try:
            return self.client.get("/notes/").status == 200
        except OSError:
            return False

    def add_nginx(self, cors_origins: Optional[str] = None, name: str = "nginx2") -> Client:
        """Another nginx in front of the same supervisor (e.g. with another CORS policy)."""
        nginx = self.launcher.add(Nginx(self.dir / name, self.supervisor.fastcgi_addr, cors_origins))
        nginx.start()
        return Client(nginx.port)

    def status(self) -> dict:
        """GET /status through nginx (allowed from localhost)."""
        resp = self.client.get("/status")
        assert resp.status == 200, f"/status: {resp!r}\n{self.diagnostics()}"
        return resp.json()

    def load(self, **kw) -> "LoadClient":
        """A started LoadClient against this stack's nginx (stopped by the launcher at the latest)."""
        return self.launcher.load(self.nginx.port, **kw)

    def diagnostics(self) -> str:
        return f"--- supervisor log\n{self.supervisor.log()}\n--- nginx\n{self.nginx.log_text() if self.nginx else ''}"


class Launcher:
    """Starts stacks and processes for tests and stops all of them on close()."""

    def __init__(self, bin_dir: Path, cluster: Cluster, tmp_root: Path):
        self.bin_dir = bin_dir
        self.cluster = cluster
        self.tmp_root = make_dir(Path(tempfile.mkdtemp(prefix="l", dir=tmp_root)))
        self._owned: list = []

    def add(self, thing):
        self._owned.append(thing)
        return thing

    def stack(self, name: str = "stack", **kw) -> Stack:
        """A started Stack (kw: workers, tcp, cors_origins, db, supervisor_kw, migrate_url)."""
        return Stack(self, name, **kw).start()

    def supervisor(self, db: Optional[Database], name: str = "sup", workers: int = 2, tcp: bool = False,
                   start: bool = True, **kw) -> Supervisor:
        """A Supervisor (kw: extra_args, env, worker_binary, log_file, graceful_timeout, listen_socket);
        started and awaited unless ``start`` is False."""
        sup = self.add(Supervisor(self.bin_dir, db, self.tmp_root / name, workers, tcp=tcp, **kw))
        return sup.start() if start else sup

    def load(self, port: int, **kw) -> "LoadClient":
        """A started LoadClient against nginx on ``port`` (kw: connections, max_requests, mix)."""
        return self.add(LoadClient(port, **kw)).start()

    def notify_listener(self, name: str = "notify", abstract: bool = False) -> "NotifyListener":
        return self.add(NotifyListener(make_dir(self.tmp_root / name), abstract=abstract))

    def psql(self, url: str) -> "PsqlSession":
        return self.add(PsqlSession(url))

    def nginx(self, fastcgi_addr: str, name: str = "nginx", cors_origins: Optional[str] = None) -> Nginx:
        return self.add(Nginx(self.tmp_root / name, fastcgi_addr, cors_origins)).start()

    def worker(self, db_url: str, name: str = "worker", env: Optional[dict] = None) -> DirectWorker:
        return self.add(DirectWorker(self.bin_dir, db_url, self.tmp_root / name, env=env)).start()

    def cluster_at(self, name: str) -> Cluster:
        cluster = self.add(Cluster(make_dir(self.tmp_root / name)))
        cluster.start()
        return cluster

    def close(self) -> None:
        errors = []
        while self._owned:
            thing = self._owned.pop()
            try:
                thing.close()
            except Exception as e:  # keep stopping the rest
                errors.append(e)
        if errors:
            raise errors[0]


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)

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
import re
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
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


# --------------------------------------------------------------------------------------------------
# small utilities


def wait_until(predicate: Callable[[], object], timeout: float = 30.0, interval: float = 0.05,
               what: str = "condition"):
    """Poll ``predicate`` until it returns a truthy value (returned) or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what} (last value: {value!r})")
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
    """NOTES_BIN_DIR, else `swift build -c release --show-bin-path` in the repository root."""
    env_dir = os.environ.get("NOTES_BIN_DIR")
    if env_dir:
        path = Path(env_dir)
    else:
        out = subprocess.run(["swift", "build", "-c", "release", "--show-bin-path"], cwd=REPO_ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=300)
        path = Path(out.stdout.strip())
    for name in ("notes-worker", "notes-supervisor"):
        if not os.access(path / name, os.X_OK):
            raise RuntimeError(f"{path / name} missing: build first (swift build -c release) or set NOTES_BIN_DIR")
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
    """notes-supervisor on a unix socket (default) or a loopback TCP port, stderr in ``log_path``."""

    WORKER_STARTED = re.compile(r"worker (\d+) started")

    def __init__(self, bin_dir: Path, db: Database, run_dir: Path, workers: int = 2, tcp: bool = False,
                 extra_args: Iterable[str] = ()):
        self.bin_dir = bin_dir
        self.db = db
        self.run_dir = make_dir(run_dir)
        self.workers = workers
        self.log_path = run_dir / "supervisor.log"
        if tcp:
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
        self.proc: Optional[subprocess.Popen] = None
        self.seen_workers: set[int] = set()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def command(self) -> list[str]:
        cmd = [str(self.bin_dir / "notes-supervisor"), "--listen", self.listen, "--workers", str(self.workers),
               "--graceful-timeout", str(GRACEFUL_TIMEOUT)]
        if self.socket_path is not None and is_root() and group_exists("www-data"):
            cmd += ["--socket-group", "www-data"]  # nginx's workers run as www-data when nginx starts as root
        return cmd + self.extra_args

    def start(self, wait: bool = True) -> "Supervisor":
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                         env=child_env(DATABASE_URL=self.db.url), start_new_session=True)
        if wait:
            self.wait_ready()
        return self

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def worker_pids(self) -> set[int]:
        """Live notes-worker children of the supervisor."""
        pids = {p for p in children_of(self.pid) if proc_comm(p) == "notes-worker"}
        self.seen_workers |= pids
        return pids

    def wait_ready(self, timeout: float = 30.0) -> set[int]:
        """Wait until N workers run and each holds its database connection; returns their pids."""
        def ready():
            assert self.proc.poll() is None, f"supervisor exited with {self.proc.returncode}:\n{self.log()}"
            pids = self.worker_pids()
            if len(pids) != self.workers:
                return None
            if self.socket_path is not None and not self.socket_path.exists():
                return None
            if not pids <= set(self.db.worker_backends()):
                return None
            return pids
        return wait_until(ready, timeout, what=f"{self.workers} workers with database connections\n{self.log()}")

    def send(self, sig: int) -> None:
        os.kill(self.pid, sig)

    def wait_exit(self, timeout: float = GRACEFUL_TIMEOUT + 20) -> int:
        return self.proc.wait(timeout=timeout)

    def close(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.worker_pids()  # remember the current workers, to check for leftovers below
        stop_process(self.proc, signal.SIGTERM, timeout=GRACEFUL_TIMEOUT + 10, group=True)
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
                 timeout: float = 30.0) -> Response:
    """One HTTP/1.1 request on a fresh connection (Connection: close).

    ``json_body`` is serialized as UTF-8 JSON; ``body`` is sent as is. Content-Type defaults to
    application/json when there is a body; pass ``content_type=None`` to send none."""
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
# the whole stack


class Stack:
    """A migrated database, a supervisor with N workers and an nginx in front of it."""

    def __init__(self, launcher: "Launcher", name: str, workers: int = 2, tcp: bool = False,
                 cors_origins: Optional[str] = None, db: Optional[Database] = None):
        self.launcher = launcher
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
        migrate(self.launcher.bin_dir, self.db.url)
        self.supervisor = self.launcher.add(Supervisor(self.launcher.bin_dir, self.db, self.dir / "run",
                                                       self.workers, tcp=self.tcp))
        self.supervisor.start()
        self.nginx = self.launcher.add(Nginx(self.dir / "nginx-state", self.supervisor.fastcgi_addr,
                                             self.cors_origins))
        self.nginx.start()
        self.client = Client(self.nginx.port)
        wait_until(self._serves, 20, what="the stack to answer GET /notes/")
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
        """A started Stack (kw: workers, tcp, cors_origins, db)."""
        return Stack(self, name, **kw).start()

    def supervisor(self, db: Database, name: str = "sup", workers: int = 2, tcp: bool = False,
                   start: bool = True) -> Supervisor:
        sup = self.add(Supervisor(self.bin_dir, db, self.tmp_root / name, workers, tcp=tcp))
        return sup.start() if start else sup

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

"""Processes and files: bounded waiting, free ports, a child's environment, /proc readings, stopping a process
(SIGTERM, bounded wait, SIGKILL last), running a command, directories other users can traverse, the service
account, and where the repository and the binaries are.

Python 3 standard library only.
"""

from __future__ import annotations

import grp
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Callable, Optional

REPO_ROOT = Path(__file__).resolve().parents[3]
SCRIPTS_DIR = REPO_ROOT / "scripts"

# The account notes-supervisor switches to when the tests run as root (scripts/install-deps creates it).
SERVICE_USER = "notes"

# Log text that means a process crashed (a Swift runtime error, a signal, a Python traceback).
CRASH_MARKERS = ("Traceback", "Fatal error", "Stack dump", "stack trace", "Backtrace", "Segmentation fault",
                 "panic", "SIGSEGV", "SIGILL")


# --------------------------------------------------------------------------------------------------
# waiting, ports, environment, files


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


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


# --------------------------------------------------------------------------------------------------
# users and groups


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


# --------------------------------------------------------------------------------------------------
# /proc


def proc_stat(pid: int) -> Optional[tuple[str, int, int]]:
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
    stat = proc_stat(pid)
    return stat is not None and stat[0] not in ("Z", "X")


def children_of(pid: int) -> set[int]:
    """Live (non-zombie) children of ``pid``."""
    result = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        stat = proc_stat(int(entry))
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


# --------------------------------------------------------------------------------------------------
# starting and stopping


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

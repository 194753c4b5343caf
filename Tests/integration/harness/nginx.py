"""nginx as it ships: ``nginx/notes.conf`` rendered and started by ``scripts/nginx-local`` on a free loopback port,
in front of a FastCGI address (a unix socket, a host:port, or several of them for the upstream variant).

Python 3 standard library only.
"""

from __future__ import annotations

import os
import signal
import socket
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Optional

from harness.processes import SCRIPTS_DIR, free_port, make_dir, proc_comm, process_alive, run, wait_until

# The rendered site, inside the state directory (scripts/nginx-local render).
SITE_FILE = Path("nginx") / "notes-site.conf"


@dataclass
class NginxOptions:
    """How an nginx differs from the shipped one: the CORS allowlist (``scripts/nginx-local render``'s last
    argument; None for the default policy) and an edit of the rendered site before nginx starts (its text in,
    the text to use out)."""
    cors_origins: Optional[str] = None
    edit_site: Optional[Callable[[str], str]] = None


class Nginx:
    """nginx rendered and started by scripts/nginx-local from the shipped nginx/notes.conf, changed as ``options``
    say (keyword arguments are a shorthand for its fields)."""

    def __init__(self, state_dir: Path, fastcgi_addr: str, options: Optional[NginxOptions] = None, **option_fields):
        self.options = replace(options or NginxOptions(), **option_fields)
        self.state_dir = make_dir(state_dir)
        self.port = free_port()
        self.fastcgi_addr = fastcgi_addr
        self.cors_origins = self.options.cors_origins
        self.started = False
        self.master_pid: Optional[int] = None

    def start(self) -> "Nginx":
        cmd = [SCRIPTS_DIR / "nginx-local", "render", self.state_dir, str(self.port), self.fastcgi_addr]
        if self.cors_origins:
            cmd.append(self.cors_origins)
        run(cmd, timeout=60)
        if self.options.edit_site is not None:
            site = self.state_dir / SITE_FILE
            site.write_text(self.options.edit_site(site.read_text()))
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

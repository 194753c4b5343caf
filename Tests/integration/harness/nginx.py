"""nginx as it ships: ``nginx/notes.conf`` rendered and started by ``scripts/nginx-local`` on a free loopback port,
in front of a FastCGI address (a unix socket, a host:port, or several of them for the upstream variant).

Python 3 standard library only.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Optional

from harness.processes import (SCRIPTS_DIR, children_of, free_port, make_dir, proc_comm, process_alive, run,
                               wait_until)

# The rendered site, inside the state directory (scripts/nginx-local render).
SITE_FILE = Path("nginx") / "notes-site.conf"

# The line of nginx/notes.conf's "location /" that hands the API to the workers.
API_PASS = re.compile(r"(\n    location / \{\n(?:        .*\n)*?        )fastcgi_pass notes_workers;")


def proxied_to(address: str) -> Callable[[str], str]:
    """An ``edit_site`` that has the site's API (``location /``) served by an HTTP app at ``address``
    (host:port) instead of the workers, as a FastAPI app's site does before the switch (docs/OPERATIONS.md,
    "Switching from a FastAPI app without downtime"); every other location stays notes.conf's."""
    def edit(site: str) -> str:
        edited, count = API_PASS.subn(rf"\1proxy_pass http://{address};", site)
        assert count == 1, f"no fastcgi_pass in location / of the rendered site:\n{site}"
        return edited
    return edit


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
        site = self.state_dir / SITE_FILE
        self.rendered_site = site.read_text()
        if self.options.edit_site is not None:
            site.write_text(self.options.edit_site(self.rendered_site))
        self.started = True
        run([SCRIPTS_DIR / "nginx-local", "start", self.state_dir], timeout=60)
        self.master_pid = self._read_pid()
        wait_until(self._answers, 20, what=f"nginx on port {self.port}")
        return self

    def worker_pids(self) -> set[int]:
        return children_of(self.master_pid) if self.master_pid else set()

    def reload(self, edit_site: Optional[Callable[[str], str]] = None) -> set[int]:
        """Write the site as rendered from notes.conf (changed by ``edit_site``, if given) and run
        ``nginx -s reload``. Returns the pids of the workers that ran before: they finish the requests they
        have and exit, while new workers take new connections."""
        old_workers = self.worker_pids()
        site = self.rendered_site if edit_site is None else edit_site(self.rendered_site)
        (self.state_dir / SITE_FILE).write_text(site)
        ngx = self.state_dir / "nginx"
        binary = shutil.which("nginx", path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")
        run([binary, "-p", ngx, "-c", ngx / "nginx.conf", "-e", self.state_dir / "logs" / "nginx-error.log",
             "-s", "reload"], timeout=60)
        return old_workers

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

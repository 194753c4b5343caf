"""The whole service as a test gets it: ``Stack`` (a migrated database, notes-supervisor with N workers, nginx in
front, a client) and ``Launcher``, which starts stacks and any single process for a test and stops everything it
started when the test (or module) ends, in reverse order, even after a failed assertion.

Python 3 standard library only.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Optional

from harness.http import Client
from harness.load import Background, LoadClient, LoadOptions
from harness.nginx import Nginx, NginxOptions
from harness.postgres import Cluster, Database, PsqlSession, lock_waiting_worker, migrate
from harness.processes import make_dir, wait_until
from harness.supervisor import DirectWorker, NotifyListener, Supervisor, SupervisorOptions


class Stack:
    """A migrated database, a supervisor with N workers and an nginx in front of it.

    Migrations may need a URL of their own (``migrate_url``): straight to PostgreSQL when the workers go through
    PgBouncer, whose transaction pooling would not keep the migrator's session advisory lock."""

    def __init__(self, launcher: "Launcher", name: str, workers: int = 2, tcp: bool = False,
                 db: Optional[Database] = None, migrate_url: Optional[str] = None,
                 supervisor_options: Optional[SupervisorOptions] = None,
                 nginx_options: Optional[NginxOptions] = None):
        self.launcher = launcher
        self.migrate_url = migrate_url
        self.supervisor_options = supervisor_options or SupervisorOptions()
        self.nginx_options = nginx_options or NginxOptions()
        self.dir = make_dir(launcher.tmp_root / name)
        self.db = db
        self.workers = workers
        self.tcp = tcp
        self.supervisor: Optional[Supervisor] = None
        self.nginx: Optional[Nginx] = None
        self.client: Optional[Client] = None

    def start(self) -> "Stack":
        if self.db is None:
            self.db = self.launcher.cluster.create_database()
        migrate(self.launcher.bin_dir, self.migrate_url or self.db.url)
        self.supervisor = self.launcher.add(Supervisor(self.launcher.bin_dir, self.db, self.dir / "run",
                                                       self.workers, tcp=self.tcp, options=self.supervisor_options))
        self.supervisor.start()
        self.nginx = self.launcher.add(Nginx(self.dir / "nginx-state", self.supervisor.fastcgi_addr,
                                             self.nginx_options))
        self.nginx.start()
        self.client = Client(self.nginx.port)
        wait_until(self._serves, 30, what=lambda: f"the stack to answer GET /notes/\n{self.diagnostics()}")
        return self

    def _serves(self) -> bool:
        try:
            return self.client.get("/notes/").status == 200
        except OSError:
            return False

    def add_nginx(self, name: str = "nginx2", options: Optional[NginxOptions] = None, **option_fields) -> Client:
        """Another nginx in front of the same supervisor (e.g. with another CORS policy: ``cors_origins=``)."""
        nginx = self.launcher.add(Nginx(self.dir / name, self.supervisor.fastcgi_addr, options, **option_fields))
        nginx.start()
        return Client(nginx.port)

    def status(self) -> dict:
        """GET /status through nginx (allowed from localhost)."""
        resp = self.client.get("/status")
        assert resp.status == 200, f"/status: {resp!r}\n{self.diagnostics()}"
        return resp.json()

    def load(self, options: Optional[LoadOptions] = None, **option_fields) -> LoadClient:
        """A started LoadClient against this stack's nginx (stopped by the launcher at the latest)."""
        return self.launcher.load(self.nginx.port, options, **option_fields)

    def diagnostics(self) -> str:
        return f"--- supervisor log\n{self.supervisor.log()}\n--- nginx\n{self.nginx.log_text() if self.nginx else ''}"


class Launcher:
    """Starts stacks and processes for tests and stops all of them on close().

    Where a class takes options (``SupervisorOptions``, ``NginxOptions``, ``LoadOptions``), ``options=`` takes
    them whole and keyword arguments are a shorthand for their fields."""

    def __init__(self, bin_dir: Path, cluster: Cluster, tmp_root: Path):
        self.bin_dir = bin_dir
        self.cluster = cluster
        self.tmp_root = make_dir(Path(tempfile.mkdtemp(prefix="l", dir=tmp_root)))
        self._owned: list = []

    def add(self, thing):
        self._owned.append(thing)
        return thing

    def stack(self, name: str = "stack", **kw) -> Stack:
        """A started Stack (kw: workers, tcp, db, migrate_url, supervisor_options, nginx_options)."""
        return Stack(self, name, **kw).start()

    def supervisor(self, db: Optional[Database], name: str = "sup", workers: int = 2, tcp: bool = False,
                   start: bool = True, options: Optional[SupervisorOptions] = None, **option_fields) -> Supervisor:
        """A Supervisor, started and awaited unless ``start`` is False."""
        sup = self.add(Supervisor(self.bin_dir, db, self.tmp_root / name, workers, tcp=tcp, options=options,
                                  **option_fields))
        return sup.start() if start else sup

    def load(self, port: int, options: Optional[LoadOptions] = None, **option_fields) -> LoadClient:
        """A started LoadClient against nginx on ``port``."""
        return self.add(LoadClient(port, options, **option_fields)).start()

    def notify_listener(self, name: str = "notify", abstract: bool = False) -> NotifyListener:
        return self.add(NotifyListener(make_dir(self.tmp_root / name), abstract=abstract))

    def psql(self, url: str) -> PsqlSession:
        return self.add(PsqlSession(url))

    def nginx(self, fastcgi_addr: str, name: str = "nginx", options: Optional[NginxOptions] = None,
              **option_fields) -> Nginx:
        return self.add(Nginx(self.tmp_root / name, fastcgi_addr, options, **option_fields)).start()

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


def hold_request_on_lock(launcher: Launcher, db: Database, client: Client, note_id: int, text: str):
    """Lock the note's row in a psql session, send PUT /notes/{id}/ through nginx in the background, and wait
    until a worker is blocked on the lock with it. Returns (session, background request, worker pid)."""
    session = launcher.psql(db.url)
    session.hold_row_lock("notes", note_id)
    put = Background(lambda: client.put(f"/notes/{note_id}/", {"text": text, "completed": True}, timeout=120))
    return session, put, lock_waiting_worker(db)

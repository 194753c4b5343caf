"""Several worker pools behind one nginx upstream (nginx/notes-upstream.conf), the FastCGI peer allowlist
(--allow-from, FCGI_WEB_SERVER_ADDRS) and the loopback default of ``--listen PORT``.

Two supervisors on two loopback ports stand for two hosts: nginx cannot tell them apart from two
machines, and stopping one exercises exactly what stopping a host does to nginx (refused connections,
connections reset with a request in them). See docs/SCALE-OUT.md.
"""

from __future__ import annotations

import fcntl
import os
import re
import signal
import socket
import struct
import time
from pathlib import Path
from typing import Union

import pytest

from harness.assertions import assert_json, assert_nginx_unavailable, assert_note
from harness.fastcgi_client import FastCGIConnection, fastcgi_request
from harness.http import Client, Response
from harness.nginx import Nginx
from harness.postgres import Database, migrate
from harness.processes import (REPO_ROOT, SCRIPTS_DIR, SERVICE_USER, free_port, make_dir, proc_comm, process_alive, run,
                               wait_until)
from harness.stack import Launcher
from harness.supervisor import Supervisor

UPSTREAM_FILE = REPO_ROOT / "nginx" / "notes-upstream.conf"


# ---------------------------------------------------------------------------------------------- helpers


def workers_gone(pids: set[int]) -> bool:
    return not any(process_alive(p) and proc_comm(p) == "notes-worker" for p in pids)


def two_hosts(launcher: Launcher, name: str) -> tuple[Database, Supervisor, Supervisor, Nginx, Client]:
    """One database, two supervisors on two loopback ports ("hosts" a and b), one nginx rendered with the
    several-hosts upstream naming both."""
    db = launcher.cluster.create_database()
    migrate(launcher.bin_dir, db.url)
    a = launcher.supervisor(db, name=f"{name}-a", workers=2, tcp=True)
    b = launcher.supervisor(db, name=f"{name}-b", workers=2, tcp=True)
    nginx = launcher.nginx(f"{a.listen},{b.listen}", name=f"{name}-nginx")
    client = Client(nginx.port)
    wait_until(lambda: client.get("/notes/").status == 200, 20, what="nginx to serve through the upstream")
    return db, a, b, nginx, client


def accepted(sup: Supervisor) -> int:
    """The pool's accepted_requests, asked from the pool itself (not through nginx, which picks a host)."""
    return sup.status()["accepted_requests"]


def nginx_error_lines(nginx: Nginx, port: int) -> list[str]:
    """The lines of nginx's error log about the upstream server on ``port`` (a failed connect, a reset...)."""
    path = nginx.state_dir / "logs" / "nginx-error.log"
    text = path.read_text(errors="replace") if path.exists() else ""
    return [line for line in text.splitlines() if f'upstream: "fastcgi://127.0.0.1:{port}' in line]


def supervisor_on(launcher: Launcher, db: Database, name: str, listen: str, port: int, **kw) -> Supervisor:
    """A Supervisor with ``--listen`` exactly as given (e.g. a port alone), reached on 127.0.0.1:``port``."""
    sup = launcher.supervisor(db, name=name, tcp=True, start=False, **kw)
    sup.port = port
    sup.listen = listen
    sup.fastcgi_addr = f"127.0.0.1:{port}"
    return sup.start()


def fastcgi_from(source: str, address: tuple[str, int], path: str = "/notes/") -> Union[Response, str]:
    """GET ``path`` over FastCGI from the local address ``source`` (what a web server on another address looks like
    to a worker): the Response, or how the connection ended without one."""
    conn = FastCGIConnection(address, timeout=10.0, source=source)
    try:
        conn.begin("GET", path)
        conn.end_stdin()
        return conn.read_response()
    except (EOFError, OSError) as e:
        return f"{type(e).__name__}: {e}"
    finally:
        conn.close()


def listening_addresses(port: int) -> list[str]:
    """Local addresses of the sockets in LISTEN state on TCP ``port``, IPv4 and IPv6, from /proc/net."""
    found = []
    for name, family in (("tcp", socket.AF_INET), ("tcp6", socket.AF_INET6)):
        try:
            lines = Path(f"/proc/net/{name}").read_text().splitlines()[1:]
        except FileNotFoundError:
            continue
        for line in lines:
            fields = line.split()
            local, state = fields[1], fields[3]
            host_hex, port_hex = local.split(":")
            if state != "0A" or int(port_hex, 16) != port:  # 0A: TCP_LISTEN
                continue
            raw = bytes.fromhex(host_hex)
            # /proc shows the address as 32-bit words in host byte order (little-endian here)
            raw = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
            found.append(socket.inet_ntop(family, raw))
    return found


def other_local_ipv4_addresses() -> list[str]:
    """IPv4 addresses of this machine's interfaces other than loopback (SIOCGIFADDR on each interface)."""
    addresses = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for _index, name in socket.if_nameindex():
            try:
                packed = fcntl.ioctl(s.fileno(), 0x8915, struct.pack("256s", name[:15].encode()))  # SIOCGIFADDR
            except OSError:
                continue  # no IPv4 address
            address = socket.inet_ntoa(packed[20:24])
            if not address.startswith("127."):
                addresses.append(address)
    return addresses


def connection_refused(address: str, port: int) -> bool:
    try:
        socket.create_connection((address, port), timeout=5).close()
    except ConnectionRefusedError:
        return True
    return False


# ---------------------------------------------------------------------------------------------- the shipped variant


def test_several_hosts_variant_changes_only_the_upstream_block(tmp_path):
    """scripts/nginx-local renders notes.conf with notes-upstream.conf's block for a list of addresses, and
    nothing else differs from the single-socket rendering but the status upstream (the supervisor's socket
    beside a unix one; the workers, which answer /status too, on TCP): one source of truth for the rest."""
    state = make_dir(tmp_path / "render")
    site = state / "nginx" / "notes-site.conf"

    def render(fastcgi: str) -> list[str]:
        run([SCRIPTS_DIR / "nginx-local", "render", state, "18080", fastcgi], timeout=60)
        return site.read_text().splitlines()

    single = render("unix:/run/notes/notes.sock")
    several = render("127.0.0.1:9001,127.0.0.1:9002,10.0.0.3:9000")

    def split(lines: list[str]) -> tuple[list[str], list[str]]:
        start = lines.index("upstream notes_workers {")
        end = lines.index("}", start)
        return lines[:start] + lines[end + 1:], lines[start:end + 1]

    def status_servers(lines: list[str]) -> tuple[list[str], list[str]]:
        start = lines.index("upstream notes_status {")
        end = lines.index("}", start)
        return lines[:start] + lines[end + 1:], [l.strip() for l in lines[start:end] if l.strip().startswith("server ")]

    single, single_status = status_servers(single)
    several, several_status = status_servers(several)
    assert single_status == ["server unix:/run/notes/notes-status.sock; # nginx-local: status-address"]
    assert several_status == [f"server {a}; # nginx-local: status-address"
                              for a in ("127.0.0.1:9001", "127.0.0.1:9002", "10.0.0.3:9000")]
    single_rest, single_block = split(single)
    several_rest, several_block = split(several)
    assert single_rest == several_rest, "only the upstream blocks may differ"
    assert [l.strip() for l in single_block if l.strip().startswith("server ")] == \
        ["server unix:/run/notes/notes.sock max_fails=0; # nginx-local: fastcgi-address"]
    servers = [l.strip() for l in several_block if l.strip().startswith("server ")]
    assert servers == [f"server {a} max_fails=3 fail_timeout=10s; # nginx-local: upstream-server"
                       for a in ("127.0.0.1:9001", "127.0.0.1:9002", "10.0.0.3:9000")], several_block
    assert "zone notes_workers 64k;" in [l.strip() for l in several_block]
    # The shipped file's block is the one rendered (comments included), apart from the addresses.
    shipped = UPSTREAM_FILE.read_text().splitlines()
    _, shipped_block = split(shipped)
    strip_servers = lambda block: [l for l in block if "nginx-local: upstream-server" not in l]
    assert strip_servers(shipped_block) == strip_servers(several_block)
    # The failover policy, at server level, where both renderings have it: POST resent too, and safe to resend
    # because each attempt carries the client request's id.
    directives = [" ".join(l.split()) for l in several_rest]
    for d in ("fastcgi_next_upstream error timeout non_idempotent;", "fastcgi_next_upstream_tries 2;",
              "fastcgi_connect_timeout 3s;", "fastcgi_param REQUEST_ID $request_id;", "fastcgi_keep_conn on;"):
        assert directives.count(d) == 1, d
    # Kept connections to every host, closed by nginx soon enough for a retiring worker (nginx/notes.conf).
    block = [l.strip() for l in several_block]
    for d in ("keepalive 32;", "keepalive_timeout 2s;", "keepalive_time 2s;"):
        assert block.count(d) == 1, d
    # nginx accepts the rendered variant
    nginx_bin = run(["sh", "-c", "PATH=$PATH:/usr/sbin:/sbin command -v nginx"]).stdout.strip()
    run([nginx_bin, "-t", "-q", "-p", state / "nginx", "-c", state / "nginx" / "nginx.conf",
         "-e", state / "logs" / "nginx-error.log"], timeout=60)


# ---------------------------------------------------------------------------------------------- stopping a host


@pytest.mark.parametrize("how", ["TERM", "QUIT", "host-crash", "supervisor-KILL"])
def test_stopping_one_host_costs_no_request(launcher, how):
    """Under a steady mixed load through nginx, one of two pools goes away: by SIGTERM (graceful), SIGQUIT
    (workers killed at once, requests in hand cut), SIGKILL of its whole process group (a host that
    crashes) or SIGKILL of the supervisor alone. nginx resends every request on a refused or reset
    connection to the other host, POST included (fastcgi_next_upstream non_idempotent), so none fails; a POST
    that host a applied before it died is found by its request id on the second attempt, so no note is created
    twice. The other pool serves everything after the stop."""
    db, a, b, nginx, client = two_hosts(launcher, how.lower())
    a_pids, b_pids = a.wait_ready(), b.wait_ready()
    load = launcher.load(nginx.port, connections=4, max_requests=40000)
    load.wait_for(400)
    a_share = accepted(a)
    assert a_share > 50, f"host a took part in the load before the stop ({a_share} requests)"
    b_before = accepted(b)

    if how == "TERM":
        a.send(signal.SIGTERM)
    elif how == "QUIT":
        a.send(signal.SIGQUIT)
    elif how == "host-crash":
        os.killpg(a.pid, signal.SIGKILL)  # the supervisor and its workers: its own process group
    else:
        a.send(signal.SIGKILL)
    code = a.wait_exit(30)
    assert code == (-signal.SIGKILL if how in ("host-crash", "supervisor-KILL") else 0), f"{code}\n{a.log()}"
    # Even with only the supervisor killed: its workers follow it (PR_SET_PDEATHSIG) instead of serving on.
    wait_until(lambda: workers_gone(a_pids), 20, what=f"host a's workers {a_pids} to be gone")
    t_gone = time.monotonic()
    load.wait_more(600)
    report = load.stop()
    b_after = accepted(b)

    summary = report.summary()
    assert not report.errors, f"nginx always answers\n{summary}"
    by_method: dict = {}
    for r in report.results:
        by_method.setdefault(r.method, []).append(r)
    for method in ("GET", "PUT", "POST"):
        failed = [r for r in by_method.get(method, []) if not r.ok]
        assert not failed, f"{method}s are resent by nginx: none may fail\n{failed[:8]}\n{summary}"
    # Never applied twice: a resent POST carries its first attempt's request id.
    duplicates = db.query(f"SELECT text, count(*) FROM notes WHERE text LIKE 'load-{load.tag}-%' "
                          "GROUP BY text HAVING count(*) > 1")
    assert not duplicates, f"notes created twice: {duplicates}"

    after = report.started_after(t_gone)  # (600 completed after t_gone, of which at most 4 began before it)
    assert len(after) >= 550 and all(r.ok for r in after), summary
    # Host a is gone, so host b answered every request sent after that, and nothing else broke there.
    assert b_after - b_before >= len(after), (b_before, b_after, len(after))
    assert b.worker_pids() == b_pids and b.proc.poll() is None, b.log()
    assert b.status()["restarts"]["total"] == 0, b.log()
    # nginx met host a's refused or reset connections, and retried: the client saw none of them.
    assert nginx_error_lines(nginx, a.port), f"no failed attempt on host a logged\n{nginx.log_text()}"
    assert not nginx_error_lines(nginx, b.port), f"host b never failed\n{nginx_error_lines(nginx, b.port)}"
    print(f"{how}: {summary}; nginx retries logged for host a: "
          f"{len(nginx_error_lines(nginx, a.port))}; host b served {b_after - b_before} requests after "
          f"the stop began")


def test_a_restarted_host_rejoins_without_a_failure(launcher):
    """A host stopped under load and started again on the same address gets requests again once nginx's
    fail_timeout (10 s) has passed, and no GET fails meanwhile: the rolling restart of docs/SCALE-OUT.md."""
    db, a, b, nginx, client = two_hosts(launcher, "rejoin")
    load = launcher.load(nginx.port, connections=3, max_requests=100000, mix=("get", "list"))
    load.wait_for(200)
    a.send(signal.SIGTERM)
    assert a.wait_exit(30) == 0, a.log()
    load.wait_more(300)
    wait_until(lambda: nginx_error_lines(nginx, a.port), 20, what="nginx to find host a down")

    again = supervisor_on(launcher, db, "rejoin-a2", a.listen, a.port, workers=2)
    polls = [0]

    def serves_traffic() -> bool:
        polls[0] += 1  # each poll is itself one accepted request
        return accepted(again) > polls[0]
    wait_until(serves_traffic, 40, interval=0.5, what="nginx to send requests to the restarted host a")
    load.wait_more(200)
    report = load.stop()
    assert not report.failures and not report.errors, report.summary()
    print(f"rejoin: {report.summary()}; restarted host a took {accepted(again) - polls[0]} requests")


# ---------------------------------------------------------------------------------------------- who may connect


@pytest.mark.parametrize("args,env", [
    (["--allow-from", "127.0.0.2"], {}),
    (["--allow-from", "127.0.0.3, 127.0.0.2"], {}),
    ([], {"FCGI_WEB_SERVER_ADDRS": "127.0.0.2"}),
], ids=["allow-from", "allow-from-list", "environment"])
def test_tcp_workers_answer_only_allowed_peers(launcher, migrated_db, args, env):
    """A pool on TCP with an allowlist closes connections from other addresses without an answer (libfcgi
    checks the peer in FCGX_Accept_r), answers the allowed one, and no worker dies of a refusal. nginx
    itself, on 127.0.0.1 here, is then refused too: its clients get the JSON 503."""
    sup = launcher.supervisor(migrated_db, name="allow", workers=2, tcp=True, extra_args=args, env=env)
    pids = sup.wait_ready()
    target = ("127.0.0.1", sup.port)

    allowed = fastcgi_from("127.0.0.2", target)
    assert isinstance(allowed, Response), f"127.0.0.2 is allowed: {allowed}\n{sup.log()}"
    assert_json(allowed, 200, [])
    for _ in range(6):  # every worker meets a refused peer, some more than once
        refused = fastcgi_from("127.0.0.1", target)
        assert isinstance(refused, str), f"127.0.0.1 is not on the list, yet got an answer: {refused!r}"
    nginx = launcher.nginx(sup.fastcgi_addr, name="allow-nginx")
    assert_nginx_unavailable(Client(nginx.port).get("/notes/"))

    note = fastcgi_from("127.0.0.2", target, "/healthz")
    assert isinstance(note, Response) and note.status == 200, note
    assert sup.worker_pids() == pids and sup.started_count() == 2, f"a refusal cost a worker\n{sup.log()}"
    # Each worker has its own copy of the list: the variable reached all of them.
    for pid in pids:
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        values = [e.split(b"=", 1)[1].decode() for e in environ if e.startswith(b"FCGI_WEB_SERVER_ADDRS=")]
        assert len(values) == 1 and "127.0.0.2" in values[0].split(","), (pid, values)


def test_allow_from_leaves_a_unix_socket_alone(launcher, migrated_db):
    """libfcgi checks peers of TCP sockets only: on the (recommended) unix socket, --allow-from changes
    nothing, and nginx reaches the pool as always."""
    sup = launcher.supervisor(migrated_db, name="allow-unix", workers=1, extra_args=["--allow-from", "127.0.0.2"])
    sup.wait_ready()
    assert_json(sup.fastcgi("GET", "/notes/"), 200, [])
    nginx = launcher.nginx(sup.fastcgi_addr, name="allow-unix-nginx")
    client = Client(nginx.port)
    assert_note(assert_json(client.post("/notes/", {"text": "unix", "completed": False}), 201), text="unix")


@pytest.mark.parametrize("value", ["::1", "localhost", "", "256.1.1.1", "127.0.0.1;127.0.0.2"])
def test_allow_from_refuses_what_libfcgi_cannot_match(bin_dir, tmp_path, value):
    """libfcgi compares peers with dotted IPv4 strings: anything else would allow nobody, so the supervisor
    refuses to start with it, naming the option. (The listen path cannot be bound: had the value been
    taken, the supervisor would fail there instead, with a message that does not name --allow-from.)"""
    result = run([bin_dir / "notes-supervisor", "--listen", f"unix:{tmp_path}/missing/notes.sock", "--workers", "1",
                  "--allow-from", value], check=False, timeout=30)
    assert result.returncode != 0, f"--allow-from {value!r} was accepted:\n{result.stdout}{result.stderr}"
    assert "allow-from" in result.stderr, result.stderr


def test_allow_from_refuses_an_ipv6_listen_address(bin_dir, tmp_path):
    """libfcgi checks only IPv4 peers: on an IPv6 socket (dual-stack included) the list would let everybody in,
    so the supervisor refuses the combination instead of pretending to restrict."""
    result = run([bin_dir / "notes-supervisor", "--listen", "[::1]:9", "--workers", "1", "--user", SERVICE_USER,
                  "--allow-from", "127.0.0.1"], check=False, timeout=30)
    assert result.returncode != 0, f"accepted:\n{result.stdout}{result.stderr}"
    assert "--allow-from works on IPv4 listen addresses only" in result.stderr, result.stderr


@pytest.mark.parametrize("form", ["{port}", ":{port}"], ids=["port", "colon-port"])
def test_listen_with_a_port_alone_binds_loopback_only(launcher, migrated_db, form):
    """``--listen 9000`` (or ``:9000``) is 127.0.0.1:9000, never every address: a FastCGI port open to the
    network would let anybody who reaches it speak as the web server."""
    port = free_port()
    sup = supervisor_on(launcher, migrated_db, f"port-{form.count(':')}", form.format(port=port), port, workers=1)
    sup.wait_ready()
    assert listening_addresses(port) == ["127.0.0.1"], listening_addresses(port)
    assert_json(fastcgi_request(("127.0.0.1", port), "GET", "/notes/"), 200, [])
    others = ["127.0.0.2"] + other_local_ipv4_addresses()
    for address in others:
        assert connection_refused(address, port), f"{address}:{port} accepted a connection"
    assert re.search(rf"127\.0\.0\.1:{port}\b", sup.status()["supervisor"]["listen"]), sup.status()
    print(f"--listen {form.format(port=port)}: listening on {listening_addresses(port)}; refused on {others}")

"""Talking FastCGI to the workers without nginx, over the codec of ``fastcgi``: ``FastCGIConnection`` (one
responder request, sent in steps so a test can pause mid-body), ``fastcgi_request`` (one whole request, the params
as nginx sends them) and ``Peer`` (a raw connection that sends whatever bytes the test wants and reads what comes
back, as any local process that can open the socket could).

An address is a unix socket's path (str or Path) or a (host, port) pair.

Python 3 standard library only.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import Optional

from harness.fastcgi import (FCGI_END_REQUEST, FCGI_STDERR, FCGI_STDIN, FCGI_STDOUT, MAX_CONTENT, begin,
                             nginx_params, params_stream, parse_cgi_response, parse_header, parse_records, record)
from harness.http import Response


def connect(address, timeout: float, source: Optional[str] = None) -> socket.socket:
    """A connected stream socket to ``address``; on TCP from the local address ``source`` when given."""
    if isinstance(address, (str, Path)):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        sock.connect(str(address))
        return sock
    return socket.create_connection(address, timeout=timeout,
                                    source_address=(source, 0) if source is not None else None)


class FastCGIConnection:
    """One FastCGI responder request, sent in steps so a test can pause mid-body. ``source``: the local address
    of a TCP connection (127.0.0.2 needs no setup: all of 127.0.0.0/8 is the loopback interface on Linux), which
    is what a web server on another address looks like to a worker."""

    def __init__(self, address, timeout: float = 30.0, source: Optional[str] = None):
        self.sock = connect(address, timeout, source)
        self.request_id = 1

    def begin(self, method: str, path: str, query: str = "", content_type: Optional[str] = None,
              content_length: int = 0, extra: Optional[dict] = None) -> None:
        params = nginx_params(method, path, query, content_type, content_length, extra)
        self.sock.sendall(begin(self.request_id) + params_stream(params, self.request_id))

    def send_stdin(self, data: bytes) -> None:
        for i in range(0, len(data), MAX_CONTENT):
            self.sock.sendall(record(FCGI_STDIN, self.request_id, data[i:i + MAX_CONTENT]))

    def end_stdin(self) -> None:
        self.sock.sendall(record(FCGI_STDIN, self.request_id, b""))

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
            version, rtype, _rid, length, padding = parse_header(self._recv_exact(8))
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


class Peer:
    """A raw connection to the workers' socket, as any local process that can open it would have."""

    def __init__(self, target, timeout: float = 10.0):
        self.sock = connect(target, timeout)

    def send(self, data: bytes) -> bool:
        """False when the worker had already closed the connection (it may refuse before reading everything)."""
        try:
            self.sock.sendall(data)
            return True
        except (BrokenPipeError, ConnectionResetError):
            return False

    def end(self) -> None:
        """Shut down our sending side: the worker reads EOF, and can still answer."""
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def read_until_closed(self, timeout: float) -> tuple[bytes, bool]:
        """Everything the worker sends until it closes the connection (True) or ``timeout`` passes (False).
        A reset counts as closed: a worker that closes with our data unread resets the connection."""
        data, deadline = b"", time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return data, False
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                return data, False
            except ConnectionResetError:
                return data, True
            if not chunk:
                return data, True
            data += chunk

    def read_answer(self, timeout: float = 10.0) -> tuple[bytes, bool]:
        """Everything up to and with the END_REQUEST record of request 1, and whether the connection is still
        open after it (it is, when the worker keeps it); (data, False) if the worker closed before the end."""
        data, deadline = b"", time.monotonic() + timeout
        while not any(r.rtype == FCGI_END_REQUEST for r in parse_records(data)):
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"no END_REQUEST within {timeout}s, only {data[:300]!r}"
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError:
                return data, False
            if not chunk:
                return data, False
            data += chunk
        self.sock.settimeout(0.2)
        try:
            still_open = self.sock.recv(1, socket.MSG_PEEK) != b""
        except socket.timeout:
            still_open = True
        except ConnectionResetError:
            still_open = False
        return data, still_open

    def close(self) -> None:
        self.sock.close()

"""The tests' FastCGI client, to talk to a worker without nginx: ``FastCGIConnection`` (one responder request,
sent in steps so a test can pause mid-body), ``fastcgi_request`` (one whole request, the params as nginx sends
them) and ``parse_cgi_response``.

Python 3 standard library only.
"""

from __future__ import annotations

import socket
import struct
from pathlib import Path
from typing import Optional

from harness.http import Response

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

"""The tests' one HTTP/1.1 codec, and the clients built on it.

Encoding: ``raw_request`` writes a request as bytes and checks nothing, so any byte can go anywhere (a lying
Content-Length, CONNECT, bytes that are not UTF-8 in the target, 100 kB URLs); ``chunked`` is the chunked
transfer coding. Decoding: ``parse_response`` reads one answer from the bytes received so far (Content-Length,
chunked, or up to the connection's end; no body for HEAD, 1xx, 204 and 304).

Built on them: ``exchange`` (raw bytes on a new connection, up to N answers back, and whether the server closed
it), ``http_request`` and ``Client`` (one request per connection, Connection: close), ``Connection`` (one kept-alive
connection, opened again after the server ended it).

Python 3 standard library only.
"""

from __future__ import annotations

import json
import re
import socket
from dataclasses import dataclass, field
from typing import Callable, Iterable, Optional, Union


class ProtocolError(Exception):
    """Bytes that are not an HTTP/1.x answer, or an answer the connection's end cut short."""


class Truncated(ProtocolError):
    """The connection ended inside an answer."""


class ClosedWithoutAnswer(ProtocolError, ConnectionResetError):
    """The server closed the connection before the first byte of an answer (an OSError, as a reset is)."""


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


# --------------------------------------------------------------------------------------------------
# encoding


def _latin1(value) -> bytes:
    if isinstance(value, bytes):
        return value
    return str(value).encode("latin-1")


def raw_request(method: str, target: Union[str, bytes], headers: Iterable = (), body: bytes = b"",
                version: str = "HTTP/1.1", close: bool = True, host: Union[bool, str] = True) -> bytes:
    """A request as raw bytes: nothing is checked or encoded, so any byte can be sent anywhere. ``headers``:
    (name, value) pairs, str (sent as Latin-1) or bytes. ``host``: True for ``Host: localhost``, a string for
    that value, False for none; ``close`` adds ``Connection: close``. Both come before ``headers``."""
    head = _latin1(method) + b" " + _latin1(target) + b" " + _latin1(version) + b"\r\n"
    if host:
        head += b"Host: " + (b"localhost" if host is True else _latin1(host)) + b"\r\n"
    if close:
        head += b"Connection: close\r\n"
    for name, value in headers:
        head += _latin1(name) + b": " + _latin1(value) + b"\r\n"
    return head + b"\r\n" + body


def chunked(body: bytes, size: int = 600 * 1024) -> bytes:
    """``body`` in the chunked transfer coding, in chunks of ``size`` bytes, with the last (empty) chunk."""
    out = b""
    for i in range(0, len(body), size):
        piece = body[i:i + size]
        out += f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    return out + b"0\r\n\r\n"


# --------------------------------------------------------------------------------------------------
# decoding


def _dechunk(buf: bytes, pos: int, eof: bool) -> Optional[tuple[bytes, int]]:
    """The body of a chunked answer whose chunks start at ``pos``, and the offset after its trailer section;
    None while it is incomplete."""
    pieces = []
    while True:
        eol = buf.find(b"\r\n", pos)
        if eol < 0:
            break
        try:
            size = int(buf[pos:eol].split(b";")[0], 16)
        except ValueError:
            raise ProtocolError(f"not a chunk size: {buf[pos:eol][:100]!r}")
        if size == 0:
            pos = eol + 2
            while True:  # trailer fields, up to an empty line
                end = buf.find(b"\r\n", pos)
                if end < 0:
                    break
                if end == pos:
                    return b"".join(pieces), end + 2
                pos = end + 2
            break
        if len(buf) < eol + 2 + size + 2:
            break
        pieces.append(bytes(buf[eol + 2:eol + 2 + size]))
        pos = eol + 2 + size + 2
    if eof:
        raise Truncated("the connection ended inside a chunked body")
    return None


def parse_response(buf: bytes, head: bool = False, eof: bool = False) -> Optional[tuple[Response, int]]:
    """The first complete answer in ``buf`` and the number of bytes it took, or None while it is incomplete.

    ``head``: the answer to a HEAD request (no body whatever its headers say). ``eof``: the connection has ended
    after ``buf``, which completes an answer framed by neither Content-Length nor chunked coding (its body is the
    rest) and makes any other incomplete one ``Truncated``."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        if eof and buf:
            raise Truncated(f"the connection ended inside an answer's head: {buf[:300]!r}")
        return None
    lines = buf[:end].decode("latin-1").split("\r\n")
    match = re.match(r"HTTP/\d\.\d (\d{3})", lines[0])
    if not match:
        raise ProtocolError(f"not an HTTP status line: {lines[0]!r}")
    headers = []
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.append((name.strip(), value.strip()))
    response = Response(int(match.group(1)), headers)
    start = end + 4
    if head or response.status in (204, 304) or 100 <= response.status < 200:
        return response, start
    if (response.header("Transfer-Encoding") or "").lower() == "chunked":
        parsed = _dechunk(buf, start, eof)
        if parsed is None:
            return None
        response.body = parsed[0]
        return response, parsed[1]
    length = response.header("Content-Length")
    if length is None:  # the body runs to the connection's end
        if not eof:
            return None
        response.body = bytes(buf[start:])
        return response, len(buf)
    if len(buf) < start + int(length):
        if eof:
            raise Truncated(f"the connection ended {start + int(length) - len(buf)} bytes before the body's end")
        return None
    response.body = bytes(buf[start:start + int(length)])
    return response, start + int(length)


class _Reader:
    """Answers read one after the other from a connection, the bytes after each kept for the next."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.buf = bytearray()
        self.ended = False
        # How much of buf has been searched for the end of a chunked body, so a long one is not parsed again
        # after every read (which took minutes for 60 MB).
        self.searched = 0

    def _may_be_complete(self, head: bool) -> bool:
        if self.ended or head:
            return True
        head_end = self.buf.find(b"\r\n\r\n")
        if head_end < 0:
            return False
        if b"chunked" not in self.buf[:head_end].lower():
            return True
        start, self.searched = max(head_end, self.searched - 8), len(self.buf)
        return self.buf.find(b"0\r\n\r\n", start) >= 0

    def read(self, head: bool = False) -> Optional[Response]:
        """The next answer; None when the connection ended before its first byte. A recv time-out (socket.timeout)
        and a reset (ConnectionResetError) propagate."""
        while True:
            parsed = parse_response(self.buf, head, eof=self.ended) if self._may_be_complete(head) else None
            if parsed is not None:
                del self.buf[:parsed[1]]
                self.searched = 0
                return parsed[0]
            if self.ended:
                return None  # (parse_response raised if the connection ended inside an answer)
            chunk = self.sock.recv(65536)
            if chunk:
                self.buf += chunk
            else:
                self.ended = True


# --------------------------------------------------------------------------------------------------
# raw exchanges


def exchange(port: int, data: bytes, count: int = 1, head: bool = False, half_close: bool = False,
             timeout: float = 30.0) -> tuple[list[Response], bool]:
    """Send ``data`` on a new connection to 127.0.0.1:``port`` and read up to ``count`` answers (``head``: the
    first is the answer to a HEAD). Returns them and whether the server closed the connection before ``count``
    answers came; a recv time-out fails the test instead of hanging. ``half_close`` shuts our sending side
    once ``data`` is written."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        try:
            sock.sendall(data)
            if half_close:
                sock.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass  # nginx may answer (413, 400) and close before it has read everything
        reader, responses = _Reader(sock), []
        while len(responses) < count:
            try:
                response = reader.read(head and not responses)
            except (ConnectionResetError, Truncated):
                return responses, True  # (a reset, or an end inside an answer: that answer never came)
            except socket.timeout:
                raise AssertionError(f"no complete answer within {timeout:.0f}s; received so far {reader.buf[:300]!r}")
            except ProtocolError as e:
                raise AssertionError(str(e)) from e
            if response is None:
                return responses, True
            responses.append(response)
        return responses, False
    finally:
        sock.close()


# --------------------------------------------------------------------------------------------------
# clients

UNSET = object()  # "not given" for json_body and content_type (None means something for both)


def _encode_body(body, json_body) -> Optional[bytes]:
    if json_body is not UNSET:
        return json.dumps(json_body, ensure_ascii=False).encode("utf-8")
    if isinstance(body, str):
        return body.encode("utf-8")
    return body


def _request_bytes(port: int, method: str, path: str, data: Optional[bytes], headers: Optional[dict], content_type,
                   keep_alive: bool) -> bytes:
    hdrs = {"Host": f"127.0.0.1:{port}"}
    if not keep_alive:
        hdrs["Connection"] = "close"
    hdrs["User-Agent"] = "notes-integration-tests"
    if content_type is UNSET:
        content_type = "application/json" if data is not None else None
    if content_type is not None:
        hdrs["Content-Type"] = content_type
    if data is not None or method in ("POST", "PUT", "PATCH"):
        hdrs["Content-Length"] = str(len(data or b""))
    hdrs.update(headers or {})
    return raw_request(method, path, hdrs.items(), data or b"", close=False, host=False)


def _read_final(reader: _Reader, method: str) -> Response:
    """The final answer (after any 100 Continue) to a request of ``method``."""
    while True:
        response = reader.read(head=method == "HEAD")
        if response is None:
            raise ClosedWithoutAnswer("the server closed the connection without an answer")
        if response.status != 100:
            return response


def http_request(port: int, method: str, path: str, body=None, json_body=UNSET,
                 headers: Optional[dict] = None, content_type: Optional[str] = UNSET,
                 timeout: float = 30.0, on_sent: Optional[Callable[[], None]] = None) -> Response:
    """One HTTP/1.1 request on a fresh connection (Connection: close).

    ``json_body`` is serialized as UTF-8 JSON; ``body`` is sent as is. Content-Type defaults to
    application/json when there is a body; pass ``content_type=None`` to send none. ``on_sent`` is called
    once the whole request has been written, before the response is read. Raises OSError (refused, reset, timed
    out, ClosedWithoutAnswer) or ProtocolError when no whole answer comes."""
    data = _encode_body(body, json_body)
    request = _request_bytes(port, method, path, data, headers, content_type, keep_alive=False)
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        try:
            sock.sendall(request)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer (413) before reading the whole body
        if on_sent is not None:
            on_sent()
        return _read_final(_Reader(sock), method)
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

    def post(self, path: str, json_body=UNSET, **kw) -> Response:
        return self.request("POST", path, json_body=json_body, **kw)

    def put(self, path: str, json_body=UNSET, **kw) -> Response:
        return self.request("PUT", path, json_body=json_body, **kw)

    def patch(self, path: str, json_body=UNSET, **kw) -> Response:
        return self.request("PATCH", path, json_body=json_body, **kw)

    def delete(self, path: str, **kw) -> Response:
        return self.request("DELETE", path, **kw)

    def options(self, path: str, **kw) -> Response:
        return self.request("OPTIONS", path, **kw)

    def create_note(self, text: str = "note", completed: bool = False) -> dict:
        r = self.post("/notes/", {"text": text, "completed": completed})
        assert r.status == 201, r
        return r.json()


class Connection:
    """One persistent HTTP/1.1 connection to 127.0.0.1:``port``, as a real client keeps one: requests go one after
    the other on it; once an answer says ``Connection: close`` (nginx's keepalive_requests) the connection is
    closed, and the next request opens a new one. A request is never sent twice: any error closes the connection
    and propagates (OSError or ProtocolError)."""

    def __init__(self, port: int, timeout: float = 30.0):
        self.port = port
        self.timeout = timeout
        self._sock: Optional[socket.socket] = None
        self._reader: Optional[_Reader] = None

    def request(self, method: str, path: str, body=None, json_body=UNSET, headers: Optional[dict] = None,
                content_type: Optional[str] = UNSET) -> Response:
        data = _encode_body(body, json_body)
        try:
            if self._sock is None:
                self._sock = socket.create_connection(("127.0.0.1", self.port), timeout=self.timeout)
                self._reader = _Reader(self._sock)
            self._sock.sendall(_request_bytes(self.port, method, path, data, headers, content_type, keep_alive=True))
            response = _read_final(self._reader, method)
        except BaseException:
            self.close()
            raise
        if any(v.lower() == "close" for v in response.header_values("Connection")):
            self.close()
        return response

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
        self._sock = self._reader = None

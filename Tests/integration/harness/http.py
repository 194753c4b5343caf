"""The tests' HTTP client: ``http_request`` and ``Client`` (one request per connection, Connection: close: a raw
socket and http.client's parser, so any request can be sent) and their ``Response``.

Python 3 standard library only.
"""

from __future__ import annotations

import http.client
import json
import socket
from dataclasses import dataclass, field
from typing import Callable, Optional


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
    if json_body is not UNSET:
        return json.dumps(json_body, ensure_ascii=False).encode("utf-8")
    if isinstance(body, str):
        return body.encode("utf-8")
    return body


UNSET = object()  # "not given" for json_body and content_type (None means something for both)


def http_request(port: int, method: str, path: str, body=None, json_body=UNSET,
                 headers: Optional[dict] = None, content_type: Optional[str] = UNSET,
                 timeout: float = 30.0, on_sent: Optional[Callable[[], None]] = None) -> Response:
    """One HTTP/1.1 request on a fresh connection (Connection: close).

    ``json_body`` is serialized as UTF-8 JSON; ``body`` is sent as is. Content-Type defaults to
    application/json when there is a body; pass ``content_type=None`` to send none. ``on_sent`` is called
    once the whole request has been written, before the response is read."""
    data = _encode_body(body, json_body)
    hdrs = {"Host": f"127.0.0.1:{port}", "Connection": "close", "User-Agent": "notes-integration-tests"}
    if content_type is UNSET:
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

"""The tests' one FastCGI 1.0 codec: record headers and records (well-formed or saying whatever a test wants),
streams cut into records, name-value pairs both ways, BEGIN_REQUEST, the PARAMS of a request (as nginx/notes.conf
sends them, or the few a worker needs), whole requests, records parsed back from what a worker sent, and the CGI
response in its STDOUT.

The clients that talk it (``fastcgi_client``: ``FastCGIConnection``, ``fastcgi_request``, ``Peer``) build on it.

Python 3 standard library only.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Optional

from harness.http import Response

FCGI_BEGIN_REQUEST, FCGI_ABORT_REQUEST, FCGI_END_REQUEST = 1, 2, 3
FCGI_PARAMS, FCGI_STDIN, FCGI_STDOUT, FCGI_STDERR = 4, 5, 6, 7
FCGI_GET_VALUES, FCGI_GET_VALUES_RESULT, FCGI_UNKNOWN_TYPE = 9, 10, 11
FCGI_RESPONDER, FCGI_AUTHORIZER, FCGI_FILTER = 1, 2, 3
FCGI_KEEP_CONN = 1  # BEGIN_REQUEST's flag
FCGI_REQUEST_COMPLETE, FCGI_CANT_MPX_CONN = 0, 1  # END_REQUEST's protocol status

HEADER = struct.Struct("!BBHHBx")  # version, type, request id, content length, padding length, reserved
MAX_CONTENT = 65535


# --------------------------------------------------------------------------------------------------
# encoding


def header(rtype: int, request_id: int, length: int, padding: int = 0, version: int = 1) -> bytes:
    """A record header saying whatever the test wants, true or not."""
    return HEADER.pack(version, rtype, request_id, length, padding)


def record(rtype: int, request_id: int, content: bytes = b"", version: int = 1) -> bytes:
    """One well-formed record, padded to a multiple of 8 as nginx pads them (the version byte is the test's)."""
    padding = (-len(content)) % 8
    return header(rtype, request_id, len(content), padding, version) + content + b"\0" * padding


def records(rtype: int, request_id: int, content: bytes) -> bytes:
    """A stream's content cut into records of at most 65535 bytes (without the empty end-of-stream record)."""
    return b"".join(record(rtype, request_id, content[i:i + MAX_CONTENT])
                    for i in range(0, len(content), MAX_CONTENT))


def begin(request_id: int = 1, role: int = FCGI_RESPONDER, flags: int = 0) -> bytes:
    """A BEGIN_REQUEST record."""
    return record(FCGI_BEGIN_REQUEST, request_id, struct.pack("!HB5x", role, flags))


def encode_length(n: int) -> bytes:
    """A name or value length: one byte below 128, else four with the high bit set."""
    return bytes([n]) if n < 128 else long_length(n)


def long_length(n: int) -> bytes:
    """The 4-byte form of a name or value length (high bit set), for any 31-bit value."""
    return struct.pack("!I", 0x80000000 | n)


def encode_pairs(params: dict) -> bytes:
    """Name-value pairs (values as str(value), UTF-8)."""
    out = b""
    for k, v in params.items():
        kb, vb = k.encode(), str(v).encode()
        out += encode_length(len(kb)) + encode_length(len(vb)) + kb + vb
    return out


def params_stream(params: dict, request_id: int = 1) -> bytes:
    """The whole PARAMS stream of ``params``, with its empty end-of-stream record."""
    return records(FCGI_PARAMS, request_id, encode_pairs(params)) + record(FCGI_PARAMS, request_id)


def nginx_params(method: str, path: str, query: str = "", content_type: Optional[str] = None,
                 content_length: int = 0, extra: Optional[dict] = None) -> dict:
    """The params as nginx/notes.conf sends them (plus ``extra``, e.g. HTTP_ORIGIN or REQUEST_ID)."""
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
    return params


def request_params(method: str, path: str, content_length: Optional[str] = None,
                   content_type: Optional[str] = None) -> dict:
    """The few params a worker needs, CONTENT_LENGTH as the test spells it (or none)."""
    params = {"REQUEST_METHOD": method, "REQUEST_URI": path, "DOCUMENT_URI": path, "SCRIPT_NAME": path,
              "QUERY_STRING": "", "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1"}
    if content_length is not None:
        params["CONTENT_LENGTH"] = content_length
    if content_type is not None:
        params["CONTENT_TYPE"] = content_type
    return params


def full_request(method: str, path: str, body: bytes = b"", content_length: Optional[str] = None,
                 flags: int = 0, extra_params: Optional[dict] = None) -> bytes:
    """A complete, well-formed request 1 (CONTENT_LENGTH is the body's unless the test says otherwise)."""
    if content_length is None:
        content_length = str(len(body)) if body else ""
    ctype = "application/json" if body or method in ("POST", "PUT", "PATCH") else None
    params = request_params(method, path, content_length, ctype) | (extra_params or {})
    return (begin(flags=flags) + params_stream(params) + records(FCGI_STDIN, 1, body) + record(FCGI_STDIN, 1))


# --------------------------------------------------------------------------------------------------
# decoding


@dataclass
class Record:
    version: int
    rtype: int
    request_id: int
    content: bytes


def parse_header(data: bytes) -> tuple[int, int, int, int, int]:
    """(version, type, request id, content length, padding length) of an 8-byte record header."""
    return HEADER.unpack(data)


def parse_records(data: bytes) -> list[Record]:
    """The complete records in what a worker sent (a trailing partial record is left out)."""
    result, offset = [], 0
    while offset + 8 <= len(data):
        version, rtype, request_id, length, padding = parse_header(data[offset:offset + 8])
        if offset + 8 + length + padding > len(data):
            break
        result.append(Record(version, rtype, request_id, data[offset + 8:offset + 8 + length]))
        offset += 8 + length + padding
    return result


def parse_pairs(content: bytes) -> dict:
    """FastCGI name-value pairs (as in GET_VALUES_RESULT) into a dict."""
    def length(at: int) -> tuple[int, int]:
        if content[at] & 0x80:
            return struct.unpack("!I", content[at:at + 4])[0] & 0x7fffffff, at + 4
        return content[at], at + 1
    pairs, at = {}, 0
    while at < len(content):
        name_len, at = length(at)
        value_len, at = length(at)
        name = content[at:at + name_len].decode()
        pairs[name] = content[at + name_len:at + name_len + value_len].decode()
        at += name_len + value_len
    return pairs


def parse_cgi_response(raw: bytes) -> Response:
    """The CGI response a worker wrote on STDOUT (a Status header, other headers, a blank line, the body)."""
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


def http_answer(data: bytes, request_id: int = 1) -> Optional[Response]:
    """The CGI response in the STDOUT records of ``request_id``, or None when the worker wrote none."""
    stdout = b"".join(r.content for r in parse_records(data) if r.rtype == FCGI_STDOUT and r.request_id == request_id)
    return parse_cgi_response(stdout) if stdout else None

"""Load and background work: ``LoadClient`` (a bounded steady load through nginx, its options a ``LoadOptions``),
what it saw (``LoadReport`` of ``LoadResult``), and ``Background`` (one call in a thread, e.g. a request that will
block).

Python 3 standard library only.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass, field, replace
from typing import Callable, Iterable, Optional

from harness.http import UNSET, ProtocolError, http_request
from harness.processes import wait_until


@dataclass
class LoadResult:
    """One request of a LoadClient. Times are time.monotonic(); ``status`` is None for a connection error."""
    connection: int
    method: str
    path: str
    started: float
    sent: Optional[float]
    finished: float
    status: Optional[int]
    error: Optional[str] = None
    body: bytes = b""
    text: Optional[str] = None  # the note text sent (POST, PUT)
    headers: list = field(default_factory=list)  # [(name, value)] of the answer, as Response.headers

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def __repr__(self) -> str:
        what = self.status if self.status is not None else self.error
        return f"<{self.method} {self.path} -> {what} {self.body[:120]!r}>"


class LoadReport:
    """What a LoadClient saw: every request, the failures (non-2xx answers) and the connection errors."""

    def __init__(self, results: list[LoadResult]):
        self.results = sorted(results, key=lambda r: r.started)

    @property
    def total(self) -> int:
        return len(self.results)

    @property
    def ok(self) -> list[LoadResult]:
        return [r for r in self.results if r.ok]

    @property
    def failures(self) -> list[LoadResult]:
        """Answers that are not 2xx."""
        return [r for r in self.results if r.status is not None and not r.ok]

    @property
    def errors(self) -> list[LoadResult]:
        """Requests that got no HTTP answer at all (refused, reset, timed out, garbled)."""
        return [r for r in self.results if r.status is None]

    def finished_before(self, t: float) -> list[LoadResult]:
        return [r for r in self.results if r.finished < t]

    def in_flight_at(self, t: float) -> list[LoadResult]:
        """Requests completely sent before ``t`` and answered (or failed) after it."""
        return [r for r in self.results if r.sent is not None and r.sent <= t < r.finished]

    def started_after(self, t: float) -> list[LoadResult]:
        return [r for r in self.results if r.started > t]

    def summary(self, limit: int = 8) -> str:
        counts: dict = {}
        for r in self.results:
            key = r.status if r.status is not None else f"error {r.error.split(':')[0] if r.error else ''}"
            counts[key] = counts.get(key, 0) + 1
        bad = (self.failures + self.errors)[:limit]
        return f"{self.total} requests, by outcome {counts}; first failures: {bad}"


@dataclass
class LoadOptions:
    """The shape of a LoadClient's load."""
    connections: int = 4  # threads, each with one request at a time on a fresh connection
    max_requests: int = 3000  # the bound: requests sent in all, by every thread together
    request_timeout: float = 30.0  # per request
    mix: Iterable[str] = ("post", "get", "put", "list")  # the cycle of requests of each thread


class LoadClient:
    """A steady load through nginx: ``connections`` threads, each sending one request at a time on a fresh
    connection, until stop() or until ``max_requests`` were sent in all (the bound). Every answer is recorded;
    a non-2xx answer is a failure, a request without an HTTP answer a connection error.

    Each thread cycles through ``mix``: POST /notes/ (a unique text), GET /notes/{id}/ and PUT /notes/{id}/
    of the note it created last, GET /notes/?take=5. The options are a LoadOptions (keyword arguments are a
    shorthand for its fields)."""

    def __init__(self, port: int, options: Optional[LoadOptions] = None, **option_fields):
        options = replace(options or LoadOptions(), **option_fields)
        self.port = port
        self.connections = options.connections
        self.max_requests = options.max_requests
        self.request_timeout = options.request_timeout
        self.mix = list(options.mix)
        self.tag = uuid.uuid4().hex[:8]
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._issued = 0
        self._results: list[LoadResult] = []
        self._threads: list[threading.Thread] = []
        self._report: Optional[LoadReport] = None

    def start(self) -> "LoadClient":
        for i in range(self.connections):
            t = threading.Thread(target=self._run, args=(i,), name=f"load-{i}", daemon=True)
            self._threads.append(t)
            t.start()
        return self

    def _take_ticket(self) -> bool:
        with self._lock:
            if self._stop.is_set() or self._issued >= self.max_requests:
                return False
            self._issued += 1
            return True

    def _run(self, index: int) -> None:
        note_id: Optional[int] = None
        step = 0
        while self._take_ticket():
            op = self.mix[step % len(self.mix)]
            step += 1
            if op in ("get", "put") and note_id is None:
                op = "post"
            text = None
            if op == "post":
                text = f"load-{self.tag}-{index}-{step}"
                result = self._one(index, "POST", "/notes/", {"text": text, "completed": False}, text)
                if result.status == 201:
                    try:
                        note_id = json.loads(result.body)["id"]
                    except (ValueError, KeyError, TypeError):
                        pass
            elif op == "get":
                self._one(index, "GET", f"/notes/{note_id}/")
            elif op == "put":
                text = f"load-{self.tag}-{index}-{step}-put"
                self._one(index, "PUT", f"/notes/{note_id}/", {"text": text, "completed": True}, text)
            else:
                self._one(index, "GET", "/notes/?take=5")

    def _one(self, index: int, method: str, path: str, json_body=UNSET, text: Optional[str] = None) -> LoadResult:
        sent: list[float] = []
        started = time.monotonic()
        try:
            resp = http_request(self.port, method, path, json_body=json_body, timeout=self.request_timeout,
                                on_sent=lambda: sent.append(time.monotonic()))
            result = LoadResult(index, method, path, started, sent[0] if sent else None, time.monotonic(),
                                resp.status, None, resp.body, text, resp.headers)
        except (OSError, ProtocolError) as e:
            result = LoadResult(index, method, path, started, sent[0] if sent else None, time.monotonic(),
                                None, f"{type(e).__name__}: {e}", b"", text)
        with self._lock:
            self._results.append(result)
        return result

    @property
    def completed(self) -> int:
        with self._lock:
            return len(self._results)

    def results_so_far(self) -> list[LoadResult]:
        """The requests completed until now, while the load goes on."""
        with self._lock:
            return sorted(self._results, key=lambda r: r.started)

    def running(self) -> bool:
        return any(t.is_alive() for t in self._threads)

    def wait_for(self, count: int, timeout: float = 60.0) -> int:
        """Wait until ``count`` requests have completed since the start; returns the number completed."""
        def done():
            n = self.completed
            if n >= count:
                return n
            assert self.running(), f"the load ended after {n} requests, before {count} (max_requests too low?)"
            return None
        return wait_until(done, timeout, interval=0.02, what=f"{count} load requests to complete")

    def wait_more(self, count: int, timeout: float = 60.0) -> int:
        """Wait until ``count`` more requests have completed from now."""
        return self.wait_for(self.completed + count, timeout)

    def wait_started_after(self, t: float, count: int, timeout: float = 60.0) -> int:
        """Wait until ``count`` requests that started after ``t`` (a ``time.monotonic()`` value) have completed."""
        def done():
            with self._lock:
                n = sum(1 for r in self._results if r.started > t)
            if n >= count:
                return n
            assert self.running(), f"the load ended after {n} requests started after the moment, before {count}"
            return None
        return wait_until(done, timeout, interval=0.02, what=f"{count} load requests started later to complete")

    def stop(self, timeout: float = 60.0) -> LoadReport:
        """Stop issuing requests, wait for those in flight, and return the report."""
        self._stop.set()
        deadline = time.monotonic() + timeout
        for t in self._threads:
            t.join(max(0.0, deadline - time.monotonic()))
        assert not self.running(), "load threads still running"
        with self._lock:
            self._report = LoadReport(list(self._results))
        return self._report

    def close(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(self.request_timeout + 5)


class Background:
    """Runs ``fn()`` in a thread, e.g. a request that will block; result() waits (bounded) for its value and
    re-raises its exception."""

    def __init__(self, fn: Callable[[], object], name: str = "background"):
        self._value = None
        self._error: Optional[BaseException] = None
        self._thread = threading.Thread(target=self._run, args=(fn,), name=name, daemon=True)
        self._thread.start()

    def _run(self, fn) -> None:
        try:
            self._value = fn()
        except BaseException as e:  # handed to result()
            self._error = e

    def done(self) -> bool:
        return not self._thread.is_alive()

    def result(self, timeout: float = 30.0):
        self._thread.join(timeout)
        assert not self._thread.is_alive(), f"background call still running after {timeout:.0f}s"
        if self._error is not None:
            raise self._error
        return self._value

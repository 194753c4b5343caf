"""Integrity under concurrency, through nginx: concurrent creates lose nothing and duplicate nothing, and
concurrent PUT and DELETE of the same notes never give a 500 or an answer that the final state
contradicts.

The ordering assertions use only what the client can know for sure: a request sent after another
request's answer arrived was handled after that request committed (each statement commits before its
answer is written). Nothing here asserts on durations.
"""

from __future__ import annotations

import json
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Optional

from harness.assertions import assert_json, assert_note, total_count
from harness.http import Connection, ProtocolError
from harness.stack import Stack

CLIENTS = 8
NOTES_PER_CLIENT = 1000


@dataclass
class Outcome:
    """One request: what was sent, when (time.monotonic(), before sending and after the whole answer), and
    the answer (status None: no HTTP answer at all)."""
    method: str
    path: str
    note_id: Optional[int]
    text: Optional[str]
    started: float
    finished: float
    status: Optional[int]
    body: bytes = b""
    headers: dict = field(default_factory=dict)
    error: Optional[str] = None

    def json(self):
        return json.loads(self.body)

    def __repr__(self) -> str:
        return f"<{self.method} {self.path} -> {self.status if self.status is not None else self.error} {self.body[:160]!r}>"


class KeepAliveClient:
    """One client with its own persistent HTTP/1.1 connection to nginx, as a real client keeps one; nginx
    closes it after keepalive_requests (with Connection: close) and the harness's Connection opens the next. A
    request is never sent twice: a broken connection is recorded as an outcome without status."""

    def __init__(self, port: int, timeout: float = 60.0):
        self.conn = Connection(port, timeout=timeout)

    def request(self, method: str, path: str, body: Optional[dict] = None, note_id: Optional[int] = None,
                text: Optional[str] = None) -> Outcome:
        data = json.dumps(body).encode() if body is not None else None
        started = time.monotonic()
        try:
            resp = self.conn.request(method, path, body=data)
            return Outcome(method, path, note_id, text, started, time.monotonic(), resp.status, resp.body,
                           {k.lower(): v for k, v in resp.headers})
        except (OSError, ProtocolError) as e:
            self.conn.close()
            return Outcome(method, path, note_id, text, started, time.monotonic(), None,
                           error=f"{type(e).__name__}: {e}")

    def close(self) -> None:
        self.conn.close()


def run_threads(count: int, target, timeout: float = 300.0) -> None:
    """``target(i)`` in ``count`` threads released together; fails if any is still running at the deadline."""
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def body(i: int) -> None:
        try:
            barrier.wait(30)
            target(i)
        except BaseException as e:  # reported below, in the test's thread
            errors.append(e)
    threads = [threading.Thread(target=body, args=(i,), name=f"client-{i}", daemon=True) for i in range(count)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + timeout
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    assert not any(t.is_alive() for t in threads), f"clients still running after {timeout:.0f}s"
    if errors:
        raise errors[0]


def db_count(stack: Stack, where: str = "") -> int:
    return int(stack.db.query(f"SELECT count(*) FROM notes {where}")[0][0])


def assert_totals_agree(stack: Stack) -> tuple[int, int, int]:
    """X-Total-Count of the list, unfiltered and per completed value, equals count(*) in the database."""
    client = stack.client
    all_rows, done, open_ = db_count(stack), db_count(stack, "WHERE completed"), db_count(stack, "WHERE NOT completed")
    assert total_count(client.get("/notes/?take=1")) == all_rows
    assert total_count(client.get("/notes/?take=1&completed=true")) == done
    assert total_count(client.get("/notes/?take=1&completed=false")) == open_
    return all_rows, done, open_


# ---------------------------------------------------------------------------------------------- creates


def test_concurrent_creates_lose_and_duplicate_nothing(launcher):
    """8 clients, each on its own connection, create 1,000 notes each at the same time: 8,000 answers 201
    with 8,000 distinct ids, exactly those 8,000 rows with the texts and flags sent, and totals that agree."""
    stack = launcher.stack("creates", workers=4)
    results: list[list[Outcome]] = [[] for _ in range(CLIENTS)]

    def create(i: int) -> None:
        client = KeepAliveClient(stack.nginx.port)
        try:
            for j in range(NOTES_PER_CLIENT):
                text = f"c{i}-n{j}"
                results[i].append(client.request("POST", "/notes/", {"text": text, "completed": j % 4 == 0},
                                                 text=text))
        finally:
            client.close()
    run_threads(CLIENTS, create)

    outcomes = [o for per_client in results for o in per_client]
    bad = [o for o in outcomes if o.status != 201]
    assert not bad, f"{len(bad)} creates not answered 201: {bad[:8]}\n{stack.diagnostics()}"
    assert len(outcomes) == CLIENTS * NOTES_PER_CLIENT
    sent = {}
    for o in outcomes:
        note = o.json()
        assert note["text"] == o.text and note["completed"] is (int(o.text.split("-n")[1]) % 4 == 0), (o, note)
        sent[note["id"]] = (note["text"], note["completed"])
    assert len(sent) == CLIENTS * NOTES_PER_CLIENT, f"{CLIENTS * NOTES_PER_CLIENT - len(sent)} ids given twice"

    assert db_count(stack) == CLIENTS * NOTES_PER_CLIENT
    rows = {int(i): (t, c == "t") for i, t, c in stack.db.query("SELECT id, text, completed FROM notes")}
    assert rows == sent, "the rows are exactly the notes answered 201"
    totals = assert_totals_agree(stack)
    assert totals == (8000, 2000, 6000), totals
    # The list pages by ascending id over exactly these notes.
    last = assert_json(stack.client.get(f"/notes/?skip={len(sent) - 50}&take=100"), 200)
    assert [n["id"] for n in last] == sorted(sent)[-50:]

    # How interleaved the clients were (information only: how far each client's ids are from one block).
    spread = [max(o.json()["id"] for o in r) - min(o.json()["id"] for o in r) + 1 for r in results]
    print(f"creates: {len(sent)} notes; id span per client {min(spread)}..{max(spread)} "
          f"(1000 would mean no interleaving)")


# ---------------------------------------------------------------------------------------------- PUT vs DELETE


ROUNDS = 3
NOTES_PER_ROUND = 200
PUTS_PER_NOTE = 3
RACERS = 8


def test_concurrent_put_and_delete_stay_consistent(launcher):
    """Per round, 200 fresh notes; each gets 3 PUTs, and every other note also 2 DELETEs, all of one note's
    requests in flight at about the same time on 8 connections. Then:
    - no 500, no other status than 200 and 404, every body the documented one;
    - exactly one DELETE of a note answers 200, the other 404, and the note is gone;
    - a PUT sent after the successful DELETE's answer arrived is a 404 (never a 200 or a note brought back),
      and a PUT or DELETE answered 404 had been sent after that DELETE was: a 404 is never invented;
    - a note nobody deleted exists, every PUT of it answered 200, and its text is that of a PUT that no other
      answered PUT of it followed entirely (the last writer, as far as the client can tell);
    - X-Total-Count equals the rows in the database."""
    stack = launcher.stack("races", workers=4)
    rng = random.Random(20261122)
    put_404 = 0
    kept_total = 0
    for round_no in range(ROUNDS):
        notes = [stack.client.create_note(f"r{round_no}-n{k}") for k in range(NOTES_PER_ROUND)]
        doomed = {n["id"] for k, n in enumerate(notes) if k % 2 == 0}
        ops: list[tuple] = []
        for note in notes:
            nid = note["id"]
            mine = [("PUT", nid, f"r{round_no}-n{nid}-put{p}") for p in range(PUTS_PER_NOTE)]
            if nid in doomed:
                mine += [("DELETE", nid, None), ("DELETE", nid, None)]
            rng.shuffle(mine)
            ops.extend(mine)  # one note's requests next to each other: the racers take them at once

        lock = threading.Lock()
        next_op = [0]
        outcomes: list[Outcome] = []

        def race(_i: int) -> None:
            client = KeepAliveClient(stack.nginx.port)
            try:
                while True:
                    with lock:
                        if next_op[0] >= len(ops):
                            return
                        method, nid, text = ops[next_op[0]]
                        next_op[0] += 1
                    body = {"text": text, "completed": True} if method == "PUT" else None
                    o = client.request(method, f"/notes/{nid}/", body, note_id=nid, text=text)
                    with lock:
                        outcomes.append(o)
            finally:
                client.close()
        run_threads(RACERS, race)
        assert len(outcomes) == len(ops)

        unexpected = [o for o in outcomes if o.status not in (200, 404)]
        assert not unexpected, f"round {round_no}: {unexpected[:8]}\n{stack.diagnostics()}"
        for o in outcomes:
            if o.status == 404:
                assert o.json() == {"detail": "Note not found"}, o
            elif o.method == "DELETE":
                assert o.json() == {"message": f"Note with id: {o.note_id} deleted successfully!"}, o
            else:
                assert_note(o.json(), text=o.text, completed=True, note_id=o.note_id)

        by_note: dict[int, list[Outcome]] = {}
        for o in outcomes:
            by_note.setdefault(o.note_id, []).append(o)
        rows = {int(i): t for i, t in stack.db.query(
            "SELECT id, text FROM notes WHERE id IN (%s)" % ",".join(str(n["id"]) for n in notes))}
        for nid, mine in by_note.items():
            puts = [o for o in mine if o.method == "PUT"]
            if nid in doomed:
                deletes = [o for o in mine if o.method == "DELETE"]
                ok = [o for o in deletes if o.status == 200]
                assert len(ok) == 1, f"note {nid}: exactly one DELETE succeeds: {deletes}"
                (gone,) = ok
                assert nid not in rows, f"note {nid} was deleted (200) yet exists: {rows[nid]!r}"
                for o in mine:
                    if o is gone:
                        continue
                    if o.started > gone.finished:
                        assert o.status == 404, f"note {nid}: {o} sent after {gone} answered"
                    if o.status == 404:
                        assert gone.started < o.finished, f"note {nid}: {o} answered 404 before {gone} was sent"
                put_404 += sum(o.status == 404 for o in puts)
            else:
                kept_total += 1
                assert all(o.status == 200 for o in puts), f"note {nid} was never deleted: {puts}"
                # The final text is one a PUT wrote, and no answered PUT began after that PUT's answer.
                last = [p for p in puts if not any(q.started > p.finished for q in puts)]
                assert rows.get(nid) in {p.text for p in last}, \
                    f"note {nid}: final text {rows.get(nid)!r}, last writers {last}"
    all_rows, _done, _open = assert_totals_agree(stack)
    assert all_rows == kept_total == ROUNDS * NOTES_PER_ROUND // 2
    print(f"put/delete: {ROUNDS} rounds, {kept_total} notes kept, PUTs that lost the race to a DELETE "
          f"(404): {put_404}")

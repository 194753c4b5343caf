"""Requests that reach one worker at once are each answered exactly as if they had been alone.

A worker takes the requests that are ready on its FastCGI connections in one wake-up and sends their
statements to PostgreSQL together (libpq pipeline mode: consecutive reads share one Sync, each write is a
transaction of its own; docs/ARCHITECTURE.md). A client must not be able to tell it from a worker serving them
one by one: these tests pin down the behaviour, not the mechanism, and pass against both.

How the requests are made to arrive at once: the pool has one worker, so every connection is its; it is
stopped (SIGSTOP) while a complete request is written on each of 12 connections, all with FCGI_KEEP_CONN, and
continued (SIGCONT) once they are all written. When it resumes, every request is already in its sockets: in the
listening socket's backlog in the first round, on the connections it keeps, ready in its epoll set together,
in the later rounds.

What each round pins down, and what a broken batching would break:

- Each connection gets its own answer: every request is different (notes of their own texts, a missing id,
  creates of unique texts, updates of notes no other request of the round reads), every connection uses its
  own FastCGI request id (another each round), and which kind of request a connection carries changes from
  round to round. An answer written to the wrong connection has the wrong request id or the wrong content.
- No answer is lost or doubled: exactly one END_REQUEST (FCGI_REQUEST_COMPLETE) per request, as the last
  record, and nothing more arrives on any connection once the round is answered.
- A statement that fails in the database does not leak into its neighbours: two articles for missing authors
  (the foreign key refuses each: 404) sit in the middle of the round, with writes before and after them. Those writes answer 2xx and are in the
  database afterwards (one transaction for the whole round would have rolled back those before the failure,
  and refused those after it).
- Every write is applied exactly once: each create is one row (a create without REQUEST_ID too, where a
  statement run twice would make two), each update's text is stored, a deleted note is gone, and a request
  refused by validation (422) changes nothing.
- Kept connections go on serving after a round: three rounds on the same connections.

A write's RETURNING row arrives before its commit, which can still fail: a create refused at commit by a
deferred constraint trigger answers 500 and is not stored, and the creates after it in the same round are
(answering a write before its Sync came back made the first one 201 with a row that does not exist).

Then the database session of the worker is terminated while it is stopped, and a round of reads and one
update arrives on the dead session: the worker sees that the server closed the connection before it sends
anything (docs/DATABASE.md), so every request of the round answers on a new connection, the update included
(200, stored, once); the next round on the same connections all succeeds. (A worker that sent the round on the
dead session would answer its update with the outage 503: a write is never resent.)

No timing is asserted: every wait is bounded.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Optional

import pytest

from harness.api import AUTHOR_MISSING, create_article, create_author
from harness.assertions import assert_json, assert_not_found, assert_note, assert_validation, total_count
from harness.contract import MAX_ID
from harness.fastcgi import (FCGI_END_REQUEST, FCGI_KEEP_CONN, FCGI_REQUEST_COMPLETE, FCGI_STDIN, begin, http_answer,
                             params_stream, parse_records, record, records, request_params)
from harness.fastcgi_client import Peer
from harness.http import Response
from harness.processes import CRASH_MARKERS, proc_stat, wait_until
from harness.stack import Stack

CONNECTIONS = 12
ROUNDS = 3
# How long each answer may take (bounded, never asserted on), and how long a round's connections are watched
# for anything more once every answer arrived.
ANSWER_WAIT = 30
QUIET_WAIT = 0.5


# ---------------------------------------------------------------------------------------------- fixtures


@dataclass
class Batches:
    stack: Stack
    worker: int
    anchors: list  # the first two notes by id, never changed: GET /notes/?skip=0&take=2 answers them


@pytest.fixture(scope="module")
def batches(module_launcher) -> Batches:
    """One worker on a unix socket (nginx in front, for the test's own set-up and checks), and the two notes
    that open the list."""
    stack = module_launcher.stack("batches", workers=1)
    (worker,) = stack.supervisor.wait_ready()
    anchors = [stack.client.create_note(f"anchor {i} {tag()}") for i in range(2)]
    assert assert_json(stack.client.get("/notes/?skip=0&take=2"), 200) == anchors
    return Batches(stack, worker, anchors)


# ---------------------------------------------------------------------------------------------- helpers


def tag() -> str:
    return f"batch-{uuid.uuid4().hex[:12]}"


@dataclass
class Call:
    """One request of a round, what its answer must be (``check``), and what the database must hold once the
    round is answered (``after``)."""
    method: str
    path: str
    check: Callable[[Response], None]
    body: Optional[dict] = None
    params: Optional[dict] = None
    after: Optional[Callable[[], None]] = None

    def encode(self, request_id: int) -> bytes:
        """The request as nginx sends it, with FCGI_KEEP_CONN, under ``request_id``."""
        body = json.dumps(self.body).encode() if self.body is not None else b""
        params = (request_params(self.method, self.path, str(len(body)) if body else "",
                                 "application/json" if body else None)
                  | {"QUERY_STRING": self.path.partition("?")[2]} | (self.params or {}))
        return (begin(request_id, flags=FCGI_KEEP_CONN) + params_stream(params, request_id)
                + records(FCGI_STDIN, request_id, body) + record(FCGI_STDIN, request_id))


@contextmanager
def stopped(pid: int):
    """The worker stopped (SIGSTOP) for the block, continued after it whatever happens."""
    os.kill(pid, signal.SIGSTOP)
    try:
        wait_until(lambda: (proc_stat(pid) or ("gone",))[0] == "T", 10, what=f"worker {pid} to stop")
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


def answer_of(peer: Peer, request_id: int) -> Response:
    """The one answer to ``request_id`` on a kept connection: its records all carry that id, END_REQUEST
    (request complete) comes once and last, and the connection stays open."""
    data, still_open = peer.read_answer(ANSWER_WAIT)
    got = parse_records(data)
    ends = [r for r in got if r.rtype == FCGI_END_REQUEST]
    assert len(ends) == 1 and got[-1] is ends[0], f"not one answer ending with END_REQUEST: {got}"
    assert all(r.version == 1 and r.request_id == request_id for r in got), \
        f"records of another request than {request_id}: {[(r.rtype, r.request_id) for r in got]}"
    assert ends[0].content[4] == FCGI_REQUEST_COMPLETE, ends[0]
    assert still_open, "the worker closed a connection the peer asked to keep"
    resp = http_answer(data, request_id)
    assert resp is not None, f"END_REQUEST without an answer: {got}"
    return resp


def assert_quiet(peers: list[Peer]) -> None:
    """Nothing more arrives on any connection (a second answer, one meant for another connection)."""
    readable, _, _ = select.select([p.sock for p in peers], [], [], QUIET_WAIT)
    extra = {i: p.sock.recv(300, socket.MSG_PEEK) for i, p in enumerate(peers) if p.sock in readable}
    assert not extra, f"data after the round's answers, by connection (b'' is a close): {extra}"


def run_round(batches: Batches, peers: list[Peer], calls: list[Call], round_no: int, connect: bool = False,
              meanwhile: Optional[Callable[[], None]] = None) -> list[Response]:
    """Write every call while the worker is stopped (call k on connection (5k + round) mod N, in call order,
    each under a request id of its own), then read and check every answer, then the database.
    With ``connect`` the connections are opened while the worker is stopped, too; ``meanwhile`` runs while it
    is stopped, before anything is written."""
    n = len(calls)
    assert n == len(peers) or (connect and not peers)
    on = [(5 * k + round_no) % n for k in range(n)]
    assert sorted(on) == list(range(n)), "5 and the number of calls must be coprime"
    ids = [1000 * (round_no + 1) + on[k] for k in range(n)]
    with stopped(batches.worker):
        if meanwhile is not None:
            meanwhile()
        if connect:
            peers += [Peer(batches.stack.supervisor.fastcgi_target) for _ in range(n)]
        for k, call in enumerate(calls):
            assert peers[on[k]].send(call.encode(ids[k])), f"the worker closed connection {on[k]}"
    answers = []
    for k, call in enumerate(calls):
        what = f"round {round_no}, request {k} ({call.method} {call.path}) on connection {on[k]}"
        try:
            resp = answer_of(peers[on[k]], ids[k])
            call.check(resp)
        except AssertionError as e:
            raise AssertionError(f"{what}: {e}\n{batches.stack.diagnostics()}") from None
        answers.append(resp)
    assert_quiet(peers)
    for k, call in enumerate(calls):
        if call.after is not None:
            try:
                call.after()
            except AssertionError as e:
                raise AssertionError(f"round {round_no}, request {k} ({call.method} {call.path}), "
                                     f"in the database: {e}") from None
    return answers


def one_row(stack: Stack, sql: str) -> list[str]:
    rows = stack.db.query(sql)
    assert len(rows) == 1, f"{sql}: {rows}"
    return rows[0]


def assert_worker_unharmed(batches: Batches) -> None:
    sup = batches.stack.supervisor
    assert sup.worker_pids() == {batches.worker}, f"the worker was replaced:\n{sup.log()}"
    log = sup.log()
    for marker in CRASH_MARKERS:
        assert marker not in log, f"{marker!r} in the supervisor's log:\n{log}"


def close_all(peers: list[Peer]) -> None:
    for peer in peers:
        peer.close()


# ---------------------------------------------------------------------------------------------- a mixed round


def mixed_round(batches: Batches, blocked: dict, article: dict, round_no: int) -> list[Call]:
    """Twelve different requests, in the order they are written: reads, creates, updates, a missing note, a
    422, two statements that fail in the database (positions 4 and 8) with writes on both sides, the list,
    a delete. Their data is made here, through nginx, before the round."""
    stack, client = batches.stack, batches.stack.client
    readers = [client.create_note(f"reader {i} {tag()}", completed=i == 1) for i in range(2)]
    updated, refused, deleted = (client.create_note(f"{what} {tag()}") for what in ("updated", "refused", "deleted"))
    created_with_id, created_without = f"created with id {tag()}", f"created without id {tag()}"
    request_id = uuid.uuid4().hex
    new_text, refused_text = f"updated to {tag()}", f"never stored {tag()}"
    orphan_titles = [f"orphan {tag()}", f"orphan {tag()}"]
    missing_note = MAX_ID - round_no
    notes_before = int(one_row(stack, "SELECT count(*) FROM notes")[0])
    answered: dict = {}

    def same(expected: dict, status: int = 200) -> Callable[[Response], None]:
        return lambda resp: _equal(assert_json(resp, status), expected)

    def created(text: str, key: str) -> Callable[[Response], None]:
        def check(resp):
            answered[key] = assert_note(assert_json(resp, 201), text=text, completed=False)
        return check

    def created_once(text: str, key: str, request_id: Optional[str] = None) -> Callable[[], None]:
        def after():
            note = answered[key]
            assert stack.db.query(f"SELECT id, request_id IS NULL FROM notes WHERE text = '{text}'") == \
                [[str(note["id"]), "f" if request_id else "t"]], "not exactly one row, the answered one"
            if request_id:
                assert one_row(stack, f"SELECT id FROM notes WHERE request_id = '{request_id}'") == [str(note["id"])]
        return after

    def orphan(title: str, author_id: int) -> Call:
        return Call("POST", "/articles", lambda resp: assert_json(resp, 404, AUTHOR_MISSING),
                    {"title": title, "content": "c", "author_id": author_id},
                    after=lambda: _equal(stack.db.query(f"SELECT count(*) FROM articles WHERE title = '{title}'"),
                                         [["0"]]))

    def listed(resp):
        assert assert_json(resp, 200) == batches.anchors
        # any order of the round's two creates and one delete around the list
        assert notes_before - 1 <= total_count(resp) <= notes_before + 2, (notes_before, resp.headers)

    return [
        Call("GET", f"/notes/{readers[0]['id']}/", same(readers[0])),
        Call("POST", "/notes/", created(created_with_id, "with id"), {"text": created_with_id, "completed": False},
             params={"REQUEST_ID": request_id}, after=created_once(created_with_id, "with id", request_id)),
        Call("PUT", f"/notes/{updated['id']}/",
             lambda resp: assert_note(assert_json(resp, 200), text=new_text, completed=True, note_id=updated["id"]),
             {"text": new_text, "completed": True},
             after=lambda: _equal(stack.db.query(f"SELECT text, completed FROM notes WHERE id = {updated['id']}"),
                                  [[new_text, "t"]])),
        Call("GET", f"/notes/{missing_note}/", assert_not_found),
        orphan(orphan_titles[0], MAX_ID - 1),
        Call("POST", "/notes/", created(created_without, "without id"), {"text": created_without, "completed": False},
             after=created_once(created_without, "without id")),
        Call("PUT", f"/notes/{refused['id']}/",
             lambda resp: assert_validation(resp, ("missing", ["body", "completed"]),
                                            inputs={("body", "completed"): {"text": refused_text}}),
             {"text": refused_text},
             after=lambda: _equal(assert_json(client.get(f"/notes/{refused['id']}/"), 200), refused)),
        Call("GET", f"/notes/{readers[1]['id']}/", same(readers[1])),
        orphan(orphan_titles[1], MAX_ID),
        Call("GET", "/notes/?skip=0&take=2", listed),
        Call("DELETE", f"/notes/{deleted['id']}/",
             lambda resp: assert_json(resp, 200, {"message": f"Note with id: {deleted['id']} deleted successfully!"}),
             after=lambda: _equal(stack.db.query(f"SELECT count(*) FROM notes WHERE id = {deleted['id']}"), [["0"]])),
        Call("GET", f"/authors/{blocked['id']}", same(blocked)),
    ]


def _equal(got, expected) -> None:
    assert got == expected, f"expected {expected!r}, got {got!r}"


def test_requests_arriving_together_are_each_answered_as_if_alone(batches):
    """Three rounds of twelve different requests on the same twelve kept connections: the first on new
    connections, the next two on kept ones. Each answer is its own request's, exactly once; the failures in
    the database stay with their requests; every write is in the database once; the connections stay open."""
    client = batches.stack.client
    blocked = create_author(client, "Blocked", tag())
    article = create_article(client, blocked["id"], f"keeps its author {tag()}")
    peers: list[Peer] = []
    try:
        for round_no in range(ROUNDS):
            calls = mixed_round(batches, blocked, article, round_no)
            assert len(calls) == CONNECTIONS
            run_round(batches, peers, calls, round_no, connect=round_no == 0)
    finally:
        close_all(peers)
    assert assert_json(client.get(f"/authors/{blocked['id']}"), 200) == blocked
    assert assert_json(client.get(f"/articles/{article['id']}"), 200) == article
    assert_worker_unharmed(batches)


# ---------------------------------------------------------------------------------------------- a lost session


@pytest.mark.parametrize("update_at", [0, 3], ids=["update-first", "update-amid-reads"])
def test_requests_arriving_together_on_a_terminated_session(batches, update_at):
    """Kept connections; the worker's database session is terminated while it is stopped, then six reads of
    six notes and one update (written first, or fourth) arrive together on it. The worker sees the closed
    session before it sends anything: every read answers 200 with its own note and the update 200, stored once,
    all on a new session. The next round on the same connections all succeeds, and the same worker, on that new
    session, serves it."""
    client, db, worker = batches.stack.client, batches.stack.db, batches.worker
    notes = [client.create_note(f"read on a lost session {i} {tag()}", completed=i % 2 == 0) for i in range(6)]
    target = client.create_note(f"updated on a lost session {tag()}")
    stored = lambda: db.query(f"SELECT text, completed FROM notes WHERE id = {target['id']}")

    def reads() -> list[Call]:
        return [Call("GET", f"/notes/{note['id']}/", lambda resp, note=note: _equal(assert_json(resp, 200), note))
                for note in notes]

    def update(text: str) -> Call:
        return Call("PUT", f"/notes/{target['id']}/",
                    lambda resp: assert_note(assert_json(resp, 200), text=text, completed=True, note_id=target["id"]),
                    {"text": text, "completed": True}, after=lambda: _equal(stored(), [[text, "t"]]))

    peers: list[Peer] = []
    try:
        # The connections, kept by the worker after a first round.
        run_round(batches, peers, reads() + [Call("GET", f"/notes/{target['id']}/",
                                                  lambda resp: _equal(assert_json(resp, 200), target))],
                  0, connect=True)
        backend = wait_until(lambda: db.worker_backends().get(worker), 20, what="the worker's session")

        def terminate():
            assert db.query(f"SELECT pg_terminate_backend({backend})") == [["t"]]
            wait_until(lambda: backend not in db.worker_backends().values(), 20,
                       what="the terminated session to end")

        lost_text = f"sent on a lost session {tag()}"
        calls = reads()
        calls.insert(update_at, update(lost_text))
        run_round(batches, peers, calls, 1, meanwhile=terminate)

        again = f"sent again {tag()}"
        calls = reads()
        calls.insert(update_at, update(again))
        run_round(batches, peers, calls, 2)
    finally:
        close_all(peers)
    assert_worker_unharmed(batches)
    now = db.worker_backends()
    assert worker in now and now[worker] != backend, f"the worker has no new session: {now}"


# ---------------------------------------------------------------------------------------------- a commit that fails

REFUSED = "refused at commit"


def test_a_write_whose_commit_fails_is_not_answered_as_done(batches):
    """A write's rows arrive before its commit, and the commit can still fail: here a deferred constraint
    trigger (created by the test, dropped after it) refuses, at commit, every note whose text starts with
    "refused at commit". In a round with reads and other creates around them, each refused create answers 500
    (an operator's change to the database, not the client's fault) and is not in the database; the creates
    after it answer 201 and are there (the worker's session was not given up for it); the reads answer 200."""
    client, db = batches.stack.client, batches.stack.db
    db.query("""
        CREATE FUNCTION refuse_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.text LIKE 'refused at commit%' THEN RAISE EXCEPTION 'refused at commit'; END IF;
            RETURN NULL;
        END $$;
        CREATE CONSTRAINT TRIGGER refuse_at_commit AFTER INSERT ON notes DEFERRABLE INITIALLY DEFERRED
            FOR EACH ROW EXECUTE FUNCTION refuse_at_commit();
    """)
    notes = [client.create_note(f"read around a refused commit {i} {tag()}") for i in range(3)]
    count_of = lambda text: one_row(batches.stack, f"SELECT count(*) FROM notes WHERE text = '{text}'")

    def read(note: dict) -> Call:
        return Call("GET", f"/notes/{note['id']}/", lambda resp: _equal(assert_json(resp, 200), note))

    def create(text: str, refused: bool, request_id: Optional[str]) -> Call:
        def check(resp):
            if refused:
                assert_json(resp, 500, {"detail": "Internal Server Error"})
            else:
                assert_note(assert_json(resp, 201), text=text, completed=False)
        return Call("POST", "/notes/", check, {"text": text, "completed": False},
                    params={"REQUEST_ID": request_id} if request_id else None,
                    after=lambda: _equal(count_of(text), ["0" if refused else "1"]))

    calls = [read(notes[0]),
             create(f"{REFUSED} {tag()}", True, uuid.uuid4().hex),
             create(f"committed after a refused commit {tag()}", False, uuid.uuid4().hex),
             read(notes[1]),
             create(f"{REFUSED} {tag()}", True, None),
             create(f"committed after a refused commit {tag()}", False, None),
             read(notes[2])]
    peers: list[Peer] = []
    try:
        run_round(batches, peers, calls, 0, connect=True)
    finally:
        close_all(peers)
        db.query("DROP TRIGGER refuse_at_commit ON notes; DROP FUNCTION refuse_at_commit()")
    assert_worker_unharmed(batches)

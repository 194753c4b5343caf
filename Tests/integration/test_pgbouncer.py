"""The service behind PgBouncer in transaction pooling (docs/DATABASE.md).

Debian's pgbouncer (1.18) with pool_mode = transaction and default_pool_size = 2 in front of a PostgreSQL server
on TCP; four workers log in to PgBouncer with DATABASE_PREPARED_STATEMENTS=off, so each statement is sent
unnamed (PgBouncer 1.18 hands every transaction to any of its server connections, where a statement prepared
on another one does not exist). The migrations run directly against PostgreSQL: their session advisory lock
needs a session, which transaction pooling does not keep.
"""

import threading

import pytest

from harness.assertions import (assert_article, assert_author, assert_json, assert_load_clean, assert_no_content,
                                assert_not_found, assert_note, assert_status, assert_validation, total_count)
from harness.pgbouncer import BouncedDatabase, PgBouncer
from harness.pgserver import APP_USER, pg_server
from harness.processes import wait_until
from harness.supervisor import SupervisorOptions

WORKERS = 4
POOL_SIZE = 2
AUTHOR_MISSING = {"detail": "Author does not exist"}
ARTICLE_MISSING = {"detail": "Article does not exist"}


@pytest.fixture(scope="module")
def pooled(module_launcher):
    """(stack, database, pgbouncer): PostgreSQL, PgBouncer in front of it, and the service through PgBouncer."""
    server = pg_server(module_launcher, "pg-pooled")
    bouncer = module_launcher.add(PgBouncer(module_launcher.tmp_root / "pgbouncer", server, pool_size=POOL_SIZE))
    bouncer.start()
    name = server.create_database().name
    db = BouncedDatabase(server, name, bouncer)
    # statement_timeout for pooled sessions goes on the role: a SET on connect would reach one server connection
    server.query(f"ALTER ROLE {APP_USER} IN DATABASE \"{name}\" SET statement_timeout = '20s'")
    stack = module_launcher.stack("pooled", db=db, migrate_url=db.direct_url, workers=WORKERS,
                                  supervisor_options=SupervisorOptions(env={"DATABASE_PREPARED_STATEMENTS": "off"}))
    return stack, db, bouncer


@pytest.fixture(scope="module")
def api(pooled):
    return pooled[0].client


def test_the_workers_are_clients_of_pgbouncer_not_of_postgresql(pooled):
    stack, db, bouncer = pooled
    pids = stack.supervisor.wait_ready()
    assert set(db.worker_backends()) == pids and len(pids) == WORKERS, (db.worker_backends(), pids)
    # four clients of PgBouncer, at most two connections to the server
    assert db.server_backends() <= POOL_SIZE, db.query("SELECT pid, application_name, state FROM pg_stat_activity")
    # the schema is there: the migrations ran straight against PostgreSQL (the stack's migrate_url)
    assert db.query("SELECT count(*) > 0 FROM schema_migrations") == [["t"]]


def test_health_status_and_openapi(pooled, api):
    for _ in range(2 * WORKERS):  # every worker answers, whichever server connection it gets
        assert_json(api.get("/healthz"), 200, {"status": "ok"})
    status = assert_status(pooled[0].status())
    assert status["workers"]["total"] == WORKERS, status["workers"]
    doc = assert_json(api.get("/openapi.json"), 200)
    assert doc["openapi"].startswith("3.1"), doc["openapi"]


def test_notes_crud_paging_filter_and_patch(api):
    created = [assert_note(assert_json(api.post("/notes/", {"text": f"pooled {i}", "completed": i % 2 == 0}), 201),
                           text=f"pooled {i}") for i in range(8)]
    for note in created:  # the 4 workers over 2 server connections, statement after statement
        assert assert_json(api.get(f"/notes/{note['id']}/"), 200) == note

    resp = api.get("/notes/?skip=2&take=3")
    page = assert_json(resp, 200)
    assert [n["id"] for n in page] == [n["id"] for n in created[2:5]] and total_count(resp) == 8
    resp = api.get("/notes/?completed=true&take=100")
    done = assert_json(resp, 200)
    assert [n["id"] for n in done] == [n["id"] for n in created if n["completed"]] and total_count(resp) == 4
    assert total_count(api.get("/notes/?completed=false")) == 4

    first = created[0]
    put = assert_note(assert_json(api.put(f"/notes/{first['id']}/", {"text": "replaced", "completed": False}), 200),
                      text="replaced", completed=False, note_id=first["id"])
    patched = assert_note(assert_json(api.patch(f"/notes/{first['id']}/", {"completed": True}), 200),
                          text="replaced", completed=True, note_id=first["id"])
    assert patched["updated_at"] >= put["updated_at"]
    assert assert_json(api.patch(f"/notes/{first['id']}/", {}), 200) == patched
    assert assert_json(api.get(f"/notes/{first['id']}/"), 200) == patched

    assert_json(api.delete(f"/notes/{first['id']}/"), 200,
                {"message": f"Note with id: {first['id']} deleted successfully!"})
    assert_not_found(api.get(f"/notes/{first['id']}/"))
    assert_not_found(api.delete(f"/notes/{first['id']}/"))
    assert_validation(api.get("/notes/abc/"), ("int_parsing", ["path", "note_id"]))
    assert_validation(api.post("/notes/", {"completed": True}), ("missing", ["body", "text"]))
    assert total_count(api.get("/notes/")) == 7


def test_authors_and_articles_with_their_404_and_422_and_the_cascade(api):
    author = assert_author(assert_json(api.post("/authors", {"first_name": "Pooled", "last_name": "Writer"}), 201),
                           first_name="Pooled", last_name="Writer")
    assert assert_json(api.get(f"/authors/{author['id']}"), 200) == author
    resp = api.get("/authors?skip=0&take=100")
    assert author in assert_json(resp, 200) and total_count(resp) >= 1

    article = assert_article(assert_json(api.post("/articles", {"title": "T", "content": "C",
                                                                "author_id": author["id"]}), 201),
                             title="T", content="C", author_id=author["id"])
    assert assert_json(api.get(f"/articles/{article['id']}"), 200) == article
    resp = api.get("/articles?take=100")
    assert article in assert_json(resp, 200) and total_count(resp) >= 1

    missing = author["id"] + 1_000_000
    assert_json(api.post("/articles", {"title": "T", "content": "C", "author_id": missing}), 404, AUTHOR_MISSING)
    assert_json(api.get(f"/authors/{missing}"), 404, AUTHOR_MISSING)
    assert_validation(api.post("/articles", {"title": "T", "content": "C", "author_id": "one"}),
                      ("int_parsing", ["body", "author_id"]))
    assert_no_content(api.delete(f"/authors/{author['id']}"))
    assert_json(api.get(f"/articles/{article['id']}"), 404, ARTICLE_MISSING)
    assert_json(api.get(f"/authors/{author['id']}"), 404, AUTHOR_MISSING)


def test_concurrent_load_shares_two_server_connections_without_a_failure(pooled, launcher):
    """Eight client connections over four workers over two server connections: not one failure, and the server
    never sees more than the pool's two connections for the service's role while all four workers are logged in
    to PgBouncer."""
    stack, db, bouncer = pooled
    pids = stack.supervisor.wait_ready()
    samples: list[tuple[int, int, int]] = []  # (server backends, PgBouncer server connections, clients waiting)
    stop = threading.Event()
    # Two sessions kept open, so that sampling is quick: the server's pg_stat_activity, PgBouncer's SHOW POOLS.
    on_server = launcher.psql(db.cluster.socket_url(db.name))
    on_bouncer = launcher.psql(bouncer.admin_url())
    columns = list(bouncer.show("POOLS")[0])

    def sample():
        while not stop.is_set():
            (backends,), = on_server.execute("SELECT count(*) FROM pg_stat_activity "
                                             f"WHERE datname = '{db.name}' AND usename = '{APP_USER}'")
            pools = [dict(zip(columns, row)) for row in on_bouncer.execute("SHOW POOLS")]
            pool = next((p for p in pools if p["database"] == db.name), None)
            in_pool = sum(int(pool[k]) for k in ("sv_active", "sv_idle", "sv_used", "sv_tested", "sv_login")) \
                if pool else 0
            samples.append((int(backends), in_pool, int(pool["cl_waiting"]) if pool else 0))

    sampler = threading.Thread(target=sample, name="pool-sampler", daemon=True)
    sampler.start()
    try:
        load = stack.load(connections=8, max_requests=800, mix=("post", "get", "put", "list", "get"))
        wait_until(lambda: not load.running(), 120, interval=0.2, what="the load to finish")
        report = load.stop()
    finally:
        stop.set()
        sampler.join(30)

    assert_load_clean(report, stack.diagnostics() + "\n--- pgbouncer\n" + bouncer.log_text())
    assert report.total == 800
    assert samples, "no sample of the pool was taken"
    assert max(s[0] for s in samples) <= POOL_SIZE, f"more server backends than the pool: {samples}"
    assert max(s[1] for s in samples) <= POOL_SIZE, f"PgBouncer opened more than its pool: {samples}"
    assert max(s[0] for s in samples) >= 1, f"the server never saw PgBouncer's connections: {samples}"
    assert set(db.worker_backends()) == pids and len(pids) == WORKERS  # all four logged in all along
    print(f"\npgbouncer: {report.total} requests, {len(samples)} samples, at most {max(s[0] for s in samples)} "
          f"server backends, at most {max(s[2] for s in samples)} clients waiting for one")

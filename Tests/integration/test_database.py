"""Migrations, configuration errors and database failures (503 and reconnection without a worker restart)."""

import re
import subprocess
from pathlib import Path

import pytest

from harness.assertions import assert_json, assert_note
from harness.postgres import migrate
from harness.processes import CRASH_MARKERS, child_env, wait_until

PASSWORD = "S3cretPw-do-not-print"
DB_DOWN = {"detail": "Database unavailable"}


def migrations(db):
    return db.query("SELECT version, name, applied_at FROM schema_migrations ORDER BY version")


# ---------------------------------------------------------------------------------------------- migrate


@pytest.mark.parametrize("round_", range(3))
def test_concurrent_migrations_both_succeed_and_apply_each_once(bin_dir, fresh_db, round_):
    env = child_env(DATABASE_URL=fresh_db.url)
    procs = [subprocess.Popen([str(bin_dir / "notes-worker"), "migrate"], env=env, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=60) for p in procs]
    results = [(p.returncode, out, err) for p, (out, err) in zip(procs, outputs)]
    for code, out, err in results:
        assert code == 0, f"migrate exited {code}\nstdout: {out}\nstderr: {err}"
    rows = migrations(fresh_db)
    assert rows, "no migration recorded"
    versions = [r[0] for r in rows]
    assert len(versions) == len(set(versions)), f"a migration was recorded twice: {rows}"
    assert all(r[1] and r[2] for r in rows), rows
    # "one line per applied migration": across both runs, each migration is reported applied exactly once
    output = "".join(out + err for _, out, err in results)
    for _version, name, _at in rows:
        assert output.count(name) == 1, f"migration {name} reported {output.count(name)} times:\n{output}"

    again = migrate(bin_dir, fresh_db.url)
    for _version, name, _at in rows:
        assert name not in again.stdout + again.stderr, f"nothing left to apply, yet:\n{again.stderr}"
    assert migrations(fresh_db) == rows


def test_migrated_database_serves(launcher, fresh_db, bin_dir):
    out = migrate(bin_dir, fresh_db.url)
    for _version, name, _at in migrations(fresh_db):
        assert name in out.stdout + out.stderr, f"applied migration {name} not reported: {out}"
    w = launcher.worker(fresh_db.url)
    w.wait_connected(fresh_db)


UNREACHABLE = [
    ("uri", {"DATABASE_URL": f"postgresql://notes:{PASSWORD}@127.0.0.1:1/notes"}, "127.0.0.1"),
    ("keyvalue", {"DATABASE_URL": f"host=127.0.0.1 port=1 dbname=notes user=notes password={PASSWORD}"},
     "127.0.0.1"),
    ("pgvars", {"PGHOST": "127.0.0.1", "PGPORT": "1", "PGUSER": "notes", "PGPASSWORD": PASSWORD,
                "PGDATABASE": "notes"}, "127.0.0.1"),
    ("localhost", {"DATABASE_URL": f"postgresql://notes:{PASSWORD}@localhost:1/notes"}, "localhost"),
]


@pytest.mark.parametrize("env,host", [(e, h) for _, e, h in UNREACHABLE], ids=[i for i, _, _ in UNREACHABLE])
def test_unreachable_database_gives_one_line_naming_host_and_port(bin_dir, env, host):
    result = migrate_with(bin_dir, env)
    assert result.returncode != 0
    lines = [l for l in result.stderr.splitlines() if l.strip()]
    assert len(lines) == 1, f"expected one line on stderr, got:\n{result.stderr}"
    line = lines[0]
    assert host in line, line
    assert re.search(r"port\W{0,3}1\b|:1\b", line), f"port 1 not named: {line}"
    assert PASSWORD not in result.stderr and PASSWORD not in result.stdout
    for marker in CRASH_MARKERS:
        assert marker not in result.stderr, result.stderr


def migrate_with(bin_dir, env):
    return subprocess.run([str(bin_dir / "notes-worker"), "migrate"], env=child_env(**env), stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)


def test_check_statements_prepares_every_statement_against_the_schema(bin_dir, migrated_db, fresh_db):
    """Workers prepare a statement on their connection when it first runs (issue 17), so a statement PostgreSQL
    refuses would show only when a request needs it: `notes-worker check-statements` prepares every one of them
    against the schema, which is what proves them before a release; behind the schema it refuses to start."""
    checked = subprocess.run([str(bin_dir / "notes-worker"), "check-statements"], env=child_env(DATABASE_URL=migrated_db.url),
                             stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    output = checked.stdout + checked.stderr
    assert checked.returncode == 0, output
    prepared = re.search(r"all (\d+) statements prepared", output)
    assert prepared and int(prepared[1]) > 90, output
    behind = subprocess.run([str(bin_dir / "notes-worker"), "check-statements"], env=child_env(DATABASE_URL=fresh_db.url),
                            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    assert behind.returncode == 1, behind.stdout + behind.stderr
    assert "schema" in behind.stdout + behind.stderr


# ---------------------------------------------------------------------------------------------- 503 and recovery


def requests_of_every_kind(client, note_id):
    body = {"text": "during outage", "completed": True}
    return [
        ("list", client.get("/notes/")),
        ("get", client.get(f"/notes/{note_id}/")),
        ("create", client.post("/notes/", body)),
        ("update", client.put(f"/notes/{note_id}/", body)),
        ("delete", client.delete(f"/notes/{note_id}/")),
    ]


def until_all_succeed(client, workers, bound):
    """Send requests until 3*workers succeed in a row; every other answer must be the 503. Returns the statuses."""
    statuses, streak = [], 0
    for _ in range(bound):
        resp = client.get("/notes/?take=1")
        statuses.append(resp.status)
        if resp.status == 200:
            streak += 1
            if streak >= 3 * workers:
                return statuses
        else:
            assert_json(resp, 503, DB_DOWN)
            streak = 0
    raise AssertionError(f"no recovery within {bound} requests: {statuses}")


def test_database_outage_gives_503_and_workers_recover_without_restart(launcher):
    cluster = launcher.cluster_at("pg-outage")
    stack = launcher.stack("outage", workers=2, db=cluster.create_database())
    sup, client = stack.supervisor, stack.client
    pids = sup.wait_ready()
    note = client.create_note("survives the outage", True)

    cluster.stop()
    for _ in range(3):
        for label, resp in requests_of_every_kind(client, note["id"]):
            assert resp.status == 503, f"{label} with the database down: {resp!r}\n{stack.diagnostics()}"
            assert_json(resp, 503, DB_DOWN)
    # client mistakes are still answered without the database
    assert_json(client.get("/notes/abc/"), 422)
    assert sup.worker_pids() == pids, f"workers must not die when the database does\n{sup.log()}"

    cluster.start()
    wait_until(lambda: client.get("/notes/").status == 200, 30, interval=0.2, what="the first success")
    until_all_succeed(client, stack.workers, 40)
    assert assert_json(client.get(f"/notes/{note['id']}/"), 200) == note
    assert_note(assert_json(client.post("/notes/", {"text": "after", "completed": False}), 201), text="after")
    assert sup.worker_pids() == pids, sup.log()
    assert not re.search(r"\b(exited|killed)\b", sup.log()), sup.log()
    assert set(stack.db.worker_backends()) <= pids


def test_terminated_connections_are_reopened_without_restart(launcher):
    stack = launcher.stack("terminated", workers=2)
    sup, client, db = stack.supervisor, stack.client, stack.db
    pids = sup.wait_ready()
    old = db.worker_backends()
    assert set(old) == pids
    client.create_note("x")
    killed = db.cluster.query(
        f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{db.name}' "
        "AND application_name LIKE 'notes-worker-%'")
    assert len(killed) == len(pids)
    wait_until(lambda: not set(db.worker_backends().values()) & set(old.values()), 15,
               what="the terminated backends to go")

    statuses = until_all_succeed(client, stack.workers, 10 * stack.workers + 10)
    assert statuses.count(503) <= stack.workers, f"more than one 503 per worker: {statuses}"
    assert sup.worker_pids() == pids, sup.log()
    assert not re.search(r"\b(exited|killed)\b", sup.log()), sup.log()
    now = db.worker_backends()
    assert now and set(now) <= pids and not set(now.values()) & set(old.values()), (old, now)


# ---------------------------------------------------------------------------------------------- totals


def assert_totals_match_rows(client, db):
    """X-Total-Count of every notes list (triggers keep the totals, migration 0003) equals count(*)."""
    for query, where in [("", "true"), ("?completed=true", "completed"), ("?completed=false", "NOT completed")]:
        resp = client.get(f"/notes/{query}")
        assert resp.status == 200, resp
        rows = int(db.query(f"SELECT count(*) FROM notes WHERE {where}")[0][0])
        assert resp.header("X-Total-Count") == str(rows), f"/notes/{query}: {resp.header('X-Total-Count')} != {rows}"


def test_note_totals_follow_every_kind_of_change(launcher):
    stack = launcher.stack("totals", workers=2)
    client, db = stack.client, stack.db
    stack.supervisor.wait_ready()
    assert_totals_match_rows(client, db)
    notes = [client.create_note(f"n{i}", completed=i % 3 == 0) for i in range(12)]
    assert_totals_match_rows(client, db)
    for note in notes[:4]:
        assert client.patch(f"/notes/{note['id']}/", json_body={"completed": not note["completed"]}).status == 200
    assert client.put(f"/notes/{notes[5]['id']}/", json_body={"text": "t", "completed": True}).status == 200
    assert client.patch(f"/notes/{notes[6]['id']}/", json_body={"text": "only the text"}).status == 200
    for note in notes[8:]:
        assert client.delete(f"/notes/{note['id']}/").status == 200
    assert_totals_match_rows(client, db)
    # Changes that bypass the API, made by an operator or a bulk import, are counted too.
    db.query("INSERT INTO notes (text, completed) SELECT 'bulk ' || g, g % 2 = 0 FROM generate_series(1, 500) g")
    db.query("UPDATE notes SET completed = NOT completed WHERE id % 7 = 0")
    db.query("DELETE FROM notes WHERE id % 5 = 0")
    assert_totals_match_rows(client, db)
    db.query("TRUNCATE notes")
    assert_totals_match_rows(client, db)
    assert client.get("/notes/").header("X-Total-Count") == "0"
    client.create_note("after truncate", completed=True)
    assert_totals_match_rows(client, db)


def test_totals_migration_counts_the_notes_that_exist(bin_dir, fresh_db):
    # The database as the previous release left it: migrations 0001 and 0002 applied, notes stored.
    folder = Path(__file__).resolve().parents[2] / "Sources" / "NotesStore" / "Migrations"
    previous = sorted(folder.glob("000[12]_*.sql"))
    fresh_db.query("CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL, "
                   "applied_at timestamptz NOT NULL DEFAULT now())")
    for number, path in enumerate(previous, start=1):
        fresh_db.query(path.read_text())
        fresh_db.query(f"INSERT INTO schema_migrations (version, name) VALUES ({number}, '{path.name}')")
    fresh_db.query("INSERT INTO notes (text, completed) SELECT 'old ' || g, g % 4 = 0 FROM generate_series(1, 99) g")

    out = migrate(bin_dir, fresh_db.url)
    assert "0003_keep_note_totals.sql" in out.stdout + out.stderr, out
    assert fresh_db.query("SELECT sum(notes), sum(completed) FROM note_totals") == [["99", "24"]]


def test_migrate_prefers_migration_database_url(bin_dir, fresh_db):
    # Behind a transaction-mode pooler DATABASE_URL names the pooler; migrations need one real session.
    pooler = "postgresql://notes@127.0.0.1:1/notes?connect_timeout=1"
    out = run_migrate(bin_dir, DATABASE_URL=pooler, MIGRATION_DATABASE_URL=fresh_db.url)
    assert out.returncode == 0, out
    assert migrations(fresh_db), "nothing was migrated"
    assert run_migrate(bin_dir, DATABASE_URL=pooler).returncode != 0, "DATABASE_URL alone was not used"


def run_migrate(bin_dir, **env):
    return subprocess.run([str(bin_dir / "notes-worker"), "migrate"], env=child_env(**env), capture_output=True,
                          text=True, timeout=60)

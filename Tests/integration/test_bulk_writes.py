"""Statements that write many notes at once (an import with INSERT ... SELECT, a bulk UPDATE of completed, a
bulk DELETE, COPY, a data-only restore) keep X-Total-Count exact, alone and beside concurrent API writers.

The totals follow each statement, not each row (migration 0005): a row-by-row upsert made a new version of
the writer's totals row per note, and each upsert walked the versions its transaction had made so far, so a
statement of N notes cost O(N²). What shows the difference without timing anything is how many versions of
the totals one statement writes, which PostgreSQL counts for the transaction in pg_stat_xact_user_tables: one
per statement, whatever its size (a thousand before).
"""

from __future__ import annotations

import random
import subprocess
import threading
from pathlib import Path

from harness.assertions import total_count
from harness.http import Client
from harness.postgres import Database, migrate
from harness.processes import child_env, run
from harness.stack import Stack

BULK = 1000


def psql_script(db: Database, script: str) -> list[list[str]]:
    """Runs a psql script (COPY data inline, as pg_dump writes it) in one session; the rows it prints."""
    out = run_with_input(["psql", "-X", "-q", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-d", db.url],
                         script)
    return [line.split("\t") for line in out.splitlines() if line != ""]


def run_with_input(cmd: list, text: str) -> str:
    result = subprocess.run(cmd, input=text, env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, timeout=300)
    assert result.returncode == 0, f"{cmd[0]} failed ({result.returncode}):\n{result.stderr}"
    return result.stdout


def totals_versions_of(db: Database, statement: str) -> int:
    """Runs ``statement`` in a transaction of its own and returns how many rows of note_totals it inserted or
    updated (pg_stat_xact_user_tables counts the transaction's own changes, read before it commits)."""
    rows = psql_script(db, f"""
        BEGIN;
        {statement}
        SELECT n_tup_ins + n_tup_upd FROM pg_stat_xact_user_tables WHERE relname = 'note_totals';
        COMMIT;
        """)
    return int(rows[-1][0])


def copy_script(rows: list[tuple[str, bool]]) -> str:
    data = "".join(f"{text}\t{'t' if completed else 'f'}\n" for text, completed in rows)
    return f"COPY notes (text, completed) FROM STDIN;\n{data}\\.\n"


def db_counts(stack: Stack) -> tuple[int, int]:
    (row,) = stack.db.query("SELECT count(*), count(*) FILTER (WHERE completed) FROM notes")
    return int(row[0]), int(row[1])


def assert_api_totals_exact(stack: Stack, client: Client | None = None) -> tuple[int, int]:
    """X-Total-Count of the list, unfiltered and per completed value, equals the rows in the database."""
    client = client or stack.client
    notes, done = db_counts(stack)
    assert total_count(client.get("/notes/?take=1")) == notes
    assert total_count(client.get("/notes/?take=1&completed=true")) == done
    assert total_count(client.get("/notes/?take=1&completed=false")) == notes - done
    return notes, done


def test_each_bulk_statement_keeps_the_totals_exact_with_one_change_of_them(launcher):
    stack = launcher.stack("bulk", workers=2)
    for i in range(10):
        stack.client.create_note(f"api {i}", completed=i % 2 == 0)
    assert assert_api_totals_exact(stack) == (10, 5)

    # An import from an old table, as one INSERT ... SELECT.
    stack.db.query("CREATE TABLE old_notes AS SELECT 'old ' || g AS text, g % 4 = 0 AS done "
                   f"FROM generate_series(1, {BULK}) g")
    versions = totals_versions_of(stack.db, "INSERT INTO notes (text, completed) SELECT text, done FROM old_notes;")
    assert assert_api_totals_exact(stack) == (10 + BULK, 5 + BULK // 4)
    assert versions == 1, f"one INSERT of {BULK} notes wrote {versions} versions of the totals"

    # A bulk UPDATE of completed: every imported note flips.
    versions = totals_versions_of(stack.db, "UPDATE notes SET completed = NOT completed WHERE text LIKE 'old %';")
    assert assert_api_totals_exact(stack) == (10 + BULK, 5 + BULK - BULK // 4)
    assert versions == 1, f"one UPDATE of {BULK} notes wrote {versions} versions of the totals"

    # An UPDATE that leaves completed as it was changes no total and writes none.
    versions = totals_versions_of(stack.db, "UPDATE notes SET text = text || '.' WHERE text LIKE 'old %';")
    assert assert_api_totals_exact(stack) == (10 + BULK, 5 + BULK - BULK // 4)
    assert versions == 0, versions

    # A bulk DELETE of half the imported notes, completed or not.
    versions = totals_versions_of(stack.db, "DELETE FROM notes WHERE text LIKE 'old %' AND id % 2 = 0;")
    notes, done = assert_api_totals_exact(stack)
    assert notes == 10 + BULK // 2, notes
    assert versions == 1, f"one DELETE of {BULK // 2} notes wrote {versions} versions of the totals"

    # COPY, as a restore or psql's \copy loads rows.
    rows = [(f"copied {i}", i % 3 == 0) for i in range(BULK)]
    versions = totals_versions_of(stack.db, copy_script(rows))
    assert assert_api_totals_exact(stack) == (notes + BULK, done + sum(c for _, c in rows))
    assert versions == 1, f"one COPY of {BULK} notes wrote {versions} versions of the totals"

    # One statement that inserts, updates and deletes (MERGE) is counted too.
    stack.db.query("""
        MERGE INTO notes USING (SELECT id, id % 3 AS k FROM notes WHERE text LIKE 'copied %') AS s
            ON notes.id = s.id
        WHEN MATCHED AND s.k = 0 THEN DELETE
        WHEN MATCHED AND s.k = 1 THEN UPDATE SET completed = NOT notes.completed""")
    stack.db.query("INSERT INTO notes (text, completed) SELECT 'again ' || g, true FROM generate_series(1, 10) g "
                   "UNION ALL SELECT text, done FROM old_notes")
    assert_api_totals_exact(stack)

    # The single-row writes of the API after all of it still add up.
    note = stack.client.create_note("after the bulk writes", completed=True)
    assert stack.client.patch(f"/notes/{note['id']}/", json_body={"completed": False}).status == 200
    assert stack.client.delete(f"/notes/{note['id']}/").status == 200
    assert_api_totals_exact(stack)


def test_updates_undone_by_a_savepoint_or_a_failed_block_count_for_nothing(launcher):
    """Flips of completed undone by a savepoint, or by a block that fails after its UPDATE (and its trigger) ran,
    count for nothing, and the flips around them in the same transaction count once."""
    stack = launcher.stack("flips", workers=1)
    stack.db.query("INSERT INTO notes (text, completed) SELECT 'n ' || g, g % 2 = 0 FROM generate_series(1, 100) g")
    assert assert_api_totals_exact(stack) == (100, 50)
    psql_script(stack.db, """
        BEGIN;
        UPDATE notes SET completed = true WHERE id <= 10;
        SAVEPOINT undone;
        UPDATE notes SET completed = NOT completed;
        ROLLBACK TO SAVEPOINT undone;
        DO $$
        BEGIN
            UPDATE notes SET completed = false;
            PERFORM 1 / 0;
        EXCEPTION WHEN division_by_zero THEN
            NULL;
        END
        $$;
        UPDATE notes SET completed = false WHERE id > 90;
        COMMIT;
        """)
    # ids 1-10 all completed (5 more), 91-100 none (5 fewer): 50 again, however the undone flips went.
    assert assert_api_totals_exact(stack) == (100, 50)
    stack.db.query("UPDATE notes SET completed = true WHERE id <= 30")
    assert assert_api_totals_exact(stack) == (100, 30 + 30)


def test_a_data_only_restore_counts_the_notes_it_loads(launcher):
    """pg_dump's data of notes (COPY ... FROM stdin) loaded into a database whose notes were emptied: the
    totals follow the restore as they follow any COPY."""
    stack = launcher.stack("restore", workers=1)
    stack.db.query("INSERT INTO notes (text, completed) SELECT 'n ' || g, g % 5 = 0 FROM generate_series(1, 3000) g")
    before = assert_api_totals_exact(stack)
    dump = run(["pg_dump", "--data-only", "--table=notes", "-d", stack.db.url], timeout=120).stdout
    assert "COPY public.notes" in dump
    stack.db.query("TRUNCATE notes")
    assert assert_api_totals_exact(stack) == (0, 0)
    psql_script(stack.db, dump)
    assert assert_api_totals_exact(stack) == before == (3000, 600)


def test_concurrent_bulk_and_api_writers_leave_exact_totals(launcher):
    """Two psql sessions run bulk INSERT ... SELECT, UPDATE of completed, DELETE and COPY in a loop, four API
    clients create, flip and delete notes one at a time, and a fifth session compares the totals with the rows
    in one snapshot again and again: every snapshot agrees, and so does X-Total-Count at the end."""
    stack = launcher.stack("bulk-race", workers=4)
    stack.db.query("INSERT INTO notes (text, completed) SELECT 'seed ' || g, g % 2 = 0 FROM generate_series(1, 2000) g")
    stop = threading.Event()
    errors: list[BaseException] = []
    disagreements: list[list[str]] = []
    snapshots = [0]

    def guarded(target):
        def body(*args):
            try:
                target(*args)
            except BaseException as e:  # reported in the test's thread
                errors.append(e)
                stop.set()
        return body

    def bulk_writer(n: int) -> None:
        for round_no in range(6):
            tag = f"bulk{n}-{round_no}"
            rows = [(f"{tag} copy {i}", i % 2 == 0) for i in range(500)]
            psql_script(stack.db, f"""
                INSERT INTO notes (text, completed)
                    SELECT '{tag} ' || g, g % 3 = 0 FROM generate_series(1, 800) g;
                UPDATE notes SET completed = NOT completed WHERE text LIKE '{tag} %' AND id % 2 = 0;
                BEGIN;
                DELETE FROM notes WHERE text LIKE '{tag} %' AND id % 3 = 0;
                {copy_script(rows)}
                COMMIT;
                DELETE FROM notes WHERE text LIKE 'bulk{n}-%' AND id % 7 = 0;
                """)

    def api_writer(n: int) -> None:
        client = Client(stack.nginx.port)
        rng = random.Random(n)
        mine: list[dict] = []
        for i in range(150):
            mine.append(client.create_note(f"api{n}-{i}", completed=rng.random() < 0.5))
            if i % 3 == 1:
                note = rng.choice(mine)
                resp = client.patch(f"/notes/{note['id']}/", json_body={"completed": not note["completed"]})
                assert resp.status in (200, 404), resp  # 404: a bulk DELETE of ids % 7 may not take it
                if resp.status == 200:
                    note["completed"] = not note["completed"]
            if i % 5 == 4:
                note = mine.pop(rng.randrange(len(mine)))
                assert client.delete(f"/notes/{note['id']}/").status in (200, 404)

    session = launcher.psql(stack.db.url)

    def watcher() -> None:
        # One statement, one snapshot: the totals and the rows it sees must agree exactly.
        while not stop.is_set():
            (row,) = session.execute(
                "SELECT (SELECT coalesce(sum(notes), 0) FROM note_totals), (SELECT count(*) FROM notes), "
                "(SELECT coalesce(sum(completed), 0) FROM note_totals), "
                "(SELECT count(*) FROM notes WHERE completed)")
            snapshots[0] += 1
            if row[0] != row[1] or row[2] != row[3]:
                disagreements.append(row)

    writers = ([threading.Thread(target=guarded(bulk_writer), args=(n,), daemon=True) for n in range(2)]
               + [threading.Thread(target=guarded(api_writer), args=(n,), daemon=True) for n in range(4)])
    watch = threading.Thread(target=guarded(watcher), daemon=True)
    watch.start()
    for t in writers:
        t.start()
    for t in writers:
        t.join(600)
    stop.set()
    watch.join(60)
    assert not any(t.is_alive() for t in writers + [watch]), "writers still running after 600 s"
    if errors:
        raise errors[0]
    assert not disagreements, f"snapshots where the totals and the rows differ: {disagreements[:5]}"
    assert snapshots[0] > 0
    notes, done = assert_api_totals_exact(stack)
    print(f"bulk race: {notes} notes ({done} completed) at the end, {snapshots[0]} snapshots compared")


def test_migrating_a_database_of_the_row_triggers_keeps_its_totals_exact(bin_dir, fresh_db, launcher):
    """A database as the previous release left it (migrations up to 0004, totals spread over several writers'
    shards), with a session inserting notes one at a time while it migrates: afterwards the row triggers are
    gone, the totals equal the rows, and one bulk statement writes one version of them."""
    folder = Path(__file__).resolve().parents[2] / "Sources" / "NotesStore" / "Migrations"
    fresh_db.query("CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL, "
                   "applied_at timestamptz NOT NULL DEFAULT now())")
    for path in sorted(folder.glob("000[1-4]_*.sql")):
        fresh_db.query(f"BEGIN; {path.read_text()}; "
                       f"INSERT INTO schema_migrations (version, name) VALUES ({int(path.name[:4])}, '{path.name}'); "
                       "COMMIT")
    for i in range(5):  # each psql is another backend, most likely another shard
        fresh_db.query(f"INSERT INTO notes (text, completed) SELECT 'old {i}-' || g, g % 3 = 0 "
                       "FROM generate_series(1, 200) g")
    assert int(fresh_db.query("SELECT count(*) FROM note_totals")[0][0]) > 1

    writer = launcher.psql(fresh_db.url)
    stop = threading.Event()
    written = [0]

    def write() -> None:
        while not stop.is_set():
            writer.execute("INSERT INTO notes (text, completed) VALUES ('during the migration', true)")
            written[0] += 1
    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    try:
        out = migrate(bin_dir, fresh_db.url)
    finally:
        stop.set()
        thread.join(60)
    assert "0005_keep_note_totals_per_statement.sql" in out.stdout + out.stderr, out
    assert written[0] > 0

    triggers = {r[0] for r in fresh_db.query(
        "SELECT tgname FROM pg_trigger WHERE tgrelid = 'notes'::regclass AND NOT tgisinternal")}
    assert triggers == {"note_totals_follow_inserts", "note_totals_follow_deletes", "note_totals_follow_updates",
                        "note_totals_follow_truncate"}, triggers
    (row,) = fresh_db.query("SELECT (SELECT sum(notes) FROM note_totals), (SELECT count(*) FROM notes), "
                            "(SELECT sum(completed) FROM note_totals), (SELECT count(*) FROM notes WHERE completed)")
    assert row[0] == row[1] and row[2] == row[3], row
    assert int(row[1]) == 1000 + written[0], (row, written[0])
    assert totals_versions_of(fresh_db, "UPDATE notes SET completed = NOT completed;") == 1

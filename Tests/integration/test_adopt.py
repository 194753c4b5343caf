"""Issue 15, point 6: `notes-worker migrate` takes over a database made by the FastAPI originals (the notes
tutorial's `notes`, the blog's Alembic-managed `authors` and `articles` at either revision) in place: every row
kept with its id, sequences after the highest id, naive times read as UTC, the old apps' columns, sequences and
alembic_version left working; rows the API cannot represent stop it, named, with nothing changed
(docs/DATABASE.md, "Adopting a FastAPI database")."""

import subprocess

import pytest

from harness.assertions import assert_json, assert_not_found, assert_note, total_count
from harness.contract import ARTICLE_KEYS, AUTHOR_KEYS
from harness.originals import (BLOG_CONTENT_RENAMED, BLOG_INITIAL, BLOG_INSERT_ARTICLE, BLOG_INSERT_AUTHOR,
                               BLOG_REVISIONS, BLOG_SELECT_AUTHORS, TUTORIAL_INSERT, TUTORIAL_SELECT, bind,
                               create_blog, create_tutorial, literal, text_column)
from harness.postgres import migrate
from harness.processes import CRASH_MARKERS, child_env, run

# Rows as the tutorial leaves them: ids with gaps (3 and 4 deleted), one inserted with an explicit id above the
# sequence (an import, say).
TUTORIAL_NOTES = [(1, "buy milk", False), (2, "call Ada", True), (5, "O'Brien's list", True), (40, "from an import", False)]


def snapshot(db) -> list[str]:
    """Schema and data of the database (pg_dump), to compare before and after; without the lines of pg_dump's
    restrict key, which differs on every run."""
    dump = run(["pg_dump", "--no-owner", "--no-privileges", "-d", db.url]).stdout
    return [line for line in dump.splitlines() if not line.startswith(("\\restrict", "\\unrestrict"))]


def output(result: subprocess.CompletedProcess) -> str:
    return result.stdout + result.stderr


def fill_tutorial(db) -> None:
    create_tutorial(db)
    (first, second, fifth, imported) = TUTORIAL_NOTES
    for _id, text, completed in (first, second, (3, "gone", False), (4, "gone", True), fifth):
        db.query(bind(TUTORIAL_INSERT, text, completed))  # numbered 1 to 5 by the sequence
    db.query("DELETE FROM notes WHERE id IN (3, 4)")
    db.query(f"INSERT INTO notes (id, text, completed) VALUES ({', '.join(literal(v) for v in imported)})")


def fill_blog(db, revision: str) -> None:
    create_blog(db, revision)
    # Naive UTC times, as the blog's datetime.utcnow() writes them; explicit ids above the sequences.
    db.query("INSERT INTO authors (id, first_name, last_name, created_at, updated_at) VALUES "
             "(3, 'Ada', 'Lovelace', '2024-01-04 11:14:23.264481', '2024-01-05 08:00:00'), "
             "(7, 'Grace', 'Hopper', '2024-06-30 23:59:59.5', '2024-06-30 23:59:59.5')")
    db.query(f"INSERT INTO articles (id, title, {text_column(revision)}, author_id, created_at, updated_at) VALUES "
             "(4, 'Notes', 'On the engine', 3, '2024-01-04 12:00:00', '2024-01-04 12:00:00'), "
             "(9, 'COBOL', 'A language', 7, NULL, NULL)")


def migrate_ok(bin_dir, db, **env) -> str:
    result = run([bin_dir / "notes-worker", "migrate"], env=child_env(DATABASE_URL=db.url, **env), check=False)
    assert result.returncode == 0, f"migrate exited {result.returncode}:\n{output(result)}"
    return output(result)


def assert_migrate_is_a_no_op(bin_dir, db) -> None:
    before = snapshot(db)
    again = migrate_ok(bin_dir, db)
    assert "adopted" not in again and "applied" not in again, again
    assert snapshot(db) == before


def list_all(api, path: str) -> tuple[list, int]:
    resp = api.get(f"{path}?take=100")
    return assert_json(resp, 200), total_count(resp)


# ---------------------------------------------------------------------------------------------- the tutorial


def test_the_tutorials_notes_are_adopted_with_their_ids_and_the_old_app_keeps_working(launcher, fresh_db, bin_dir):
    fill_tutorial(fresh_db)
    out = migrate_ok(bin_dir, fresh_db)
    assert "adopted notes of the FastAPI notes tutorial: 4 rows, highest id 40" in out, out
    # Where the tutorial had no table, the migration itself ran in the same transaction.
    assert "applied migration 0002_create_authors_and_articles.sql" in out, out
    assert fresh_db.query("SELECT version, name FROM schema_migrations WHERE version <= 2 ORDER BY 1") == [
        ["1", "0001_create_notes.sql"], ["2", "0002_create_authors_and_articles.sql"]]
    assert fresh_db.query("SELECT version FROM schema_adoptions") == [["1"]]
    assert_migrate_is_a_no_op(bin_dir, fresh_db)

    # Its columns keep their types (id integer, text varchar), so the tutorial app's cached statements stay valid
    # through the adoption (test_switch.py); a type change failed each of its connections once.
    assert fresh_db.query("SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
                          "WHERE attrelid = 'notes'::regclass AND attname IN ('id', 'text') ORDER BY 1") == [
        ["id", "integer"], ["text", "character varying"]]
    assert fresh_db.query("SELECT format_type(seqtypid, NULL) FROM pg_sequence "
                          "WHERE seqrelid = 'notes_id_seq'::regclass") == [["integer"]]

    stack = launcher.stack("tutorial", workers=1, db=fresh_db)
    api = stack.client
    # The API takes any id: one beyond the integer column is no note, not an out-of-range error.
    beyond = f"/notes/{2**31}/"
    for resp in (api.get(beyond), api.put(beyond, {"text": "x", "completed": True}), api.patch(beyond, {"text": "x"}),
                 api.delete(beyond)):
        assert_not_found(resp)
    notes, total = list_all(api, "/notes/")
    assert total == len(TUTORIAL_NOTES)
    assert [(n["id"], n["text"], n["completed"]) for n in notes] == TUTORIAL_NOTES
    for note in notes:
        assert_note(note)  # the tutorial kept no times: the adoption's, in UTC
    assert total_count(api.get("/notes/?completed=true")) == 2

    created = assert_note(assert_json(api.post("/notes/", {"text": "ours", "completed": True}), 201), text="ours")
    assert created["id"] == 41, f"a new note must follow the highest id (40): {created}"

    # The tutorial's app, still running against the same table: its insert and its list.
    (old_id,), = fresh_db.query(bind(TUTORIAL_INSERT, "the old app's", False))
    assert int(old_id) == 42
    assert_note(assert_json(api.get(f"/notes/{old_id}/"), 200), text="the old app's", completed=False)
    _, total = list_all(api, "/notes/")
    assert total == len(TUTORIAL_NOTES) + 2
    assert total_count(api.get("/notes/?completed=false")) == 3
    old_view = fresh_db.query(TUTORIAL_SELECT + " ORDER BY notes.id")
    assert [row[0] for row in old_view] == ["1", "2", "5", "40", "41", "42"]
    assert old_view[4] == ["41", "ours", "t"]

    # Migration 0006 ran after the adoption: the adopted rows, and the old app's, have version 1, their ETag, and
    # If-Match works on them.
    assert fresh_db.query("SELECT DISTINCT version FROM notes WHERE id <> 41") == [["1"]]
    assert api.get("/notes/40/").header("ETag") == '"1"'
    assert api.put("/notes/40/", {"text": "x", "completed": True}, headers={"If-Match": '"1"'}).header("ETag") == '"2"'
    assert api.put("/notes/40/", {"text": "y", "completed": True}, headers={"If-Match": '"1"'}).status == 412


# ---------------------------------------------------------------------------------------------- the blog


@pytest.mark.parametrize("revision", BLOG_REVISIONS)
def test_the_blogs_tables_are_adopted_with_utc_times_and_the_old_app_keeps_working(launcher, fresh_db, bin_dir,
                                                                                   revision):
    fill_blog(fresh_db, revision)
    # In a session whose TimeZone is not UTC (libpq's PGTZ): the naive times are UTC whatever the session's zone.
    out = migrate_ok(bin_dir, fresh_db, PGTZ="Asia/Kolkata")
    assert f"adopted authors and articles of the FastAPI blog at Alembic revision {revision}" in out, out
    assert "2 authors, highest id 7; 2 articles, highest id 9" in out, out
    assert "applied migration 0001_create_notes.sql" in out, out
    assert fresh_db.query("SELECT version_num FROM alembic_version") == [[revision]]
    assert_migrate_is_a_no_op(bin_dir, fresh_db)

    stack = launcher.stack(f"blog-{revision}", workers=1, db=fresh_db)
    api = stack.client
    ada = assert_json(api.get("/authors/3"), 200)
    assert tuple(ada) == AUTHOR_KEYS
    assert (ada["first_name"], ada["last_name"]) == ("Ada", "Lovelace")
    assert ada["created_at"] == "2024-01-04T11:14:23.264481Z" and ada["updated_at"] == "2024-01-05T08:00:00.000000Z"
    assert assert_json(api.get("/authors/7"), 200)["created_at"] == "2024-06-30T23:59:59.500000Z"
    articles, total = list_all(api, "/articles")
    assert total == 2
    assert [(a["id"], a["title"], a["content"], a["author_id"]) for a in articles] == [
        (4, "Notes", "On the engine", 3), (9, "COBOL", "A language", 7)]
    assert all(tuple(a) == ARTICLE_KEYS for a in articles)

    author = assert_json(api.post("/authors", {"first_name": "Barbara", "last_name": "Liskov, a name longer than 25"}),
                         201)
    assert author["id"] == 8, f"a new author must follow the highest id (7): {author}"
    article = assert_json(api.post("/articles", {"title": "CLU", "content": "Abstraction", "author_id": 8}), 201)
    assert article["id"] == 10, f"a new article must follow the highest id (9): {article}"
    if revision == BLOG_INITIAL:
        # The first revision's column stays equal to ours, for an app of that revision.
        assert fresh_db.query("SELECT description FROM articles WHERE id = 10") == [["Abstraction"]]

    # The blog's app, as it writes (naive UTC times, its casts) and reads.
    (old_author,), = fresh_db.query("SET TimeZone = 'UTC'; " + bind(
        BLOG_INSERT_AUTHOR, "Edsger", "Dijkstra", "2025-03-01 10:00:00.25", "2025-03-01 10:00:00.25"))
    assert int(old_author) == 9
    old = assert_json(api.get(f"/authors/{old_author}"), 200)
    assert old["created_at"] == "2025-03-01T10:00:00.250000Z", old
    (old_article,), = fresh_db.query("SET TimeZone = 'UTC'; " + bind(
        BLOG_INSERT_ARTICLE.format(text_column=text_column(revision)), "GOTO", "Considered harmful", int(old_author),
        "2025-03-01 10:00:01", "2025-03-01 10:00:01"))
    assert int(old_article) == 11
    assert assert_json(api.get(f"/articles/{old_article}"), 200)["content"] == "Considered harmful"
    _, total = list_all(api, "/articles")
    assert total == 4
    _, total = list_all(api, "/authors")
    assert total == 4
    assert [row[:3] for row in fresh_db.query(BLOG_SELECT_AUTHORS + " ORDER BY authors.id")] == [
        ["3", "Ada", "Lovelace"], ["7", "Grace", "Hopper"], ["8", "Barbara", "Liskov, a name longer than 25"],
        ["9", "Edsger", "Dijkstra"]]
    assert fresh_db.query("SELECT version_num FROM alembic_version") == [[revision]]


def test_both_originals_in_one_database_are_adopted_together(launcher, fresh_db, bin_dir):
    fill_tutorial(fresh_db)
    fill_blog(fresh_db, BLOG_CONTENT_RENAMED)
    out = migrate_ok(bin_dir, fresh_db)
    assert "adopted notes of the FastAPI notes tutorial" in out and "adopted authors and articles" in out, out
    assert "0001_create_notes.sql" not in out and "0002_create_authors_and_articles.sql" not in out, out
    assert fresh_db.query("SELECT version FROM schema_adoptions ORDER BY 1") == [["1"], ["2"]]
    api = launcher.stack("both", workers=1, db=fresh_db).client
    assert total_count(api.get("/notes/")) == 4 and total_count(api.get("/authors")) == 2


# ---------------------------------------------------------------------------------------------- refusals


def test_rows_the_api_cannot_represent_stop_the_adoption_until_resolved(fresh_db, bin_dir):
    fill_tutorial(fresh_db)
    fill_blog(fresh_db, BLOG_INITIAL)
    fresh_db.query("INSERT INTO notes (id, text, completed) VALUES (50, NULL, true), (51, 'undecided', NULL)")
    fresh_db.query("INSERT INTO authors (id, first_name, last_name, created_at, updated_at) VALUES "
                   "(20, NULL, NULL, '2024-01-01', '2024-01-01')")
    fresh_db.query("INSERT INTO articles (id, title, description, author_id) VALUES (30, 'Untitled?', NULL, 3)")
    before = snapshot(fresh_db)

    result = migrate(bin_dir, fresh_db.url, check=False)
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, f"one line expected:\n{result.stderr}"
    message = lines[0]
    assert "cannot adopt the FastAPI tables, nothing was changed: 4 rows hold NULL" in message, message
    for named in ("notes id 50: text NULL", "notes id 51: completed NULL", "authors id 20: first_name, last_name NULL",
                  "articles id 30: description NULL", 'docs/DATABASE.md "Adopting a FastAPI database"'):
        assert named in message, f"{named!r} not in {message}"
    assert not any(marker in output(result) for marker in CRASH_MARKERS), output(result)
    assert snapshot(fresh_db) == before, "a refused adoption changed the database"

    # The fix docs/DATABASE.md shows: give each row a value, or delete it.
    fresh_db.query("UPDATE notes SET text = '' WHERE text IS NULL")
    fresh_db.query("DELETE FROM notes WHERE completed IS NULL")
    fresh_db.query("UPDATE authors SET first_name = '', last_name = '' WHERE first_name IS NULL OR last_name IS NULL")
    fresh_db.query("UPDATE articles SET description = '' WHERE description IS NULL")
    out = migrate_ok(bin_dir, fresh_db)
    assert "adopted notes of the FastAPI notes tutorial: 5 rows, highest id 50" in out, out
    assert "3 authors, highest id 20; 3 articles, highest id 30" in out, out
    assert fresh_db.query("SELECT text, completed FROM notes WHERE id = 50") == [["", "t"]]
    assert_migrate_is_a_no_op(bin_dir, fresh_db)


def test_tables_that_are_not_the_originals_are_refused_unchanged(fresh_db, bin_dir):
    # A notes table of someone else's making (a text id, say): neither ours nor the tutorial's.
    fresh_db.query("CREATE TABLE notes (id text PRIMARY KEY, body text); INSERT INTO notes VALUES ('a', 'b')")
    before = snapshot(fresh_db)
    result = migrate(bin_dir, fresh_db.url, check=False)
    assert result.returncode != 0
    assert "cannot migrate, nothing was changed: table notes exists but is neither this service's" in result.stderr
    assert "found id text, body text" in result.stderr, result.stderr
    assert snapshot(fresh_db) == before


def test_blog_tables_at_an_unknown_alembic_revision_are_refused_unchanged(fresh_db, bin_dir):
    create_blog(fresh_db, BLOG_CONTENT_RENAMED)
    fresh_db.query("UPDATE alembic_version SET version_num = 'feedfacecafe'")
    before = snapshot(fresh_db)
    result = migrate(bin_dir, fresh_db.url, check=False)
    assert result.returncode != 0
    assert "alembic_version holds feedfacecafe, not the FastAPI blog's revision" in result.stderr, result.stderr
    assert snapshot(fresh_db) == before

"""Issue 17 points 1 and 2 through nginx against PostgreSQL: full-text search (`q`, websearch_to_tsquery syntax) on
notes and articles, combined with `completed`, paging and `order`, `X-Total-Count` counting the matches; `order` on
every list, ascending and descending, ties broken by id in the same direction (checked against PostgreSQL's own
ORDER BY); an unknown order answered as FastAPI answers a `Literal` query parameter, byte for byte; and the search
and order statements able to use their indexes."""

import json
import subprocess
import urllib.parse

import pytest

from harness.api import create_article, create_author
from harness.assertions import assert_json, total_count
from harness.processes import SCRIPTS_DIR, run

NOTES = [  # (text, completed)
    ("buy milk and bread", False),
    ("Milk the cow", True),
    ("bread crumbs", False),
    ("the quick brown fox", True),
    ("buy cheese and milk", False),
    ("milk buy", False),
    ("bread crumbs", True),
]


@pytest.fixture(scope="module")
def search_stack(module_launcher):
    return module_launcher.stack("search", workers=2)


@pytest.fixture(scope="module")
def api(search_stack):
    return search_stack.client


@pytest.fixture(scope="module")
def sql(module_launcher, search_stack):
    return module_launcher.psql(search_stack.db.url)


@pytest.fixture(scope="module")
def notes(api, sql):
    """The notes of NOTES by text (ids in creation order), with created_at and updated_at made to tie in pairs."""
    sql.execute("DELETE FROM notes")
    ids = [api.create_note(text, completed)["id"] for text, completed in NOTES]
    sql.execute("UPDATE notes SET created_at = '2026-01-01T00:00:00Z'::timestamptz + (id % 3) * interval '1 day', "
                "updated_at = '2026-02-01T00:00:00Z'::timestamptz - (id % 2) * interval '1 hour'")
    return ids


def ids(resp, status=200) -> list:
    return [item["id"] for item in assert_json(resp, status)]


def query(**params) -> str:
    return urllib.parse.urlencode(params, quote_via=urllib.parse.quote)


def matching(notes, *positions) -> list:
    return [notes[p] for p in positions]


# ---------------------------------------------------------------------------------------------- search


@pytest.mark.parametrize("q,positions", [
    ("milk", (0, 1, 4, 5)),                       # words: case folded ('simple')
    ("MILK bread", (0,)),                         # all the words
    ('"buy milk"', (0,)),                         # a phrase: in this order, adjacent
    ("cheese or fox", (3, 4)),                    # or
    ("milk -cheese", (0, 1, 5)),                  # -not
    ('"bread crumbs" or "the cow"', (1, 2, 6)),
    ("nothing-like-it", ()),
])
def test_search_finds_the_notes_whose_text_matches(api, notes, q, positions):
    resp = api.get("/notes/?" + query(q=q))
    assert ids(resp) == matching(notes, *positions)
    assert total_count(resp) == len(positions)


@pytest.mark.parametrize("q", ["", " ", "%20%09"])
def test_an_empty_or_blank_search_is_no_search(api, notes, q):
    resp = api.get(f"/notes/?q={q}")
    assert ids(resp) == notes
    assert total_count(resp) == len(notes)


def test_a_search_of_no_words_matches_nothing(api, notes):
    resp = api.get("/notes/?" + query(q="!!! ... -"))
    assert ids(resp) == [] and total_count(resp) == 0


def test_search_combines_with_completed_paging_and_order(api, notes):
    resp = api.get("/notes/?" + query(q="milk", completed="false"))
    assert ids(resp) == matching(notes, 0, 4, 5) and total_count(resp) == 3
    resp = api.get("/notes/?" + query(q="milk", completed="true"))
    assert ids(resp) == matching(notes, 1) and total_count(resp) == 1
    resp = api.get("/notes/?" + query(q="milk", skip=1, take=2))
    assert ids(resp) == matching(notes, 1, 4) and total_count(resp) == 4
    resp = api.get("/notes/?" + query(q="milk", order="-id", take=3))
    assert ids(resp) == matching(notes, 5, 4, 1) and total_count(resp) == 4
    resp = api.get("/notes/?" + query(q="bread", completed="false", order="-id"))
    assert ids(resp) == matching(notes, 2, 0) and total_count(resp) == 2


def test_a_search_past_its_last_match_counts_the_matches(api, notes):
    resp = api.get("/notes/?" + query(q="milk", skip=10))
    assert ids(resp) == [] and total_count(resp) == 4
    resp = api.get("/notes/?" + query(q="milk", completed="false", skip=10))
    assert ids(resp) == [] and total_count(resp) == 3


def test_search_sees_a_note_as_soon_as_it_is_written_and_changed(api, notes):
    created = api.create_note("a zebra crossing", False)
    assert ids(api.get("/notes/?q=zebra")) == [created["id"]]
    assert api.put(f"/notes/{created['id']}", {"text": "a giraffe", "completed": False}).status == 200
    assert ids(api.get("/notes/?q=zebra")) == []
    assert ids(api.get("/notes/?q=giraffe")) == [created["id"]]
    assert api.delete(f"/notes/{created['id']}").status == 200


def test_articles_are_searched_over_title_and_content(api):
    author = create_author(api, "Grace", "Hopper")["id"]
    by_title = create_article(api, author, title="Compilers for everyone", content="A history")["id"]
    by_content = create_article(api, author, title="Notes", content="on compilers and languages")["id"]
    create_article(api, author, title="Gardening", content="tomatoes")
    resp = api.get("/articles?q=compilers")
    assert ids(resp) == [by_title, by_content] and total_count(resp) == 2
    assert ids(api.get("/articles?q=compilers&take=1&skip=1")) == [by_content]
    assert ids(api.get("/articles?q=compilers&order=-id")) == [by_content, by_title]
    assert ids(api.get("/articles?" + query(q='"for everyone" or languages', order="title"))) == [by_title, by_content]
    assert ids(api.get("/articles?" + query(q="compilers -history"))) == [by_content]
    resp = api.get("/articles?q=compilers&skip=5")
    assert ids(resp) == [] and total_count(resp) == 2
    resp = api.get("/articles?q=compilers&skip=5&take=5")
    assert ids(resp) == [] and total_count(resp) == 2


# ---------------------------------------------------------------------------------------------- order


def expected_order(sql, table: str, order: str, where: str = "true") -> list:
    column, direction = (order[1:], " DESC") if order.startswith("-") else (order, "")
    key = f"{column}{direction}, id{direction}" if column != "id" else f"id{direction}"
    return [int(row[0]) for row in sql.execute(f"SELECT id FROM {table} WHERE {where} ORDER BY {key}")]


def walk(api, path: str, params: dict, take: int) -> list:
    """Every item of a list page by page (skip/take), checking X-Total-Count on each page."""
    seen, skip, total = [], 0, None
    while True:
        resp = api.get(f"{path}?" + query(**params, skip=skip, take=take))
        page = ids(resp)
        total = total_count(resp) if total is None else total
        assert total_count(resp) == total
        if not page:
            return seen
        seen += page
        skip += take


def document_orders(api, component: str) -> list:
    doc = assert_json(api.get("/openapi.json"), 200)
    return doc["components"]["parameters"][component]["schema"]["enum"]


NOTE_ORDERS = ["id", "-id", "created_at", "-created_at", "updated_at", "-updated_at", "text", "-text"]


def test_the_document_lists_each_lists_orders(api):
    assert document_orders(api, "NoteOrder") == NOTE_ORDERS
    assert document_orders(api, "AuthorOrder") == ["id", "-id", "created_at", "-created_at", "updated_at",
                                                   "-updated_at", "last_name", "-last_name", "first_name",
                                                   "-first_name"]
    assert document_orders(api, "ArticleOrder") == ["id", "-id", "title", "-title", "author_id", "-author_id"]


@pytest.mark.parametrize("order", NOTE_ORDERS)
def test_every_note_order_pages_through_ties_stably(api, sql, notes, order):
    want = expected_order(sql, "notes", order)
    assert ids(api.get("/notes/?" + query(order=order, take=100))) == want
    assert walk(api, "/notes/", {"order": order}, take=2) == want
    assert walk(api, "/notes/", {"order": order, "completed": "true"}, take=1) == \
        expected_order(sql, "notes", order, "completed")
    assert walk(api, "/notes/", {"order": order, "q": "bread or milk"}, take=2) == \
        [i for i in want if i in matching(notes, 0, 1, 2, 4, 5, 6)]


def test_the_default_order_is_ascending_id(api, notes):
    assert ids(api.get("/notes/")) == ids(api.get("/notes/?order=id")) == sorted(notes)


@pytest.fixture(scope="module")
def blog(api, sql):
    """Authors whose names and times tie, and articles whose titles and authors tie."""
    sql.execute("DELETE FROM articles; DELETE FROM authors")
    authors = [create_author(api, first, last)["id"]
               for first, last in [("Ada", "Lovelace"), ("Alan", "Turing"), ("Ada", "Byron"), ("Bob", "Turing")]]
    sql.execute("UPDATE authors SET created_at = '2026-01-01'::timestamptz + (id % 2) * interval '1 day', "
                "updated_at = '2026-03-01'::timestamptz")
    for i, title in enumerate(["B", "A", "B", "C", "A"]):
        create_article(api, authors[i % 2], title=title, content=f"content {i}")
    return authors


@pytest.mark.parametrize("order", ["id", "-id", "created_at", "-created_at", "updated_at", "-updated_at",
                                   "last_name", "-last_name", "first_name", "-first_name"])
def test_every_author_order_as_a_page_and_as_a_whole_collection(api, sql, blog, order):
    want = expected_order(sql, "authors", order)
    assert walk(api, "/authors", {"order": order}, take=1) == want
    assert ids(api.get("/authors?" + query(order=order))) == want
    resp = api.get("/authors?" + query(order=order, skip=1))
    assert ids(resp) == want[1:] and total_count(resp) == len(want)


@pytest.mark.parametrize("order", ["id", "-id", "title", "-title", "author_id", "-author_id"])
def test_every_article_order_as_a_page_and_as_a_whole_collection(api, sql, blog, order):
    want = expected_order(sql, "articles", order)
    assert walk(api, "/articles", {"order": order}, take=2) == want
    assert ids(api.get("/articles?" + query(order=order))) == want
    assert ids(api.get("/articles?" + query(order=order, q="content"))) == want


# ---------------------------------------------------------------------------------------------- 422


@pytest.fixture(scope="module")
def fastapi_python():
    """The pinned FastAPI of the differential test (scripts/differential-venv)."""
    try:
        out = run([SCRIPTS_DIR / "differential-venv"], timeout=900)
    except Exception as error:  # no venv and no PyPI: the byte-for-byte comparison cannot run here
        pytest.skip(f"no FastAPI venv: {error}")
    return out.stdout.strip().splitlines()[-1]


# A FastAPI app with `order: Literal[<the values>] = "id"`, asked once through ASGI (no server, no httpx).
FASTAPI_LITERAL = r"""
import asyncio, json, sys
from typing import Literal
from fastapi import FastAPI
values, raw = json.loads(sys.argv[1]), sys.argv[2]
app = FastAPI()
@app.get("/list")
def listing(order: Literal[tuple(values)] = "id"):
    return []
async def main():
    sent = []
    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}
    async def send(message):
        sent.append(message)
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
             "path": "/list", "raw_path": b"/list", "query_string": raw.encode(), "headers": [], "root_path": "",
             "server": ("test", 80), "client": ("test", 1)}
    await app(scope, receive, send)
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    print(json.dumps({"status": sent[0]["status"], "body": body.decode()}))
asyncio.run(main())
"""


@pytest.mark.parametrize("path,component", [("/notes/", "NoteOrder"), ("/authors", "AuthorOrder"),
                                            ("/articles", "ArticleOrder")])
@pytest.mark.parametrize("raw", ["priority", "ID", "%2Bid", "", "id%20", "-", "%C3%A9t%C3%A9"])
def test_an_unknown_order_is_answered_byte_for_byte_as_fastapi_answers_a_literal(api, fastapi_python, path,
                                                                                  component, raw):
    ours = api.get(f"{path}?order={raw}")
    proc = subprocess.run([fastapi_python, "-c", FASTAPI_LITERAL, json.dumps(document_orders(api, component)),
                           f"order={raw}"], capture_output=True, text=True, timeout=60, check=True)
    original = json.loads(proc.stdout)
    assert ours.status == original["status"] == 422
    assert ours.body.decode() == original["body"]
    assert json.loads(original["body"])["detail"][0]["type"] == "literal_error"


# ---------------------------------------------------------------------------------------------- indexes


def plan(sql, statement: str) -> str:
    rows = sql.execute(f"SET enable_seqscan = off; EXPLAIN (COSTS OFF) {statement}; RESET enable_seqscan")
    return "\n".join(row[0] for row in rows)


def test_searches_can_use_their_gin_indexes(sql, notes):
    assert "notes_search" in plan(sql, "SELECT id FROM notes WHERE text_search_document(text) @@ "
                                       "text_search_query('milk')")
    assert "articles_search" in plan(sql, "SELECT id FROM articles WHERE "
                                          "text_search_document(title || ' ' || content) @@ text_search_query('a')")


def test_the_created_at_order_reads_its_index(sql, notes):
    assert "notes_created_at_id" in plan(
        sql, "SELECT id FROM notes WHERE (created_at, id) >= (SELECT created_at, id FROM notes ORDER BY created_at, id "
             "OFFSET 2 LIMIT 1) ORDER BY created_at, id LIMIT 2")


# ---------------------------------------------------------------------------------------------- the configuration


def set_search_configuration(module_launcher, url: str, sql, configuration: str) -> None:
    """docs/DATABASE.md's procedure: both functions replaced in one transaction, the indexes rebuilt in a new session."""
    sql.execute(f"""BEGIN;
        CREATE OR REPLACE FUNCTION text_search_document(body text) RETURNS tsvector
            LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$ SELECT to_tsvector('{configuration}'::regconfig, body) $$;
        CREATE OR REPLACE FUNCTION text_search_query(words text) RETURNS tsquery
            LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$ SELECT websearch_to_tsquery('{configuration}'::regconfig, words) $$;
        COMMIT""")
    fresh = module_launcher.psql(url)
    fresh.execute("REINDEX INDEX notes_search; REINDEX INDEX articles_search")
    fresh.close()


def test_the_documented_change_of_configuration_takes_effect_without_restarting_the_workers(
        module_launcher, search_stack, api, sql, notes):
    running = api.create_note("running late", False)["id"]
    for _ in range(8):  # past PostgreSQL's five custom plans: the workers' statements hold a generic plan
        assert ids(api.get("/notes/?q=run")) == []
    set_search_configuration(module_launcher, search_stack.db.url, sql, "english")
    try:
        for _ in range(4):  # every worker, whichever answers
            assert ids(api.get("/notes/?q=run")) == [running]
        assert "notes_search" in plan(sql, "SELECT id FROM notes WHERE text_search_document(text) @@ "
                                           "text_search_query('run')")
        written = api.create_note("she runs", False)["id"]
        assert ids(api.get("/notes/?q=running")) == [running, written]
    finally:
        set_search_configuration(module_launcher, search_stack.db.url, sql, "simple")
    assert ids(api.get("/notes/?q=run")) == []

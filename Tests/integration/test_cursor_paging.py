"""Issue 17 point 4 through nginx against PostgreSQL: cursor paging. Every list page that has a next page carries
`Link: <path?cursor=…&take=N>; rel="next"` (skip pages too); following `next` from the first page visits every
matching row exactly once, in order (checked against PostgreSQL's own ORDER BY), in every order of the notes and on
the blog's lists, with `completed` and `q`, and while other clients create and delete rows meanwhile (the row a
cursor points at included); a bad or contradicting cursor is a 422 in FastAPI's shape; X-Total-Count, the page
ETag and 304 work on cursor pages; and a cursor page's statement enters its index at the key, whatever the depth
(EXPLAIN ANALYZE of the workers' own statements, from `notes-worker statements`)."""

import base64
import random
import re
import threading
import urllib.parse

import pytest

from harness.api import create_article, create_author
from harness.assertions import assert_json, total_count
from harness.processes import child_env, run

NOTE_ORDERS = ["id", "-id", "created_at", "-created_at", "updated_at", "-updated_at", "text", "-text"]
LINK = re.compile(r'^<(/[a-z/]*)\?cursor=([A-Za-z0-9_-]+)&take=(\d+)>; rel="next"$')


@pytest.fixture(scope="module")
def cursor_stack(module_launcher):
    return module_launcher.stack("cursor", workers=2)


@pytest.fixture(scope="module")
def api(cursor_stack):
    return cursor_stack.client


@pytest.fixture(scope="module")
def sql(module_launcher, cursor_stack):
    return module_launcher.psql(cursor_stack.db.url)


TEXTS = ["buy milk", "Milk the cow", "bread crumbs", "apple", "Zebra", "bread crumbs", "milk buy", "éclair", "buy bread",
         "apple", "milk and bread", "the fox"]


@pytest.fixture
def notes(api, sql):
    """25 notes whose created_at, updated_at and text tie in groups, so that every order has ties broken by id."""
    sql.execute("DELETE FROM notes")
    ids = [api.create_note(TEXTS[i % len(TEXTS)], i % 3 == 0)["id"] for i in range(25)]
    sql.execute("UPDATE notes SET created_at = '2026-01-01T00:00:00Z'::timestamptz + (id % 4) * interval '1 day', "
                "updated_at = '2026-02-01T00:00:00.123456Z'::timestamptz - (id % 3) * interval '1 microsecond'")
    return ids


def order_by(order: str) -> str:
    column, direction = (order[1:], "DESC") if order.startswith("-") else (order, "ASC")
    return f"{column} {direction}, id {direction}" if column != "id" else f"id {direction}"


def expected(sql, table: str, order: str, where: str = "true") -> list[int]:
    return [int(row[0]) for row in sql.execute(f"SELECT id FROM {table} WHERE {where} ORDER BY {order_by(order)}")]


def next_link(resp) -> tuple[str, str, int] | None:
    """(path, cursor, take) of the response's Link, or None; exactly one Link when there is one."""
    links = resp.header_values("Link")
    if not links:
        return None
    assert len(links) == 1, links
    match = LINK.match(links[0])
    assert match, f"malformed Link: {links[0]!r}"
    return match[1], match[2], int(match[3])


def walk(api, first: str, pages: list | None = None, after_page=None) -> list[int]:
    """The ids of every page from `first` on, following `next`; each page checked: 200, X-Total-Count, an ETag."""
    visited, url = [], first
    for _ in range(1000):
        resp = api.get(url)
        items = assert_json(resp, 200)
        total_count(resp)
        assert resp.header("ETag"), resp
        visited += [item["id"] for item in items]
        if pages is not None:
            pages.append(resp)
        if after_page:
            after_page(items)
        link = next_link(resp)
        if link is None:
            return visited
        path, cursor, take = link
        assert items, f"an empty page links to a next one: {resp!r}"
        url = f"{path}?cursor={cursor}&take={take}"
    raise AssertionError("the walk did not end")


def q(**params) -> str:
    return urllib.parse.urlencode(params, quote_via=urllib.parse.quote)


# ---------------------------------------------------------------------------------------------- the walk


@pytest.mark.parametrize("order", NOTE_ORDERS)
def test_following_next_visits_every_note_once_in_order(api, sql, notes, order):
    pages = []
    visited = walk(api, "/notes/?" + q(order=order, take=4), pages)
    assert visited == expected(sql, "notes", order)
    assert len(pages) == 7  # 25 notes, 4 a page: the last page has one, and no Link
    assert all(total_count(page) == 25 for page in pages)
    assert next_link(pages[-1]) is None and all(next_link(page) for page in pages[:-1])


@pytest.mark.parametrize("order", ["id", "-created_at", "text", "-updated_at"])
def test_the_walk_keeps_completed_and_the_search(api, sql, notes, order):
    visited = walk(api, "/notes/?" + q(order=order, take=2, completed="false", q="milk or bread"))
    assert visited == expected(sql, "notes", order,
                               "NOT completed AND text_search_document(text) @@ text_search_query('milk or bread')")
    assert len(visited) > 4
    visited = walk(api, "/notes/?" + q(order=order, take=3, completed="true"))
    assert visited == expected(sql, "notes", order, "completed")


def test_a_skip_page_links_to_the_rest_by_cursor(api, sql, notes):
    resp = api.get("/notes/?" + q(order="-text", skip=5, take=3))
    rest = walk(api, "/notes/?" + q(order="-text", skip=5, take=3))
    assert rest == expected(sql, "notes", "-text")[5:]
    assert next_link(api.get("/notes/?" + q(skip=22, take=3))) is None  # the last skip page
    assert next_link(api.get("/notes/?" + q(skip=21, take=3))) is not None
    assert next_link(api.get("/notes/?" + q(skip=50, take=3))) is None  # past the end
    assert next_link(resp)[2] == 3


def test_the_blogs_lists_walk_by_cursor_and_their_whole_collections_have_no_link(api, sql):
    sql.execute("DELETE FROM articles; DELETE FROM authors")
    authors = [create_author(api, f"First{i % 3}", ["Hopper", "Lovelace", "Babbage", "Ng"][i % 4])["id"] for i in range(9)]
    for i in range(11):
        create_article(api, authors[i % 9], title=["On engines", "Compilers", "On engines"][i % 3], content=f"text {i} engines")
    for order in ["-last_name", "first_name", "-id", "created_at"]:
        assert walk(api, f"/authors?order={order}&take=2") == expected(sql, "authors", order)
    for order in ["title", "-author_id"]:
        assert walk(api, f"/articles?order={order}&q=engines&take=3") == expected(sql, "articles", order)
    whole = api.get("/authors?order=-last_name")
    assert len(assert_json(whole, 200)) == 9 and whole.header("Link") is None
    resp = api.get("/authors?take=2")
    _, cursor, _ = next_link(resp)
    refused = assert_json(api.get(f"/authors?cursor={cursor}"), 422)
    assert refused["detail"][0]["loc"] == ["query", "cursor"]


# ---------------------------------------------------------------------------------------------- concurrent writes


class Writer(threading.Thread):
    """Another client, creating notes and deleting others (some of the first ones among them) until stopped."""

    def __init__(self, client_factory, victims: list[int]):
        super().__init__(daemon=True)
        self.client = client_factory()
        self.victims = list(victims)
        self.deleted: set[int] = set()
        self.stop = threading.Event()
        self.errors: list[str] = []
        self.rounds = 0

    def run(self):
        rng = random.Random(17)
        created: list[int] = []
        while not self.stop.is_set():
            try:
                for _ in range(2):
                    created.append(self.client.create_note(rng.choice(TEXTS) + " new", rng.random() < 0.5)["id"])
                pool = created if (rng.random() < 0.5 or not self.victims) else self.victims
                if pool:
                    victim = pool.pop(rng.randrange(len(pool)))
                    self.deleted.add(victim)  # before the request: from now on it did not exist the whole time
                    resp = self.client.delete(f"/notes/{victim}")
                    if resp.status not in (200, 404):
                        self.errors.append(repr(resp))
                self.rounds += 1
            except Exception as error:  # noqa: BLE001: reported by the test
                self.errors.append(repr(error))
                return


@pytest.mark.parametrize("order", NOTE_ORDERS)
def test_the_walk_visits_every_note_that_existed_throughout_once_in_order_while_others_come_and_go(
        api, sql, cursor_stack, order):
    sql.execute("DELETE FROM notes")
    baseline = [api.create_note(TEXTS[i % len(TEXTS)], i % 2 == 0)["id"] for i in range(80)]
    writer = Writer(lambda: type(api)(api.port), baseline[::3])
    deleted_by_walker: set[int] = set()
    pages = []

    def after_page(items):
        # On every other page the row its cursor points at is deleted before the next page is asked for.
        pages.append(items)
        if items and len(pages) % 2 == 1:
            deleted_by_walker.add(items[-1]["id"])
            assert api.delete(f"/notes/{items[-1]['id']}").status in (200, 404)

    writer.start()
    try:
        visited = walk(api, "/notes/?" + q(order=order, take=5), after_page=after_page)
    finally:
        writer.stop.set()
        writer.join(timeout=30)
    assert not writer.errors, writer.errors
    assert writer.rounds > 0
    assert len(visited) == len(set(visited)), "a note was visited twice"
    deleted = writer.deleted | deleted_by_walker
    throughout = [i for i in baseline if i not in deleted]
    missing = set(throughout) - set(visited)
    assert not missing, f"notes that existed throughout were not visited: {sorted(missing)}"
    # In order: the visited notes that still exist, as PostgreSQL orders them (none of them changed).
    still = [i for i in visited if i not in deleted]
    assert still == expected(sql, "notes", order, f"id = ANY('{{{','.join(map(str, still))}}}'::bigint[])")


# ---------------------------------------------------------------------------------------------- headers and 422s


def test_a_cursor_page_has_its_total_and_tag_and_answers_304(api, notes):
    _, cursor, _ = next_link(api.get("/notes/?order=text&take=4"))
    url = f"/notes/?cursor={cursor}&take=4"
    resp = api.get(url)
    assert total_count(resp) == 25
    tag = resp.header("ETag")
    again = api.get(url, headers={"If-None-Match": tag})
    assert again.status == 304 and again.body == b"" and again.header("ETag") == tag
    api.create_note("zzz after all", False)  # sorts last: the page is the same, but the total is not
    assert api.get(url, headers={"If-None-Match": tag}).status == 200


def cursor_error(resp, raw: str, message: str) -> None:
    body = assert_json(resp, 422)
    assert body == {"detail": [{"type": "value_error", "loc": ["query", "cursor"], "msg": f"Value error, {message}",
                                "input": raw, "ctx": {"error": {}}}]}, body


def test_bad_cursors_are_422s_in_fastapis_shape(api, notes):
    _, cursor, _ = next_link(api.get("/notes/?order=-created_at&completed=false&take=3"))
    tampered = cursor[:10] + ("A" if cursor[10] != "A" else "B") + cursor[11:]
    cursor_error(api.get(f"/notes/?cursor={tampered}"), tampered,
                 "the cursor is damaged or was changed (its checksum does not match)")
    cursor_error(api.get("/notes/?cursor=not%2Ba%2Bcursor"), "not+a+cursor", "not a cursor of this API (not base64url)")
    raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    short = base64.urlsafe_b64encode(raw[:-3]).decode().rstrip("=")  # cut short by three bytes, still base64url
    cursor_error(api.get(f"/notes/?cursor={short}"), short, "the cursor is damaged or was changed (its checksum does not match)")
    cursor_error(api.get(f"/notes/?cursor={cursor}&order=created_at"), cursor,
                 "the cursor is of a list with another `order`: leave it out or give the cursor's")
    cursor_error(api.get(f"/notes/?cursor={cursor}&completed=true"), cursor,
                 "the cursor is of a list with another `completed`: leave it out or give the cursor's")
    cursor_error(api.get(f"/notes/?cursor={cursor}&q=milk"), cursor,
                 "the cursor is of a list with another `q`: leave it out or give the cursor's")
    cursor_error(api.get(f"/notes/?cursor={cursor}&skip=3"), cursor, "a cursor's page starts after its row: leave out `skip`")
    cursor_error(api.get(f"/articles?cursor={cursor}&take=3"), cursor, "the cursor is of another list")
    # Its own values given again are no contradiction.
    assert api.get(f"/notes/?cursor={cursor}&order=-created_at&completed=0&skip=0").status == 200


def test_skip_and_take_answer_as_before(api, sql, notes):
    for order in NOTE_ORDERS:
        resp = api.get("/notes/?" + q(order=order, skip=7, take=6))
        assert [item["id"] for item in assert_json(resp, 200)] == expected(sql, "notes", order)[7:13]
        assert total_count(resp) == 25


# ---------------------------------------------------------------------------------------------- plans


def statements(bin_dir) -> dict[str, str]:
    out = run([bin_dir / "notes-worker", "statements"], env=child_env()).stdout
    return dict(line.split("\t", 1) for line in out.splitlines())


def explain(sql, statement: str, arguments: str) -> str:
    rows = sql.execute(f"""SET plan_cache_mode = force_generic_plan; PREPARE cursor_plan AS {statement};
        EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) EXECUTE cursor_plan({arguments});
        DEALLOCATE cursor_plan; RESET plan_cache_mode""")
    return "\n".join(row[0] for row in rows)


def test_a_deep_cursor_page_reads_its_rows_alone_from_the_orders_index(bin_dir, sql, api):
    """The workers' own statements, with their generic plans (what a statement gets after five runs): at depth
    19,000 of 20,000 notes the index scan returns take + 1 rows, entered at the key (Index Cond on the row), with no
    sort and nothing skipped, as at the first row."""
    sql.execute("DELETE FROM notes; INSERT INTO notes (text, completed, created_at) "
                "SELECT 'note ' || g, g % 2 = 0, '2026-01-01'::timestamptz + g * interval '1 second' "
                "FROM generate_series(1, 20000) g; ANALYZE notes")
    ids = [int(r[0]) for r in sql.execute("SELECT id FROM notes ORDER BY id")]
    times = {int(r[0]): r[1] for r in sql.execute(
        "SELECT id, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') FROM notes")}
    by_name = statements(bin_dir)
    try:
        for name, arguments in [
            ("note_page_after", lambda i: f"'{i}', 21"),
            ("note_page_after_by_id_desc", lambda i: f"'{i}', 21"),
            ("note_page_after_by_created_at", lambda i: f"'{times[i]}', 21, {i}"),
            ("note_page_after_by_created_at_desc", lambda i: f"'{times[i]}', 21, {i}"),
            ("note_page_completed_after", lambda i: f"'{i}', 21, 't'"),
        ]:
            descending = "desc" in name
            deep = ids[999] if descending else ids[-1000]  # 19,000 rows before it in the order
            first = ids[-1] if descending else ids[0]
            for at in (deep, first):
                plan = explain(sql, by_name[name], arguments(at))
                assert "Sort" not in plan, plan
                assert re.search(r"Index (Only )?Scan.*\n\s+Index Cond: .*(ROW\(|id [<>] )", plan), plan
                scans = re.findall(r"Index (?:Only )?Scan[^\n]*actual rows=(\d+)", plan)
                assert scans and int(scans[0]) == 21, plan
    finally:
        sql.execute("DELETE FROM notes")


def test_a_search_reads_its_matches_through_the_search_index_not_by_walking_an_order(bin_dir, sql):
    """A search's pages, by skip and by cursor, with the generic plans the workers get: the matches come from a
    bitmap scan of the search index, never from a walk of the primary key testing the search on every row it
    passes (what the plan was before: at a million notes a tag of 100 notes cost a page 39 ms, docs/PERFORMANCE.md)."""
    sql.execute("DELETE FROM notes; INSERT INTO notes (text, completed) "
                "SELECT 'note ' || g || ' tag' || (g % 200), g % 2 = 0 FROM generate_series(1, 20000) g; ANALYZE notes")
    ids = [int(r[0]) for r in sql.execute("SELECT id FROM notes WHERE text LIKE '% tag7' ORDER BY id")]
    assert len(ids) == 100
    by_name = statements(bin_dir)
    try:
        for name, arguments in [
            ("note_page_search", "0, 20, 'tag7'"),
            ("note_page_search", "80, 20, 'tag7'"),
            ("note_page_search_by_created_at_desc", "0, 20, 'tag7'"),
            ("note_page_completed_search", "0, 20, 'f', 'tag7'"),
            ("note_page_search_after", f"'{ids[50]}', 21, 'tag7'"),
            ("note_page_completed_search_after", f"'{ids[50]}', 21, 'f', 'tag7'"),
        ]:
            plan = explain(sql, by_name[name], arguments)
            assert "Bitmap Index Scan on notes_search" in plan, plan
            assert not re.search(r"Index (Only )?Scan (Backward )?using notes_pkey", plan), plan
    finally:
        sql.execute("DELETE FROM notes")


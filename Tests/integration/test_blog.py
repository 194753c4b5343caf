"""Issue 4 through nginx: authors and articles (FastAPI's blog example, its bugs fixed), PATCH of notes,
the completed filter and X-Total-Count on every list."""

import os

import pytest

from harness.api import ARTICLE_MISSING, AUTHOR_MISSING, create_article, create_author
from harness.assertions import (assert_author, assert_json, assert_no_content, assert_not_found, assert_note,
                                assert_validation, parse_timestamp, total_count)
from harness.contract import MAX_ID


@pytest.fixture(scope="module")
def blog_stack(module_launcher):
    return module_launcher.stack("blog", workers=2)


@pytest.fixture(scope="module")
def api(blog_stack):
    return blog_stack.client


@pytest.fixture
def author(api):
    return create_author(api)


@pytest.fixture
def note(api):
    return api.create_note("a note to patch", False)


def list_all(api, path: str, query: str = "") -> tuple[list, int]:
    """Every item of a list, page by page (take=100), and the X-Total-Count of the first page."""
    items, skip, total = [], 0, None
    sep = "&" if query else ""
    while True:
        resp = api.get(f"{path}?{query}{sep}skip={skip}&take=100")
        page = assert_json(resp, 200)
        count = total_count(resp)
        total = count if total is None else total
        assert count == total, f"X-Total-Count changed from {total} to {count} between pages of {path}"
        items += page
        if len(page) < 100:
            return items, total
        skip += 100


# ---------------------------------------------------------------------------------------------- authors


@pytest.mark.parametrize("path", ["/authors", "/authors/"])
def test_create_author_returns_201_and_the_author(api, path):
    created = create_author(api, "Grace", "Hopper", path=path)
    assert assert_json(api.get(f"/authors/{created['id']}"), 200) == created


@pytest.mark.parametrize("suffix", ["", "/"])
def test_get_author(api, author, suffix):
    assert assert_json(api.get(f"/authors/{author['id']}{suffix}"), 200) == author


@pytest.mark.parametrize("path", ["/authors", "/authors/"])
def test_list_authors(api, author, path):
    resp = api.get(f"{path}?take=100")
    authors = assert_json(resp, 200)
    for a in authors:
        assert_author(a)
    ids = [a["id"] for a in authors]
    assert ids == sorted(ids), f"authors not by ascending id: {ids}"
    everything, total = list_all(api, "/authors")
    assert author in everything
    assert total == len(everything)


@pytest.mark.parametrize("suffix", ["", "/"])
def test_delete_author_is_204_without_body(api, author, suffix):
    assert_no_content(api.delete(f"/authors/{author['id']}{suffix}"))
    assert_json(api.get(f"/authors/{author['id']}"), 404, AUTHOR_MISSING)
    assert_json(api.delete(f"/authors/{author['id']}"), 404, AUTHOR_MISSING)


@pytest.mark.parametrize("method", ["GET", "DELETE"])
@pytest.mark.parametrize("suffix", ["", "/"])
def test_missing_author_is_404(api, method, suffix):
    assert_json(api.request(method, f"/authors/{MAX_ID}{suffix}"), 404, AUTHOR_MISSING)


def test_author_fields_are_stored_as_sent(api):
    first, last = "Zoë \"Ω\" 😀", "O'Neil\n\t\\ "
    created = create_author(api, first, last)
    assert assert_json(api.get(f"/authors/{created['id']}"), 200) == created


@pytest.mark.parametrize("body,errors", [
    ({"last_name": "x"}, [("missing", ["body", "first_name"])]),
    ({"first_name": "x"}, [("missing", ["body", "last_name"])]),
    ({}, [("missing", ["body", "first_name"]), ("missing", ["body", "last_name"])]),
    ({"first_name": 1, "last_name": "x"}, [("string_type", ["body", "first_name"])]),
    ({"first_name": "x", "last_name": None}, [("string_type", ["body", "last_name"])]),
    ({"first_name": "a\u0000b", "last_name": "x"}, [("value_error", ["body", "first_name"])]),
])
def test_invalid_author_is_422(api, body, errors):
    before = total_count(api.get("/authors"))
    assert_validation(api.post("/authors", body), *errors)
    assert total_count(api.get("/authors")) == before


def test_author_body_not_an_object_is_422(api):
    assert_validation(api.post("/authors", [1]), ("model_attributes_type", ["body"]))


def test_author_without_json_content_type_is_422_as_in_fastapi(api):
    raw = b'{"first_name": "a", "last_name": "b"}'
    resp = api.post("/authors", body=raw, content_type="text/plain")
    assert_validation(resp, ("model_attributes_type", ["body"]), inputs={("body",): raw.decode()})


# ---------------------------------------------------------------------------------------------- articles


@pytest.mark.parametrize("path", ["/articles", "/articles/"])
def test_create_article_returns_201_and_the_article(api, author, path):
    created = create_article(api, author["id"], "The title", "The content, not the title", path=path)
    assert assert_json(api.get(f"/articles/{created['id']}"), 200) == created


def test_article_content_is_stored_as_sent_not_the_title(api, author):
    title, content = "Title only here", "Body text 😀 with \"quotes\"\nand lines\n"
    created = create_article(api, author["id"], title, content)
    fetched = assert_json(api.get(f"/articles/{created['id']}/"), 200)
    assert fetched["content"] == content and fetched["title"] == title, fetched
    listed, _ = list_all(api, "/articles")
    assert [a for a in listed if a["id"] == created["id"]] == [created]


@pytest.mark.parametrize("suffix", ["", "/"])
def test_get_article(api, author, suffix):
    created = create_article(api, author["id"])
    assert assert_json(api.get(f"/articles/{created['id']}{suffix}"), 200) == created


@pytest.mark.parametrize("suffix", ["", "/"])
def test_delete_article_is_204_without_body(api, author, suffix):
    created = create_article(api, author["id"])
    assert_no_content(api.delete(f"/articles/{created['id']}{suffix}"))
    assert_json(api.get(f"/articles/{created['id']}"), 404, ARTICLE_MISSING)
    assert_json(api.delete(f"/articles/{created['id']}"), 404, ARTICLE_MISSING)


@pytest.mark.parametrize("method", ["GET", "DELETE"])
@pytest.mark.parametrize("suffix", ["", "/"])
def test_missing_article_is_404(api, method, suffix):
    assert_json(api.request(method, f"/articles/{MAX_ID}{suffix}"), 404, ARTICLE_MISSING)


@pytest.mark.parametrize("which", ["deleted", "never"])
def test_article_for_a_missing_author_is_404(api, which):
    if which == "deleted":
        gone = create_author(api, "Soon", "Gone")
        assert_no_content(api.delete(f"/authors/{gone['id']}"))
        author_id = gone["id"]
    else:
        author_id = MAX_ID
    before = total_count(api.get("/articles"))
    resp = api.post("/articles", {"title": "t", "content": "c", "author_id": author_id})
    assert_json(resp, 404, AUTHOR_MISSING)
    assert total_count(api.get("/articles")) == before


def test_deleting_an_author_deletes_their_articles_as_the_examples_cascade(api, author, blog_stack):
    first = create_article(api, author["id"], "one")
    second = create_article(api, author["id"], "two")
    other_author = create_author(api, "Other", "Writer")
    kept = create_article(api, other_author["id"], "kept")
    before = total_count(api.get("/articles?take=1"))
    assert_no_content(api.delete(f"/authors/{author['id']}/"))
    assert_json(api.get(f"/authors/{author['id']}"), 404, AUTHOR_MISSING)
    for gone in (first, second):
        assert_json(api.get(f"/articles/{gone['id']}"), 404, ARTICLE_MISSING)
    assert blog_stack.db.query(f"SELECT count(*) FROM articles WHERE author_id = {author['id']}") == [["0"]]
    assert assert_json(api.get(f"/articles/{kept['id']}"), 200) == kept
    assert total_count(api.get("/articles?take=1")) == before - 2
    assert_json(api.delete(f"/authors/{author['id']}"), 404, AUTHOR_MISSING)


def test_authors_and_articles_list_their_fields_in_the_examples_order(api, author):
    article = create_article(api, author["id"], "ordered")
    assert list(assert_json(api.get(f"/authors/{author['id']}"), 200)) == [
        "first_name", "last_name", "id", "created_at", "updated_at"]
    assert list(assert_json(api.get(f"/articles/{article['id']}"), 200)) == ["title", "content", "author_id", "id"]
    assert list(assert_json(api.get("/articles?take=1"), 200)[0]) == ["title", "content", "author_id", "id"]


@pytest.mark.parametrize("suffix", ["", "/"])
def test_healthcheck_answers_as_the_blog_example(api, suffix):
    assert_json(api.get(f"/healthcheck{suffix}"), 200, {"status": "ok"})


BAD_AUTHOR_IDS = [
    ("one", "int_parsing"), ("1e3", "int_parsing"), (1.5, "int_from_float"), (1e20, "int_parsing_size"),
    (None, "int_type"), ([1], "int_type"), ({}, "int_type"),
]


@pytest.mark.parametrize("value,etype", BAD_AUTHOR_IDS, ids=[repr(v) for v, _ in BAD_AUTHOR_IDS])
def test_invalid_author_id_in_body_is_422(api, value, etype):
    resp = api.post("/articles", {"title": "t", "content": "c", "author_id": value})
    assert_validation(resp, (etype, ["body", "author_id"]), inputs={("body", "author_id"): value})


@pytest.mark.parametrize("spelling", ["str", "padded", "float"])
def test_author_id_is_read_as_pydantic_reads_an_int(api, spelling):
    author = create_author(api)
    value = {"str": str(author["id"]), "padded": f" 0{author['id']} ", "float": float(author["id"])}[spelling]
    created = assert_json(api.post("/articles", {"title": "t", "content": "c", "author_id": value}), 201)
    assert created["author_id"] == author["id"]


@pytest.mark.parametrize("value", [0, -3, MAX_ID + 1, 10**30])
def test_author_id_no_author_can_have_is_404(api, value):
    resp = api.post("/articles", {"title": "t", "content": "c", "author_id": value})
    assert_json(resp, 404, {"detail": "Author does not exist"})


@pytest.mark.parametrize("body,errors", [
    ({"content": "c", "author_id": 1}, [("missing", ["body", "title"])]),
    ({"title": "t", "author_id": 1}, [("missing", ["body", "content"])]),
    ({"title": "t", "content": "c"}, [("missing", ["body", "author_id"])]),
    ({}, [("missing", ["body", "title"]), ("missing", ["body", "content"]), ("missing", ["body", "author_id"])]),
    ({"title": 5, "content": "c", "author_id": 1}, [("string_type", ["body", "title"])]),
    ({"title": "t", "content": False, "author_id": 1}, [("string_type", ["body", "content"])]),
])
def test_invalid_article_is_422(api, body, errors):
    assert_validation(api.post("/articles", body), *errors)


# ---------------------------------------------------------------------------------------------- path ids, 405


PATH_ID_ERRORS = ["abc", "1.5", "1e3", "_1"]


@pytest.mark.parametrize("collection,param", [("authors", "author_id"), ("articles", "article_id")])
@pytest.mark.parametrize("method", ["GET", "DELETE"])
@pytest.mark.parametrize("bad", PATH_ID_ERRORS)
def test_path_id_that_is_no_integer_is_422(api, collection, param, method, bad):
    for path in (f"/{collection}/{bad}", f"/{collection}/{bad}/"):
        assert_validation(api.request(method, path), ("int_parsing", ["path", param]))


@pytest.mark.parametrize("collection,detail", [("authors", "Author does not exist"), ("articles", "Article does not exist")])
@pytest.mark.parametrize("method", ["GET", "DELETE"])
@pytest.mark.parametrize("missing", ["0", "-1", "9223372036854775808"])
def test_path_id_no_row_can_have_is_404(api, collection, detail, method, missing):
    assert_json(api.request(method, f"/{collection}/{missing}"), 404, {"detail": detail})


@pytest.mark.parametrize("method,path,allowed", [
    ("PUT", "/authors", {"GET", "POST"}),
    ("DELETE", "/authors/", {"GET", "POST"}),
    ("PUT", "/authors/1", {"GET", "DELETE"}),
    ("POST", "/authors/1/", {"GET", "DELETE"}),
    ("PATCH", "/articles", {"GET", "POST"}),
    ("PUT", "/articles/1/", {"GET", "DELETE"}),
])
def test_wrong_method_is_405_with_allow(api, method, path, allowed):
    resp = api.request(method, path, json_body={"title": "t"})
    assert_json(resp, 405, {"detail": "Method Not Allowed"})
    allow = resp.header("Allow")
    assert allow, f"405 without Allow header: {resp!r}"
    assert {m.strip() for m in allow.split(",")} == allowed, f"Allow: {allow!r}"


@pytest.mark.parametrize("path", ["/authors/1/articles", "/articles/1/x", "/author", "/articles-and-more"])
def test_unknown_blog_path_is_404(api, path):
    assert_json(api.get(path), 404, {"detail": "Not Found"})


# ---------------------------------------------------------------------------------------------- paging


def test_author_and_article_paging_and_total_count(api):
    authors = [create_author(api, f"First{i}", f"Last{i}") for i in range(7)]
    articles = [create_article(api, authors[i % 3]["id"], f"title {i}", f"content {i}") for i in range(7)]
    for path, made in (("/authors", authors), ("/articles", articles)):
        everything, total = list_all(api, path)
        assert total == len(everything), f"{path}: X-Total-Count {total}, but {len(everything)} listed"
        ids = [x["id"] for x in everything]
        assert ids == sorted(ids) and len(set(ids)) == len(ids), f"{path} not by ascending id: {ids}"
        for item in made:
            assert item in everything
        # Without take, the whole collection from skip on, as the blog example's lists answer.
        for query, window in (("skip=0&take=20", slice(0, 20)), ("", slice(0, None)), ("skip=2", slice(2, None)),
                              ("skip=2&take=3", slice(2, 5)),
                              ("take=1", slice(0, 1)), (f"skip={total - 1}", slice(total - 1, total)),
                              (f"skip={total}&take=5", slice(total, total)), ("skip=1000000", slice(0, 0))):
            for p in (path, path + "/"):
                resp = api.get(f"{p}?{query}" if query else p)
                assert assert_json(resp, 200) == everything[window], f"{p}?{query}"
                assert total_count(resp) == total, f"{p}?{query}: X-Total-Count ignores skip and take"


def _high_water_mark_kib(pid: int) -> int:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmHWM for {pid}")


def test_a_whole_collection_is_streamed_without_growing_the_worker(module_launcher):
    """60 MB of articles through one worker without take: all of them arrive, in order, with their total, and the
    worker's peak memory stays under half the body (held whole, the body and its rows would be twice
    the body)."""
    stack = module_launcher.stack("blog-whole", workers=1)
    author = create_author(stack.client, "Bulk", "Writer")
    rows, content_bytes = 40_000, 1_500
    stack.db.query(f"INSERT INTO articles (title, content, author_id) SELECT 't' || n, repeat('c', {content_bytes}), "
                   f"{author['id']} FROM generate_series(1, {rows}) AS n")
    (worker,) = stack.supervisor.worker_pids()
    resp = stack.client.get("/articles")
    articles = assert_json(resp, 200)
    assert len(resp.body) > rows * content_bytes
    assert total_count(resp) == rows == len(articles)
    assert [a["title"] for a in articles[:3]] == ["t1", "t2", "t3"] and articles[-1]["title"] == f"t{rows}"
    assert resp.header("Content-Length") is None, "a whole collection is sent as it is read, without a length"
    # Under AddressSanitizer freed memory waits in its quarantine (256 MB), so the peak says nothing there.
    if "ASAN_OPTIONS" not in os.environ:
        peak = _high_water_mark_kib(worker)
        assert peak < len(resp.body) // 1024 // 2, f"worker peak {peak} KiB for a body of {len(resp.body) // 1024} KiB"
    assert stack.supervisor.worker_pids() == {worker}, "the worker was replaced"
    # The next request on the same worker is served as usual.
    assert assert_json(stack.client.get("/articles?skip=39999&take=5"), 200)[0]["title"] == "t40000"


@pytest.mark.parametrize("collection", ["authors", "articles"])
@pytest.mark.parametrize("query,errors", [
    ("skip=-1", [("greater_than_equal", ["query", "skip"])]),
    ("take=0", [("greater_than_equal", ["query", "take"])]),
    ("take=101", [("less_than_equal", ["query", "take"])]),
    ("take=abc", [("int_parsing", ["query", "take"])]),
])
def test_blog_list_bounds_are_422(api, collection, query, errors):
    assert_validation(api.get(f"/{collection}?{query}"), *errors)


# ---------------------------------------------------------------------------------------------- PATCH


@pytest.mark.parametrize("suffix", ["/", ""])
def test_patch_text_only(api, note, suffix):
    resp = api.patch(f"/notes/{note['id']}{suffix}", {"text": "patched text"})
    patched = assert_note(assert_json(resp, 200), text="patched text", completed=False, note_id=note["id"])
    assert patched["created_at"] == note["created_at"]
    assert parse_timestamp(patched["updated_at"]) >= parse_timestamp(note["updated_at"])
    assert assert_json(api.get(f"/notes/{note['id']}/"), 200) == patched


def test_patch_completed_only(api, note):
    patched = assert_note(assert_json(api.patch(f"/notes/{note['id']}/", {"completed": True}), 200),
                          text=note["text"], completed=True, note_id=note["id"])
    assert patched["created_at"] == note["created_at"]
    assert parse_timestamp(patched["updated_at"]) >= parse_timestamp(note["updated_at"])
    assert assert_json(api.get(f"/notes/{note['id']}/"), 200) == patched


def test_patch_both_fields(api, note):
    patched = assert_note(assert_json(api.patch(f"/notes/{note['id']}/", {"text": "both", "completed": True}), 200),
                          text="both", completed=True, note_id=note["id"])
    assert assert_json(api.get(f"/notes/{note['id']}/"), 200) == patched
    back = assert_json(api.patch(f"/notes/{note['id']}/", {"completed": False}), 200)
    assert back["completed"] is False and back["text"] == "both"


@pytest.mark.parametrize("body", [{}, {"unknown": 1, "id": 999}])
def test_patch_with_nothing_to_change_changes_nothing(api, note, body):
    # even after a real update first, so that updated_at differs from created_at
    note = assert_json(api.patch(f"/notes/{note['id']}/", {"text": "set once"}), 200)
    resp = api.patch(f"/notes/{note['id']}/", body)
    assert assert_json(resp, 200) == note, "an empty PATCH must change nothing, updated_at included"
    assert assert_json(api.get(f"/notes/{note['id']}/"), 200) == note


@pytest.mark.parametrize("suffix", ["/", ""])
def test_patch_missing_note_is_404(api, suffix):
    note_id = api.create_note("soon gone")["id"]
    assert api.delete(f"/notes/{note_id}/").status == 200
    for nid in (note_id, MAX_ID):
        assert_not_found(api.patch(f"/notes/{nid}{suffix}", {"text": "x"}))
        assert_not_found(api.patch(f"/notes/{nid}{suffix}", {}))


@pytest.mark.parametrize("body,errors", [
    ({"text": 1}, [("string_type", ["body", "text"])]),
    ({"text": None}, [("string_type", ["body", "text"])]),
    ({"completed": "maybe"}, [("bool_parsing", ["body", "completed"])]),
    ({"completed": 2}, [("bool_parsing", ["body", "completed"])]),
    ({"completed": None}, [("bool_type", ["body", "completed"])]),
    ({"text": ["a"], "completed": "truee"}, [("string_type", ["body", "text"]), ("bool_parsing", ["body", "completed"])]),
    ({"text": "ok", "completed": 0.5}, [("bool_type", ["body", "completed"])]),
    ({"text": "a\u0000b"}, [("value_error", ["body", "text"])]),
])
def test_patch_with_wrong_types_is_422_and_changes_nothing(api, note, body, errors):
    assert_validation(api.patch(f"/notes/{note['id']}/", body), *errors)
    assert assert_json(api.get(f"/notes/{note['id']}/"), 200) == note


@pytest.mark.parametrize("body", [[1], "text", 3, True])
def test_patch_body_not_an_object_is_422(api, note, body):
    assert_validation(api.patch(f"/notes/{note['id']}/", body), ("model_attributes_type", ["body"]))


def test_patch_empty_body_is_422_missing(api, note):
    assert_validation(api.patch(f"/notes/{note['id']}/", body=b""), ("missing", ["body"]))


def test_patch_without_json_content_type_is_422_as_in_fastapi(api, note):
    resp = api.patch(f"/notes/{note['id']}/", body=b'{"text": "x"}', content_type="text/plain")
    assert_validation(resp, ("model_attributes_type", ["body"]))
    assert assert_json(api.get(f"/notes/{note['id']}/"), 200) == note


def test_patch_with_a_bad_path_id_is_422(api):
    assert_validation(api.patch("/notes/abc/", {"text": "x"}), ("int_parsing", ["path", "note_id"]))
    assert_not_found(api.patch("/notes/0/", {"text": "x"}))


# ---------------------------------------------------------------------------------------------- completed filter


@pytest.fixture
def mixed_notes(api):
    """Six more notes, every third completed; returns every note in the table as listed, by id."""
    for i in range(6):
        api.create_note(f"mixed {i}", i % 3 == 0)
    everything, total = list_all(api, "/notes/")
    assert total == len(everything)
    return everything


TRUE_SPELLINGS = ["true", "True", "TRUE", "1", "yes", "YES", "on", "On", "t", "T", "y", "Y"]
FALSE_SPELLINGS = ["false", "False", "FALSE", "0", "no", "No", "off", "OFF", "f", "F", "n", "N"]


@pytest.mark.parametrize("spelling", TRUE_SPELLINGS + FALSE_SPELLINGS)
def test_completed_filter_and_total_count(api, mixed_notes, spelling):
    wanted = spelling in TRUE_SPELLINGS
    expected = [n for n in mixed_notes if n["completed"] is wanted]
    assert expected, "the fixture makes notes of both kinds"
    got, total = list_all(api, "/notes/", f"completed={spelling}")
    assert got == expected, f"completed={spelling}"
    assert total == len(expected), f"completed={spelling}: X-Total-Count {total}, {len(expected)} match"
    for path in ("/notes/", "/notes"):
        resp = api.get(f"{path}?completed={spelling}&skip=1&take=2")
        assert assert_json(resp, 200) == expected[1:3]
        assert total_count(resp) == len(expected)


def test_notes_total_count_without_filter(api, mixed_notes):
    resp = api.get("/notes/?take=1")
    assert len(assert_json(resp, 200)) == 1
    assert total_count(resp) == len(mixed_notes)
    trues = total_count(api.get("/notes/?completed=true&take=1"))
    falses = total_count(api.get("/notes/?completed=false&take=1"))
    assert trues + falses == len(mixed_notes)


@pytest.mark.parametrize("value", ["xyz", "2", "truee", "nope", "-1"])
def test_completed_not_a_boolean_is_422_bool_parsing(api, value):
    for path in ("/notes/", "/notes"):
        assert_validation(api.get(f"{path}?completed={value}"), ("bool_parsing", ["query", "completed"]),
                          inputs={("query", "completed"): value})


def test_completed_and_paging_errors_are_reported_together(api):
    assert_validation(api.get("/notes/?completed=xyz&take=0"),
                      ("bool_parsing", ["query", "completed"]), ("greater_than_equal", ["query", "take"]))

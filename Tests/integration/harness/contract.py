"""The test contract, in one place, read from the endpoints' declarations: the committed OpenAPI document
(``Sources/NotesAPI/OpenAPI/openapi.json``) is what ``make openapi`` renders from them, and a unit test fails when it
is not. The tests check the running service against these: its answers' key sets (``assertions``), the operations
it documents and nginx routes (``test_openapi``), the largest id it takes. Nothing else in the tests restates them.
"""

import json

from harness.processes import REPO_ROOT

DOCUMENT_PATH = REPO_ROOT / "Sources" / "NotesAPI" / "OpenAPI" / "openapi.json"
_DOCUMENT = json.loads(DOCUMENT_PATH.read_text(encoding="utf-8"))
_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


def _keys(schema: str) -> tuple:
    return tuple(_DOCUMENT["components"]["schemas"][schema]["properties"])


# The operations at their documented paths (notes with, blog without the trailing slash), as declared.
CONTRACT_OPERATIONS = {
    (method.upper(), path)
    for path, item in _DOCUMENT["paths"].items() for method in item if method in _METHODS
}
# Operations the document may list too (none beyond the declared ones, now that it is rendered from them).
OPTIONAL_OPERATIONS: set = set()

# The keys of each object the API answers with, exactly and in this order: the columns of each entity.
NOTE_KEYS = _keys("Note")
AUTHOR_KEYS = _keys("Author")
ARTICLE_KEYS = _keys("Article")

# The largest id a row can have (a PostgreSQL bigint): a larger one in a path or a body finds nothing.
MAX_ID = _DOCUMENT["components"]["schemas"]["Note"]["properties"]["id"]["maximum"]

# The contract must not have gone empty by a change of the document's shape.
assert {("GET", "/notes/"), ("POST", "/articles"), ("GET", "/healthz")} <= CONTRACT_OPERATIONS
assert set(NOTE_KEYS) >= {"id", "text", "completed"} and "id" in AUTHOR_KEYS and {"id", "author_id"} <= set(ARTICLE_KEYS)
assert MAX_ID == 9223372036854775807

# The response headers nginx exposes to browsers' scripts across origins (nginx/notes.conf's
# Access-Control-Expose-Headers, issue 17), as a browser reads them: case-insensitively.
EXPOSED_HEADERS = frozenset({"etag", "link", "x-total-count"})

"""The test contract, in one place: the operations of the API at their documented paths, and the keys of the
objects it answers with. The tests check the service against these (``assertions`` for the key sets, test_openapi
for the operations); nothing else in the tests restates them.

Kept free of logic on purpose: it is meant to be generated from the service's endpoint declarations one day.
"""

# The contract's operations at their documented paths (notes with, blog without the trailing slash).
CONTRACT_OPERATIONS = {
    ("GET", "/notes/"), ("POST", "/notes/"),
    ("GET", "/notes/{note_id}/"), ("PUT", "/notes/{note_id}/"), ("PATCH", "/notes/{note_id}/"),
    ("DELETE", "/notes/{note_id}/"),
    ("GET", "/authors"), ("POST", "/authors"), ("GET", "/authors/{author_id}"), ("DELETE", "/authors/{author_id}"),
    ("GET", "/articles"), ("POST", "/articles"), ("GET", "/articles/{article_id}"),
    ("DELETE", "/articles/{article_id}"),
    ("GET", "/healthz"), ("GET", "/status"),
}
# Operations the document may list too.
OPTIONAL_OPERATIONS = {("GET", "/openapi.json")}

# The keys of each object the API answers with, exactly.
NOTE_KEYS = {"id", "text", "completed", "created_at", "updated_at"}
AUTHOR_KEYS = {"id", "first_name", "last_name", "created_at", "updated_at"}
ARTICLE_KEYS = {"id", "title", "content", "author_id"}

# The largest id (a PostgreSQL bigint): a larger one in a path or a body is a 422.
MAX_ID = 9223372036854775807

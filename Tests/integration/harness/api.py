"""Shared steps on the API through a ``Client``: creating an author or an article (checked as the contract says),
and the API's answers for a missing author or article.

Python 3 standard library only.
"""

from __future__ import annotations

from harness.assertions import assert_article, assert_author, assert_json

AUTHOR_MISSING = {"detail": "Author does not exist"}
ARTICLE_MISSING = {"detail": "Article does not exist"}


def create_author(api, first="Ada", last="Lovelace", path="/authors") -> dict:
    return assert_author(assert_json(api.post(path, {"first_name": first, "last_name": last}), 201),
                         first_name=first, last_name=last)


def create_article(api, author_id, title="A title", content="Some content", path="/articles") -> dict:
    resp = api.post(path, {"title": title, "content": content, "author_id": author_id})
    return assert_article(assert_json(resp, 201), title=title, content=content, author_id=author_id)

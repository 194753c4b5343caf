# A re-creation of app/main.py, app/schemas.py, app/database/services.py and app/middlewares.py
# (pipoupiwam/fastapi-blog@3006359809228b33b8f2ac179cee43e26df6907d) for the differential test: written for this project
# from the original's behaviour, not a copy of its code.
"""The blog's HTTP API. Contract kept from the original: the paths and their order, status codes, the models' names,
fields and field order (inherited fields first), the 404 messages, and the handlers' names (the operation ids and
summaries of /openapi.json; the original reuses delete_author and get_author for two GET routes). Its behaviour is
kept too: an ORM session per request, lists without ORDER BY or paging, an article's author checked before the
insert, deletes that look the row up first (404) and answer 204, and a BaseHTTPMiddleware around every request
(the original's timing log). Not re-created: its docstrings, which /openapi.json shows as the descriptions of five
operations and of the Article and Author models, and its logging setup."""

import logging
import time
from datetime import datetime

from fastapi import Depends, FastAPI, HTTPException, status
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.middleware.base import BaseHTTPMiddleware

from .tables import Article as ArticleRow, Author as AuthorRow

log = logging.getLogger("differential.blog")


# Models: the names and field order are the original's (a subclass's own fields come after its base's).

class ArticleBase(BaseModel):
    title: str
    content: str
    author_id: int


class Article(ArticleBase):
    model_config = ConfigDict(from_attributes=True)
    id: int


class AuthorBase(BaseModel):
    first_name: str
    last_name: str


class Author(AuthorBase):
    model_config = ConfigDict(from_attributes=True)
    id: int
    created_at: datetime
    updated_at: datetime


class TimedRequests(BaseHTTPMiddleware):
    """The original wraps every request in a BaseHTTPMiddleware that logs its duration; kept for its effect on
    how requests and errors pass through."""

    async def dispatch(self, request, call_next):
        started = time.perf_counter()
        response = await call_next(request)
        log.debug("%s %s took %.5f s", request.method, request.url, time.perf_counter() - started)
        return response


async def found(session: AsyncSession, row_class, key: int, missing: str):
    """The row with primary key key, or a 404 with the original's message."""
    row = await session.get(row_class, key)
    if row is None:
        raise HTTPException(status_code=404, detail=missing)
    return row


AUTHOR_MISSING = "Author does not exist"
ARTICLE_MISSING = "Article does not exist"


def create_app(engine: AsyncEngine) -> FastAPI:
    sessions = async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)

    async def session_dependency():
        async with sessions() as session:
            yield session

    app = FastAPI()
    app.add_middleware(TimedRequests)

    async def insert(session: AsyncSession, row):
        session.add(row)
        await session.commit()
        await session.refresh(row)
        return row

    async def remove(session: AsyncSession, row) -> None:
        await session.delete(row)
        await session.commit()

    @app.get("/healthcheck", status_code=status.HTTP_200_OK)
    async def healthcheck():
        return {"status": "ok"}

    @app.get("/authors", response_model=list[Author], status_code=status.HTTP_200_OK)
    async def list_authors(db: AsyncSession = Depends(session_dependency)):
        return (await db.execute(select(AuthorRow))).scalars().all()

    @app.get("/authors/{author_id}", response_model=Author, status_code=status.HTTP_200_OK)
    async def delete_author(author_id: int, db: AsyncSession = Depends(session_dependency)):
        return await found(db, AuthorRow, author_id, AUTHOR_MISSING)

    @app.post("/authors", response_model=Author, status_code=status.HTTP_201_CREATED)
    async def create_author(author: AuthorBase, db: AsyncSession = Depends(session_dependency)):
        return await insert(db, AuthorRow(first_name=author.first_name, last_name=author.last_name))

    @app.delete("/authors/{author_id}", status_code=status.HTTP_204_NO_CONTENT)
    async def delete_author(author_id: int, db: AsyncSession = Depends(session_dependency)):  # noqa: F811
        await remove(db, await found(db, AuthorRow, author_id, AUTHOR_MISSING))

    @app.get("/articles", response_model=list[Article], status_code=status.HTTP_200_OK)
    async def list_articles(db: AsyncSession = Depends(session_dependency)):
        return (await db.execute(select(ArticleRow))).scalars().all()

    @app.get("/articles/{article_id}", response_model=Article, status_code=status.HTTP_200_OK)
    async def get_author(article_id: int, db: AsyncSession = Depends(session_dependency)):
        return await found(db, ArticleRow, article_id, ARTICLE_MISSING)

    @app.post("/articles", response_model=Article, status_code=status.HTTP_201_CREATED)
    async def create_article(article: ArticleBase, db: AsyncSession = Depends(session_dependency)):
        await found(db, AuthorRow, article.author_id, AUTHOR_MISSING)
        row = ArticleRow(title=article.title, content=article.content, author_id=article.author_id)
        return await insert(db, row)

    @app.delete("/articles/{article_id}", status_code=status.HTTP_204_NO_CONTENT)
    async def delete_article(article_id: int, db: AsyncSession = Depends(session_dependency)):
        await remove(db, await found(db, ArticleRow, article_id, ARTICLE_MISSING))

    return app

"""Runs one of the originals' re-creations (notes_app.py, blog/) on a database of the tests' private cluster, for
Tests/integration/test_differential.py.

    python run_original.py notes DATABASE_URL PORT
    python run_original.py blog DATABASE_URL PORT

DATABASE_URL is the harness's libpq URI of an empty database on the cluster's unix socket
(``postgresql:///NAME?host=/SOCKET/DIR&user=notes``); PORT is the loopback port uvicorn listens on.

- notes: its table is made with SQLAlchemy through psycopg2 and its requests served by ``databases`` over asyncpg,
  as the original does; the URL names no host and no password, so both libraries take the socket directory from
  PGHOST (``databases`` cannot log a URL with a password and no host).
- blog: its tables are made by its Alembic revisions (``alembic upgrade head``, to revision 4143b65eccf4), then
  its app is served on SQLAlchemy's asyncpg dialect, with the engine arguments the original gives (echo on).

Python writes no bytecode here (PYTHONDONTWRITEBYTECODE is set by the caller).
"""

import os
import sys
import urllib.parse
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def parse(url: str) -> tuple[str, str, str]:
    """(database name, socket directory, user) of a harness URI."""
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qs(parts.query)
    return parts.path.lstrip("/"), query["host"][0], query.get("user", ["notes"])[0]


def notes_app(url: str):
    name, socket_dir, user = parse(url)
    os.environ["PGHOST"] = socket_dir
    import notes_app
    return notes_app.create_app(f"postgresql://{user}@/{name}?sslmode=disable")


def blog_app(url: str):
    name, socket_dir, user = parse(url)
    async_url = f"postgresql+asyncpg://{user}@/{name}?host={urllib.parse.quote(socket_dir)}"

    from alembic import command
    from alembic.config import Config
    config = Config()
    config.set_main_option("script_location", str(HERE / "blog" / "migrations"))
    # (ConfigParser interpolation: a literal % in the URL is written %%)
    config.set_main_option("sqlalchemy.url", async_url.replace("%", "%%"))
    command.upgrade(config, "head")

    from sqlalchemy.ext.asyncio import create_async_engine
    from blog.api import create_app
    return create_app(create_async_engine(async_url, echo=True))


def main() -> None:
    which, url, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    application = {"notes": notes_app, "blog": blog_app}[which](url)
    import uvicorn
    uvicorn.run(application, host="127.0.0.1", port=port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()

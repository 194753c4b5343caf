"""Runs one of the vendored original FastAPI apps on a database of the tests' private cluster, for
Tests/integration/test_differential.py. Our code, not the originals': it only configures and starts them.

    python run_original.py notes DATABASE_URL PORT
    python run_original.py blog DATABASE_URL PORT

DATABASE_URL is the harness's libpq URI of an empty database on the cluster's unix socket
(``postgresql:///NAME?host=/SOCKET/DIR&user=notes``); PORT is the loopback port uvicorn listens on.

- notes: the TutLinks app (notes_tutlinks/main.py), configured the way its tutorial says, through its own environment
  variables (host_server, database_name, db_username ...). Its host is left empty so that libpq (psycopg2, which
  creates the table with ``metadata.create_all`` on import) and asyncpg (``databases``, which serves the requests)
  both take the socket directory from PGHOST.
- blog: the blog example (blog/app), its tables made by its own Alembic revisions (``alembic upgrade head`` with
  its alembic.ini and migrations/env.py), then its app served with its engine pointed at the database: db.py's
  module-level engine names a fixed URL, so it is replaced before app.main imports it.

Run with the working directory anywhere; the originals' folders are put first on sys.path. Python writes no
bytecode next to the vendored files (PYTHONDONTWRITEBYTECODE is set by the caller).
"""

import os
import sys
import urllib.parse
from pathlib import Path

HERE = Path(__file__).resolve().parent


def parse(url: str) -> tuple[str, str, str]:
    """(database name, socket directory, user) of a harness URI."""
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qs(parts.query)
    return parts.path.lstrip("/"), query["host"][0], query.get("user", ["notes"])[0]


def notes_app(url: str):
    name, socket_dir, user = parse(url)
    # (no password: databases fails to log a URL with a password and no host; trust authentication)
    os.environ.update(host_server="", database_name=name, db_username=user, db_password="",
                      ssl_mode="disable", PGHOST=socket_dir)
    sys.path.insert(0, str(HERE / "notes_tutlinks"))
    import main  # creates the table (metadata.create_all) as the original does on import
    return main.app


def blog_app(url: str):
    name, socket_dir, user = parse(url)
    async_url = f"postgresql+asyncpg://{user}@/{name}?host={urllib.parse.quote(socket_dir)}"
    blog = HERE / "blog"
    sys.path.insert(0, str(blog))
    os.chdir(blog)  # alembic.ini's script_location and prepend_sys_path are relative to it

    from alembic import command
    from alembic.config import Config
    config = Config(str(blog / "alembic.ini"))
    # (ConfigParser interpolation: a literal % in the URL is written %%)
    config.set_main_option("sqlalchemy.url", async_url.replace("%", "%%"))
    command.upgrade(config, "head")

    from sqlalchemy import create_engine
    from sqlalchemy.ext.asyncio import AsyncEngine
    import app.database.db as db
    db.engine = AsyncEngine(create_engine(async_url, echo=True, future=True))  # db.py's own arguments
    import app.main
    return app.main.app


def main() -> None:
    which, url, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    application = {"notes": notes_app, "blog": blog_app}[which](url)
    import uvicorn
    uvicorn.run(application, host="127.0.0.1", port=port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()

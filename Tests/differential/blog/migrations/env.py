# A re-creation of migrations/env.py (pipoupiwam/fastapi-blog@3006359809228b33b8f2ac179cee43e26df6907d) for the
# differential test: written for this project from the original's behaviour, not a copy of its code.
"""Alembic's environment for the blog's revisions: online only, on the async engine of the URL that
run_original.py sets (sqlalchemy.url), all revisions in one transaction."""

import asyncio

from alembic import context
from sqlalchemy import pool
from sqlalchemy.ext.asyncio import create_async_engine


def migrate(connection) -> None:
    context.configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()


async def upgrade_on_engine() -> None:
    engine = create_async_engine(context.config.get_main_option("sqlalchemy.url"), poolclass=pool.NullPool)
    async with engine.connect() as connection:
        await connection.run_sync(migrate)
    await engine.dispose()


asyncio.run(upgrade_on_engine())

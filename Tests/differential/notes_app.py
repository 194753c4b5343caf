# A re-creation of main.py (windson/fastapi@6246efdc87180565514ef2eb6b4c839f3f908015, branch
# fastapi-postgresql-azure-deploy) for the differential test: written for this project from the original's behaviour,
# not a copy of its code.
"""The TutLinks notes app as Tests/integration/test_differential.py needs it: FastAPI over ``databases`` and
SQLAlchemy Core on one table. What a client can observe is the original's contract and is kept as it is: the
paths, status codes, the models' names, fields and field order, the table's columns and types, the deletion message,
the app's title and the handlers' names (they are the operation ids and summaries of /openapi.json). Its failures are
kept too (a missing note is a 500 from the response model, a negative offset a 500 from PostgreSQL), since the test
compares them with ours. Only the wiring is ours: ``create_app`` takes the database URL instead of environment
variables.
"""

from contextlib import asynccontextmanager

import databases
import sqlalchemy as sa
from fastapi import FastAPI, status
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.gzip import GZipMiddleware
from pydantic import BaseModel

TITLE = "REST API using FastAPI PostgreSQL Async EndPoints"

metadata = sa.MetaData()

# The original's table: SQLAlchemy Integer/String/Boolean, so integer (serial), varchar and boolean, all nullable
# apart from the key.
notes_table = sa.Table(
    "notes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("text", sa.String),
    sa.Column("completed", sa.Boolean),
)


class NoteIn(BaseModel):
    text: str
    completed: bool


class Note(BaseModel):
    id: int
    text: str
    completed: bool


def create_app(database_url: str) -> FastAPI:
    """The app on ``database_url`` (a ``postgresql://`` URL): the table is made now, as the original makes it on
    import (``create_all`` through psycopg2), and requests go through ``databases`` (asyncpg)."""
    engine = sa.create_engine(database_url, pool_size=3, max_overflow=0)
    metadata.create_all(engine)
    engine.dispose()
    database = databases.Database(database_url)

    @asynccontextmanager
    async def connected(_app: FastAPI):
        await database.connect()
        try:
            yield
        finally:
            await database.disconnect()

    app = FastAPI(title=TITLE, lifespan=connected)
    # Added in this order, so GZip is the outer one, as in the original.
    app.add_middleware(CORSMiddleware, allow_origins=["*"], allow_credentials=True, allow_methods=["*"],
                       allow_headers=["*"])
    app.add_middleware(GZipMiddleware)

    # Routes in the original's order; the handlers' names are its (two are read_notes: both operation ids use it).

    @app.post("/notes/", response_model=Note, status_code=status.HTTP_201_CREATED)
    async def create_note(note: NoteIn):
        new_id = await database.execute(notes_table.insert().values(text=note.text, completed=note.completed))
        return {**note.model_dump(), "id": new_id}

    @app.put("/notes/{note_id}/", response_model=Note, status_code=status.HTTP_200_OK)
    async def update_note(note_id: int, payload: NoteIn):
        # No check that the row exists: the body is echoed either way, as the original does.
        statement = notes_table.update().where(notes_table.c.id == note_id)
        await database.execute(statement.values(text=payload.text, completed=payload.completed))
        return {**payload.model_dump(), "id": note_id}

    @app.get("/notes/", response_model=list[Note], status_code=status.HTTP_200_OK)
    async def read_notes(skip: int = 0, take: int = 20):
        # No ORDER BY: rows come in the table's physical order, as the original's do.
        return await database.fetch_all(notes_table.select().offset(skip).limit(take))

    @app.get("/notes/{note_id}/", response_model=Note, status_code=status.HTTP_200_OK)
    async def read_notes(note_id: int):  # noqa: F811 (the original's name, reused)
        # None for a missing id, which the response model refuses (500), as in the original.
        return await database.fetch_one(notes_table.select().where(notes_table.c.id == note_id))

    @app.delete("/notes/{note_id}/", status_code=status.HTTP_200_OK)
    async def delete_note(note_id: int):
        await database.execute(notes_table.delete().where(notes_table.c.id == note_id))
        return {"message": f"Note with id: {note_id} deleted successfully!"}

    return app

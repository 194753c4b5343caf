"""The databases of the FastAPI originals this service takes over (issue 15, point 6), exactly as they make them on
PostgreSQL, and the SQL their apps send: the notes tutorial ("Async SQL (Relational) Databases", fastapi/fastapi
docs_src/async_sql_databases/tutorial001.py at 13a18f80b3b0) and the blog example (pipoupiwam/fastapi-blog at
3006359, Alembic revisions c6e1f1bd7e55 and 4143b65eccf4).

Recorded on 2026-12-03 in a /tmp venv (SQLAlchemy 2.0.25, Alembic 1.13.1, asyncpg 0.29.0, psycopg2 2.9): the tutorial's
Table with metadata.create_all, the blog's `alembic upgrade c6e1f1bd7e55` and `alembic upgrade head` on PostgreSQL 15,
then `pg_dump --schema-only --no-owner --no-privileges` (SET lines left out); the apps' statements from SQLAlchemy's
echo (the blog through asyncpg) and the tutorial's insert compiled for PostgreSQL as `databases` does.

Python 3 standard library only.
"""

from __future__ import annotations

from harness.postgres import Database

TUTORIAL_DDL = """
CREATE TABLE public.notes (
    id integer NOT NULL,
    text character varying,
    completed boolean
);

CREATE SEQUENCE public.notes_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.notes_id_seq OWNED BY public.notes.id;

ALTER TABLE ONLY public.notes ALTER COLUMN id SET DEFAULT nextval('public.notes_id_seq'::regclass);

ALTER TABLE ONLY public.notes
    ADD CONSTRAINT notes_pkey PRIMARY KEY (id);
"""

# The blog at each revision. They differ in one column: at c6e1f1bd7e55 an article's text is `description`;
# 4143b65eccf4 adds `content` (last) and drops `description`.
_BLOG_DDL = """
CREATE TABLE public.alembic_version (
    version_num character varying(32) NOT NULL
);

CREATE TABLE public.articles (
    id integer NOT NULL,
    title character varying(60),
{articles_middle}
);

CREATE SEQUENCE public.articles_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.articles_id_seq OWNED BY public.articles.id;

CREATE TABLE public.authors (
    id integer NOT NULL,
    first_name character varying(25),
    last_name character varying(25),
    created_at timestamp without time zone,
    updated_at timestamp without time zone
);

CREATE SEQUENCE public.authors_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.authors_id_seq OWNED BY public.authors.id;

ALTER TABLE ONLY public.articles ALTER COLUMN id SET DEFAULT nextval('public.articles_id_seq'::regclass);

ALTER TABLE ONLY public.authors ALTER COLUMN id SET DEFAULT nextval('public.authors_id_seq'::regclass);

ALTER TABLE ONLY public.alembic_version
    ADD CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num);

ALTER TABLE ONLY public.articles
    ADD CONSTRAINT articles_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.authors
    ADD CONSTRAINT authors_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.articles
    ADD CONSTRAINT articles_author_id_fkey FOREIGN KEY (author_id) REFERENCES public.authors(id);
"""

BLOG_INITIAL = "c6e1f1bd7e55"
BLOG_CONTENT_RENAMED = "4143b65eccf4"
BLOG_REVISIONS = (BLOG_INITIAL, BLOG_CONTENT_RENAMED)

BLOG_DDL = {
    BLOG_INITIAL: _BLOG_DDL.replace("{articles_middle}", """    description text,
    author_id integer NOT NULL,
    created_at timestamp without time zone,
    updated_at timestamp without time zone"""),
    BLOG_CONTENT_RENAMED: _BLOG_DDL.replace("{articles_middle}", """    author_id integer NOT NULL,
    created_at timestamp without time zone,
    updated_at timestamp without time zone,
    content text"""),
}

# Alembic's own row after `alembic upgrade <revision>`.
ALEMBIC_STAMP = "INSERT INTO alembic_version (version_num) VALUES ('{revision}')"

# What the apps send ($n are the parameters).
TUTORIAL_INSERT = "INSERT INTO notes (text, completed) VALUES ($1, $2) RETURNING notes.id"
TUTORIAL_SELECT = "SELECT notes.id, notes.text, notes.completed FROM notes"
BLOG_INSERT_AUTHOR = ("INSERT INTO authors (first_name, last_name, created_at, updated_at) VALUES ($1::VARCHAR, "
                      "$2::VARCHAR, $3::TIMESTAMP WITHOUT TIME ZONE, $4::TIMESTAMP WITHOUT TIME ZONE) RETURNING authors.id")
BLOG_SELECT_AUTHORS = ("SELECT authors.id, authors.first_name, authors.last_name, authors.created_at, authors.updated_at "
                       "FROM authors")
# {text_column}: content at 4143b65eccf4 (the blog's code at HEAD), description for an app of c6e1f1bd7e55.
BLOG_INSERT_ARTICLE = ("INSERT INTO articles (title, {text_column}, author_id, created_at, updated_at) VALUES ($1::VARCHAR, "
                       "$2::VARCHAR, $3::INTEGER, $4::TIMESTAMP WITHOUT TIME ZONE, $5::TIMESTAMP WITHOUT TIME ZONE) "
                       "RETURNING articles.id")


def literal(value) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def bind(statement: str, *values) -> str:
    """The statement with its $n replaced by the values as SQL literals (psql has no parameters)."""
    for number in range(len(values), 0, -1):  # $10 before $1
        statement = statement.replace(f"${number}", literal(values[number - 1]))
    return statement


def create_tutorial(db: Database) -> None:
    db.query(TUTORIAL_DDL)


def create_blog(db: Database, revision: str) -> None:
    db.query(BLOG_DDL[revision] + ";\n" + ALEMBIC_STAMP.format(revision=revision))


def text_column(revision: str) -> str:
    """The column that holds an article's text at this revision."""
    return "description" if revision == BLOG_INITIAL else "content"

-- The FastAPI blog's tables (Alembic: serial ids, varchar names and title, naive timestamps, everything but
-- author_id nullable, a foreign key without ON DELETE), made what 0002_create_authors_and_articles.sql makes, in
-- place. The blog app keeps working on them: its columns keep their names, its sequences stay the ids' defaults, its
-- alembic_version is left as it is. The rows with NULLs were refused before this runs.
ALTER SEQUENCE authors_id_seq AS bigint;
ALTER SEQUENCE articles_id_seq AS bigint;
-- Made again below, as 0002 makes it (same name, ON DELETE RESTRICT), once both columns are bigint.
ALTER TABLE articles DROP CONSTRAINT articles_author_id_fkey;

-- The blog wrote datetime.utcnow(): its naive times are UTC.
ALTER TABLE authors
    ALTER COLUMN id TYPE bigint,
    ALTER COLUMN first_name TYPE text,
    ALTER COLUMN first_name SET NOT NULL,
    ALTER COLUMN last_name TYPE text,
    ALTER COLUMN last_name SET NOT NULL,
    ALTER COLUMN created_at TYPE timestamptz USING created_at AT TIME ZONE 'UTC',
    ALTER COLUMN created_at SET DEFAULT now(),
    ALTER COLUMN created_at SET NOT NULL,
    ALTER COLUMN updated_at TYPE timestamptz USING updated_at AT TIME ZONE 'UTC',
    ALTER COLUMN updated_at SET DEFAULT now(),
    ALTER COLUMN updated_at SET NOT NULL;

-- The articles' times are not part of this service's articles: they stay nullable, with a default for its creates.
ALTER TABLE articles
    ALTER COLUMN id TYPE bigint,
    ALTER COLUMN title TYPE text,
    ALTER COLUMN title SET NOT NULL,
    ALTER COLUMN content SET NOT NULL,
    ALTER COLUMN author_id TYPE bigint,
    ALTER COLUMN created_at TYPE timestamptz USING created_at AT TIME ZONE 'UTC',
    ALTER COLUMN created_at SET DEFAULT now(),
    ALTER COLUMN updated_at TYPE timestamptz USING updated_at AT TIME ZONE 'UTC',
    ALTER COLUMN updated_at SET DEFAULT now(),
    ADD CONSTRAINT articles_author_id_fkey FOREIGN KEY (author_id) REFERENCES authors (id) ON DELETE RESTRICT;

-- The indexes 0002 makes.
CREATE INDEX articles_author_id ON articles (author_id);
CREATE INDEX notes_completed_id ON notes (completed, id);

SELECT setval('authors_id_seq', max(id)) FROM authors
HAVING max(id) >= (SELECT CASE WHEN is_called THEN last_value + 1 ELSE last_value END FROM authors_id_seq);
SELECT setval('articles_id_seq', max(id)) FROM articles
HAVING max(id) >= (SELECT CASE WHEN is_called THEN last_value + 1 ELSE last_value END FROM articles_id_seq);

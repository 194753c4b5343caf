-- The FastAPI notes tutorial's table (SQLAlchemy create_all: id serial, text varchar, completed boolean, both
-- nullable), made to serve what 0001_create_notes.sql serves, in place. The tutorial app keeps working on it, even
-- through the adoption: its columns keep their names and types (id integer with its sequence as default, text
-- varchar), so no prepared statement of a running client has its result types changed (PostgreSQL refuses such a
-- cached plan) and the table is not rewritten while the app's requests wait for the lock (docs/DATABASE.md). The
-- rows with NULLs were refused before this runs.
ALTER TABLE notes
    ALTER COLUMN text SET NOT NULL,
    ALTER COLUMN completed SET NOT NULL,
    -- The tutorial kept no times: its notes get the time of the adoption.
    ADD COLUMN created_at timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();

-- Rows inserted with an explicit id leave the sequence behind them; the next id must follow the highest.
SELECT setval('notes_id_seq', max(id)) FROM notes
HAVING max(id) >= (SELECT CASE WHEN is_called THEN last_value + 1 ELSE last_value END FROM notes_id_seq);

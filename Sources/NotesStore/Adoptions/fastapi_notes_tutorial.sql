-- The FastAPI notes tutorial's table (SQLAlchemy create_all: id serial, text varchar, completed boolean, both
-- nullable), made what 0001_create_notes.sql makes, in place. The tutorial app keeps working on it: its columns keep
-- their names, and its sequence stays the id's default. The rows with NULLs were refused before this runs.
ALTER SEQUENCE notes_id_seq AS bigint;
ALTER TABLE notes
    ALTER COLUMN id TYPE bigint,
    ALTER COLUMN text TYPE text,
    ALTER COLUMN text SET NOT NULL,
    ALTER COLUMN completed SET NOT NULL,
    -- The tutorial kept no times: its notes get the time of the adoption.
    ADD COLUMN created_at timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();

-- Rows inserted with an explicit id leave the sequence behind them; the next id must follow the highest.
SELECT setval('notes_id_seq', max(id)) FROM notes
HAVING max(id) >= (SELECT CASE WHEN is_called THEN last_value + 1 ELSE last_value END FROM notes_id_seq);

-- GET /notes/{id}/: the worker's note_select (Sources/NotesStore/EntityTable.swift, the id a bigint parameter), run by pgbench -M prepared
-- (:seed, the number of seeded notes, comes from bench/run's -D).
-- The to_char format is the worker's, written E'...\072...' because pgbench would take ":MI" and ":SS"
-- for variables; the server sees the same constant 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'.
\set id random(1, :seed)
SELECT id, text, completed, to_char(created_at AT TIME ZONE 'UTC', E'YYYY-MM-DD"T"HH24\072MI\072SS.US"Z"'), to_char(updated_at AT TIME ZONE 'UTC', E'YYYY-MM-DD"T"HH24\072MI\072SS.US"Z"'), version FROM notes WHERE id = :id::bigint;

-- GET /notes/?skip={random}&take=20 (:seed, the seeded notes, is bench/run's -D): the worker's note_page (Sources/NotesStore/NoteStore.swift and
-- Paging.swift: pageSQL), the unfiltered list. The skipped rows are counted off in the id index alone;
-- the total comes from a scalar subquery in the same round trip, summing the running totals that triggers keep
-- (Sources/NotesStore/Migrations/0003_keep_note_totals.sql).
-- bench/run checks before each run that this is the statement the workers send (pg_stat_activity).
\set skip random(0, :seed - 20)
SELECT id, text, completed, to_char(created_at AT TIME ZONE 'UTC', E'YYYY-MM-DD"T"HH24\072MI\072SS.US"Z"'), to_char(updated_at AT TIME ZONE 'UTC', E'YYYY-MM-DD"T"HH24\072MI\072SS.US"Z"'), version, (SELECT coalesce(sum(notes), 0)::bigint FROM note_totals)
FROM notes
WHERE true AND id >= (SELECT id FROM notes WHERE true ORDER BY id OFFSET :skip LIMIT 1)
ORDER BY id LIMIT 20;

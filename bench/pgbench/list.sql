-- GET /notes/?skip={random}&take=20: the worker's note_page (Sources/NotesStore/NoteStore.swift and
-- Paging.swift: pageSQL), the unfiltered list. The skipped rows are read in a subquery that formats nothing;
-- the total comes from a scalar subquery in the same round trip, summing the running totals that triggers keep
-- (Sources/NotesStore/Migrations/0003_keep_note_totals.sql).
-- bench/run checks before each run that this is the statement the workers send (pg_stat_activity).
\set skip random(0, 9980)
SELECT id, text, completed, to_char(created_at AT TIME ZONE 'UTC', E'YYYY-MM-DD"T"HH24\072MI\072SS.US"Z"'), to_char(updated_at AT TIME ZONE 'UTC', E'YYYY-MM-DD"T"HH24\072MI\072SS.US"Z"'), (SELECT coalesce(sum(notes), 0)::bigint FROM note_totals)
FROM (SELECT id, text, completed, created_at, updated_at FROM notes WHERE true ORDER BY id LIMIT 20 OFFSET :skip) AS page
ORDER BY id;

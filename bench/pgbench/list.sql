-- GET /notes/?skip={random}&take=20: the worker's note_page (Sources/NotesStore/NoteStore.swift and
-- Paging.swift: pageSQL) with no completed filter: $3 is NULL, written NULL::boolean because pgbench cannot
-- bind a NULL variable (the worker's custom plans fold the NULL parameter the same way). The skipped rows are
-- read in a subquery that formats nothing; the total comes from a scalar subquery in the same round trip.
-- bench/run checks before each run that this is the statement the workers send (pg_stat_activity).
\set skip random(0, 9980)
SELECT id, text, completed, to_char(created_at AT TIME ZONE 'UTC', E'YYYY-MM-DD"T"HH24\072MI\072SS.US"Z"'), to_char(updated_at AT TIME ZONE 'UTC', E'YYYY-MM-DD"T"HH24\072MI\072SS.US"Z"'), (SELECT count(*) FROM notes WHERE NULL::boolean IS NULL OR completed = NULL::boolean)
FROM (SELECT id, text, completed, created_at, updated_at FROM notes WHERE NULL::boolean IS NULL OR completed = NULL::boolean ORDER BY id LIMIT 20 OFFSET :skip) AS page
ORDER BY id;

-- PUT /notes/{id}/: the worker's note_update, with the text the wrk scenario sends and no If-Match (the
-- versions parameter NULL, typed as the worker's).
\set id random(1, :seed)
\set completed true
UPDATE notes SET text = 'an updated note of about the same size'::text, completed = :completed, updated_at = now(), version = version + 1
WHERE id = :id::bigint AND (NULL::bigint[] IS NULL OR version = ANY(NULL::bigint[])) RETURNING id, text, completed, to_char(created_at AT TIME ZONE 'UTC', E'YYYY-MM-DD"T"HH24\072MI\072SS.US"Z"'), to_char(updated_at AT TIME ZONE 'UTC', E'YYYY-MM-DD"T"HH24\072MI\072SS.US"Z"'), version;

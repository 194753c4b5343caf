-- PUT /notes/{id}/: the worker's note_update, with the text the wrk scenario sends.
\set id random(1, 10000)
\set completed true
UPDATE notes SET text = 'an updated note of about the same size', completed = :completed, updated_at = now()
WHERE id = :id RETURNING id, text, completed, to_char(created_at AT TIME ZONE 'UTC', E'YYYY-MM-DD"T"HH24\072MI\072SS.US"Z"'), to_char(updated_at AT TIME ZONE 'UTC', E'YYYY-MM-DD"T"HH24\072MI\072SS.US"Z"');

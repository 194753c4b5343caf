-- POST /notes/: the worker's note_insert, with the text and flag the wrk scenario sends
-- (completed as a parameter, like the worker's $2).
\set completed false
INSERT INTO notes (text, completed) VALUES ('a note of about the size the benchmark writes', :completed)
RETURNING id, text, completed, to_char(created_at AT TIME ZONE 'UTC', E'YYYY-MM-DD"T"HH24\072MI\072SS.US"Z"'), to_char(updated_at AT TIME ZONE 'UTC', E'YYYY-MM-DD"T"HH24\072MI\072SS.US"Z"');

-- POST /notes/: the worker's note_insert, with the text and flag the wrk scenario sends
-- (completed as a parameter, like the worker's $2) and a new request id each time, as nginx's $request_id
-- is for the worker's $3.
\set completed false
INSERT INTO notes (text, completed, request_id) VALUES ('a note of about the size the benchmark writes', :completed, gen_random_uuid())
ON CONFLICT (request_id) DO NOTHING RETURNING id, text, completed, to_char(created_at AT TIME ZONE 'UTC', E'YYYY-MM-DD"T"HH24\072MI\072SS.US"Z"'), to_char(updated_at AT TIME ZONE 'UTC', E'YYYY-MM-DD"T"HH24\072MI\072SS.US"Z"'), version;

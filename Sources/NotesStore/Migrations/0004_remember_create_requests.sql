-- The id of the client request that created each row (nginx's $request_id, the same on every attempt nginx
-- makes). nginx resends a POST whose worker died before answering (fastcgi_next_upstream non_idempotent); the
-- resent create finds the row its first attempt made, if that attempt committed, instead of making a second.
-- Rows created without a request id (a FastCGI peer that sends none) keep NULL, which never conflicts.
ALTER TABLE notes ADD COLUMN request_id uuid;
ALTER TABLE authors ADD COLUMN request_id uuid;
ALTER TABLE articles ADD COLUMN request_id uuid;
CREATE UNIQUE INDEX notes_request_id ON notes (request_id);
CREATE UNIQUE INDEX authors_request_id ON authors (request_id);
CREATE UNIQUE INDEX articles_request_id ON articles (request_id);

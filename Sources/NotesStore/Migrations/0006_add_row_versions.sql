-- Every row gets a version, the entity tag of its representation (RFC 9110 ETag, docs/ARCHITECTURE.md,
-- "Conditional requests"): the statements that change a row's representation add one to it, in the same UPDATE,
-- so `If-Match` is checked by that UPDATE's own WHERE (`version = ANY($n)`) and two writers holding one tag
-- cannot both succeed. updated_at alone would not do: two updates within one microsecond (or one clock step
-- back) would share it. A constant default adds the column without rewriting the table (PostgreSQL 11 and on),
-- so existing rows and adopted databases get version 1 at once; the note_totals triggers (0003, 0005) follow
-- inserts, deletes and completed only, and this column changes none of them.
ALTER TABLE notes ADD COLUMN version bigint NOT NULL DEFAULT 1;
ALTER TABLE authors ADD COLUMN version bigint NOT NULL DEFAULT 1;
ALTER TABLE articles ADD COLUMN version bigint NOT NULL DEFAULT 1;

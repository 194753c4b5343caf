-- Full-text search and the orders of lists (issue 17).
--
-- The text search configuration is named in one place, these two functions: the indexes are built on
-- text_search_document(...) and the statements search with text_search_query(...), and PostgreSQL inlines
-- both, so an index is used only because the statements' expression is the index's own. 'simple' lowercases
-- words and neither stems them nor drops stop words, so it works for any language; docs/DATABASE.md says how
-- to choose another configuration (both functions replaced and the indexes rebuilt in one transaction).
CREATE FUNCTION text_search_document(body text) RETURNS tsvector
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT to_tsvector('simple'::regconfig, body) $$;

CREATE FUNCTION text_search_query(words text) RETURNS tsquery
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT websearch_to_tsquery('simple'::regconfig, words) $$;

CREATE INDEX notes_search ON notes USING gin (text_search_document(text));
CREATE INDEX articles_search ON articles USING gin (text_search_document(title || ' ' || content));

-- The notes ordered by creation: a page and its skipped rows read from this index alone, as by id. No such
-- index for updated_at (it would cost every update its HOT update) nor for text (a note's text can exceed
-- what one index entry may hold).
CREATE INDEX notes_created_at_id ON notes (created_at, id);

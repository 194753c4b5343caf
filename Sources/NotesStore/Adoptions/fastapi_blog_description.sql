-- At the FastAPI blog's first revision (c6e1f1bd7e55) an article's text is in `description`; its next revision
-- (4143b65eccf4), and this service, have `content`. Both are kept, equal: `content` starts as a copy, and a trigger
-- copies whichever of the two a writer sets to the other, so an app of either revision and this service read the
-- same text. Runs before fastapi_blog.sql.
ALTER TABLE articles ADD COLUMN content text;
UPDATE articles SET content = description;

CREATE FUNCTION articles_keep_description() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        NEW.content := coalesce(NEW.content, NEW.description);
        NEW.description := NEW.content;
    ELSIF NEW.content IS DISTINCT FROM OLD.content THEN
        NEW.description := NEW.content;
    ELSIF NEW.description IS DISTINCT FROM OLD.description THEN
        NEW.content := NEW.description;
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER articles_keep_description
    BEFORE INSERT OR UPDATE ON articles
    FOR EACH ROW EXECUTE FUNCTION articles_keep_description();

-- Running totals of notes, for X-Total-Count. count(*) reads every matching row, so at 10,000 notes it was
-- half the time of a list (docs/PERFORMANCE.md); summing these rows reads one page.
--
-- Triggers change the totals in the same transaction as the notes, so every snapshot sees totals that agree
-- exactly with the notes it sees. The totals are spread over shards chosen by the writer's backend pid:
-- a writer holds its shard's row lock until it commits, and with one row every concurrent create would
-- wait for the previous commit's flush. A total is the sum over the shards.
CREATE TABLE note_totals (
    shard     integer PRIMARY KEY,
    notes     bigint  NOT NULL,
    completed bigint  NOT NULL
);

-- One statement in PL/pgSQL, whose plan is cached for the session: calling an SQL function instead plans its
-- body again on every row.
CREATE FUNCTION note_totals_follow_row() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    notes_change     bigint := 0;
    completed_change bigint := 0;
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        notes_change := 1;
        completed_change := NEW.completed::integer;
    END IF;
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        notes_change := notes_change - 1;
        completed_change := completed_change - OLD.completed::integer;
    END IF;
    INSERT INTO note_totals AS totals (shard, notes, completed)
    VALUES (pg_backend_pid() % 64, notes_change, completed_change)
    ON CONFLICT (shard) DO UPDATE
        SET notes = totals.notes + excluded.notes, completed = totals.completed + excluded.completed;
    RETURN NULL;
END
$$;

CREATE FUNCTION note_totals_clear() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM note_totals;
    RETURN NULL;
END
$$;

CREATE TRIGGER note_totals_follow_inserts_and_deletes
    AFTER INSERT OR DELETE ON notes
    FOR EACH ROW EXECUTE FUNCTION note_totals_follow_row();

CREATE TRIGGER note_totals_follow_completed
    AFTER UPDATE OF completed ON notes
    FOR EACH ROW WHEN (OLD.completed IS DISTINCT FROM NEW.completed) EXECUTE FUNCTION note_totals_follow_row();

CREATE TRIGGER note_totals_follow_truncate
    AFTER TRUNCATE ON notes
    FOR EACH STATEMENT EXECUTE FUNCTION note_totals_clear();

-- Running workers may write while this migrates: SHARE mode waits for their transactions and holds new
-- writes until this one commits, so the totals start from exactly the notes that exist.
LOCK TABLE notes IN SHARE MODE;
INSERT INTO note_totals (shard, notes, completed)
SELECT 0, count(*), count(*) FILTER (WHERE completed) FROM notes;

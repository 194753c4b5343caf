-- The totals of 0003 followed the notes row by row: each row's upsert made a new version of its shard's row,
-- and the next row's upsert walked every version the transaction had made so far, so one statement writing
-- N notes cost O(N²) (40,000 rows: 13 s, 0.26 s without the triggers; docs/PERFORMANCE.md). These triggers run
-- once per statement, read the rows it wrote from its transition tables, and make one upsert of the summed
-- change: linear, and one upsert for a single row as before. The shards by backend pid, the totals changed in
-- the notes' own transaction and the TRUNCATE trigger stay as 0003 explains them.

-- DROP TRIGGER takes this lock anyway; taking it first means no lock upgrade (which could deadlock with a
-- running worker), and the totals below are recomputed from exactly the notes that exist.
LOCK TABLE notes IN ACCESS EXCLUSIVE MODE;

DROP TRIGGER note_totals_follow_inserts_and_deletes ON notes;
DROP TRIGGER note_totals_follow_completed ON notes;
DROP FUNCTION note_totals_follow_row();

-- One function for the three triggers, which name their transition tables alike: PL/pgSQL compiles a trigger
-- function once per trigger and plans a query when it first runs it, so each trigger plans its own branch only.
--
-- It names note_totals with its schema, written in here: pg_dump's output empties the search_path, and a
-- data-only restore into notes would find no note_totals. (SET search_path on the function instead cost each
-- single-row write 6-42 µs more of the backend's CPU, docs/PERFORMANCE.md.) %% is format's own %.
DO $migration$
BEGIN
    EXECUTE format($function$
CREATE FUNCTION note_totals_follow_statement() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    notes_change     bigint := 0;
    completed_change bigint := 0;
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT count(*), count(*) FILTER (WHERE completed) INTO notes_change, completed_change FROM new_rows;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT -count(*), -count(*) FILTER (WHERE completed) INTO notes_change, completed_change FROM old_rows;
    ELSE
        -- An update changes no count of notes, only how many are completed, whatever it did to other columns.
        completed_change := (SELECT count(*) FILTER (WHERE completed) FROM new_rows)
            - (SELECT count(*) FILTER (WHERE completed) FROM old_rows);
    END IF;
    -- A statement that changed no total (no row, or an update that left completed as it was) takes no lock.
    IF notes_change <> 0 OR completed_change <> 0 THEN
        INSERT INTO %1$s.note_totals AS totals (shard, notes, completed)
        VALUES (pg_backend_pid() %% 64, notes_change, completed_change)
        ON CONFLICT (shard) DO UPDATE
            SET notes = totals.notes + excluded.notes, completed = totals.completed + excluded.completed;
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION note_totals_clear() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM %1$s.note_totals;
    RETURN NULL;
END
$$;
$function$, (SELECT relnamespace::regnamespace::text FROM pg_class WHERE oid = 'note_totals'::regclass));
END
$migration$;

CREATE TRIGGER note_totals_follow_inserts
    AFTER INSERT ON notes REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION note_totals_follow_statement();

CREATE TRIGGER note_totals_follow_deletes
    AFTER DELETE ON notes REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION note_totals_follow_statement();

-- Transition tables cannot go with a column list (UPDATE OF completed) nor a statement trigger with a WHEN,
-- so this runs after every UPDATE of notes, and one that leaves completed as it was adds nothing.
CREATE TRIGGER note_totals_follow_updates
    AFTER UPDATE ON notes REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION note_totals_follow_statement();

DELETE FROM note_totals;
INSERT INTO note_totals (shard, notes, completed)
SELECT 0, count(*), count(*) FILTER (WHERE completed) FROM notes;

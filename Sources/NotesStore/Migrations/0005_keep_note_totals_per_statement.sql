-- The totals of 0003 followed the notes row by row: each row's upsert made a new version of its shard's row,
-- and the next row's upsert walked every version the transaction had made so far, so one statement writing
-- N notes cost O(N²) (40,000 rows: 13 s, 0.26 s without the triggers; docs/PERFORMANCE.md). Now each statement
-- makes one upsert of its summed change: inserts and deletes count their rows in transition tables; updates
-- add up their flips of completed row by row in a transaction-local setting, which a statement trigger adds to
-- the totals once (so an update that changes no completed, the API's usual PUT, runs no function per row, as
-- with 0003). The shards by backend pid, the totals changed in the notes' own transaction and the TRUNCATE
-- trigger stay as 0003 explains them.

-- DROP TRIGGER takes this lock anyway; taking it first means no lock upgrade (which could deadlock with a
-- running worker), and the totals below are recomputed from exactly the notes that exist.
LOCK TABLE notes IN ACCESS EXCLUSIVE MODE;

DROP TRIGGER note_totals_follow_inserts_and_deletes ON notes;
DROP TRIGGER note_totals_follow_completed ON notes;
DROP FUNCTION note_totals_follow_row();

-- The functions name note_totals with its schema, written in here: pg_dump's output empties the search_path,
-- and a data-only restore into notes would otherwise find no note_totals. (SET search_path on a function
-- cost each single-row write 6-42 µs more of the backend's CPU, docs/PERFORMANCE.md.) %% is format's own %.
DO $migration$
BEGIN
    EXECUTE format($functions$
-- PL/pgSQL compiles a trigger function once per trigger and plans a query when it first runs it, so the
-- insert and delete triggers, which name their transition tables alike, share this and plan one branch each.
CREATE FUNCTION note_totals_follow_statement() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    notes_change     bigint;
    completed_change bigint;
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT count(*), count(*) FILTER (WHERE completed) INTO notes_change, completed_change FROM new_rows;
    ELSE
        SELECT -count(*), -count(*) FILTER (WHERE completed) INTO notes_change, completed_change FROM old_rows;
    END IF;
    -- A statement that wrote no row (a create resent by nginx, DO NOTHING) takes no shard row lock.
    IF notes_change <> 0 THEN
        INSERT INTO %1$s.note_totals AS totals (shard, notes, completed)
        VALUES (pg_backend_pid() %% 64, notes_change, completed_change)
        ON CONFLICT (shard) DO UPDATE
            SET notes = totals.notes + excluded.notes, completed = totals.completed + excluded.completed;
    END IF;
    RETURN NULL;
END
$$;

-- One updated row whose completed changed: +1 or -1 to the statement's pending change.
CREATE FUNCTION note_totals_count_flip() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('notes.pending_completed_change',
        (coalesce(nullif(current_setting('notes.pending_completed_change', true), ''), '0')::bigint
            + CASE WHEN NEW.completed THEN 1 ELSE -1 END)::text, true);
    RETURN NULL;
END
$$;

-- After the row triggers of the statement: its pending change to the totals, once, and back to zero.
CREATE FUNCTION note_totals_add_flips() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    change bigint := coalesce(nullif(current_setting('notes.pending_completed_change', true), ''), '0')::bigint;
BEGIN
    IF change <> 0 THEN
        PERFORM set_config('notes.pending_completed_change', '0', true);
        INSERT INTO %1$s.note_totals AS totals (shard, notes, completed)
        VALUES (pg_backend_pid() %% 64, 0, change)
        ON CONFLICT (shard) DO UPDATE SET completed = totals.completed + excluded.completed;
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
$functions$, (SELECT relnamespace::regnamespace::text FROM pg_class WHERE oid = 'note_totals'::regclass));
END
$migration$;

CREATE TRIGGER note_totals_follow_inserts
    AFTER INSERT ON notes REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION note_totals_follow_statement();

CREATE TRIGGER note_totals_follow_deletes
    AFTER DELETE ON notes REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION note_totals_follow_statement();

-- Not a transition table for updates: PostgreSQL allows none with a column list (UPDATE OF completed) and
-- a statement trigger has no WHEN, so every PUT would copy its rows and run a function (about a third of
-- pgbench's update rate, docs/PERFORMANCE.md). Both triggers fire for exactly the statements that set
-- completed, so what the row trigger adds the statement trigger takes; a statement that fails takes its
-- setting back with it.
CREATE TRIGGER note_totals_count_flips
    AFTER UPDATE OF completed ON notes
    FOR EACH ROW WHEN (OLD.completed IS DISTINCT FROM NEW.completed) EXECUTE FUNCTION note_totals_count_flip();

CREATE TRIGGER note_totals_follow_updates
    AFTER UPDATE OF completed ON notes
    FOR EACH STATEMENT EXECUTE FUNCTION note_totals_add_flips();

DELETE FROM note_totals;
INSERT INTO note_totals (shard, notes, completed)
SELECT 0, count(*), count(*) FILTER (WHERE completed) FROM notes;

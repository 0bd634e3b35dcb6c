-- The search's text and its trigram index move from `users` to a narrow table of their own,
-- which `store::search::settle` keeps in username order on disk.
--
-- A page of a common term is cut from every match, sorted. On `users` the matches of a first
-- name (25,000 people at a million) lay one to a page across the whole table, so each such
-- search read most of its 50,000 pages; here they lie side by side on a few hundred.
-- And `users` is written far more often than names change: every write of a person (a
-- password, a flag, a failed sign-in) that could not stay on its page added an entry to the
-- trigram index as well. Now only adding, renaming or deleting a person touches it.

-- As 0012 folded it on `users`, and as `search::folded` folds a term (a test compares them).
CREATE FUNCTION search_fold(text) RETURNS text LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT translate($1, ' !"#$%&''()*+,-./:;<=>?@[\]^_`{|}~', 'qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq')
$$;

CREATE TABLE people_search (
    id            TEXT PRIMARY KEY NOT NULL,
    username_key  TEXT COLLATE "C" NOT NULL,
    search_text   TEXT NOT NULL,
    -- Stored by the triggers below rather than generated: a generated column would be folded
    -- again for every row each time the table is rewritten in order (9 µs a row).
    search_folded TEXT NOT NULL
);
INSERT INTO people_search (id, username_key, search_text, search_folded)
    SELECT id, username_key, search_text, search_folded FROM users ORDER BY username_key;
-- Not unique: `users` holds usernames unique, and a statement that swaps two usernames
-- passes through a moment where this copy would hold one twice.
CREATE INDEX people_search_order ON people_search (username_key);
CREATE INDEX people_search_trgm ON people_search USING gin (search_folded gin_trgm_ops);

DROP INDEX users_search_trgm;
ALTER TABLE users DROP COLUMN search_folded;

-- Kept in step with every write, in the writer's transaction. Inserts and deletes once a
-- statement, so an import's batch of people is one insert here too. No foreign key: the table
-- is replaced whole when it is put in order, and a key would lock `users` to do it.
CREATE FUNCTION people_search_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO people_search (id, username_key, search_text, search_folded)
        SELECT id, username_key, search_text, search_fold(search_text) FROM added
        ORDER BY username_key;
    RETURN NULL;
END $$;
CREATE TRIGGER users_people_search_add AFTER INSERT ON users
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION people_search_add();

CREATE FUNCTION people_search_rename() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE people_search
        SET username_key = NEW.username_key, search_text = NEW.search_text,
            search_folded = search_fold(NEW.search_text)
        WHERE id = NEW.id;
    RETURN NULL;
END $$;
CREATE TRIGGER users_people_search_rename AFTER UPDATE OF username_key, search_text ON users
    FOR EACH ROW
    WHEN (OLD.username_key IS DISTINCT FROM NEW.username_key
          OR OLD.search_text IS DISTINCT FROM NEW.search_text)
    EXECUTE FUNCTION people_search_rename();

CREATE FUNCTION people_search_remove() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM people_search WHERE id IN (SELECT id FROM removed);
    RETURN NULL;
END $$;
CREATE TRIGGER users_people_search_remove AFTER DELETE ON users
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION people_search_remove();

-- `store::search::settle`: the table again, in username order, built beside the one in use
-- and put in its place in one transaction. Adding, renaming and deleting people wait while it
-- is built (about 15 s at a million people); searches go on reading the old one until the
-- swap, which waits only for the searches already running.
CREATE FUNCTION people_search_reorder() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    -- Conflicts with itself, so two instances settling at once take turns.
    LOCK TABLE people_search IN SHARE ROW EXCLUSIVE MODE;
    CREATE TABLE people_search_next (LIKE people_search INCLUDING ALL EXCLUDING INDEXES);
    INSERT INTO people_search_next SELECT * FROM people_search ORDER BY username_key;
    ALTER TABLE people_search_next ADD CONSTRAINT people_search_next_pkey PRIMARY KEY (id);
    CREATE INDEX people_search_next_order ON people_search_next (username_key);
    CREATE INDEX people_search_next_trgm ON people_search_next
        USING gin (search_folded gin_trgm_ops);
    DROP TABLE people_search;
    ALTER TABLE people_search_next RENAME TO people_search;
    ALTER INDEX people_search_next_pkey RENAME TO people_search_pkey;
    ALTER INDEX people_search_next_order RENAME TO people_search_order;
    ALTER INDEX people_search_next_trgm RENAME TO people_search_trgm;
END $$;

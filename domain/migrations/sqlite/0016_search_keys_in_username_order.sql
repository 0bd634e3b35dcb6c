-- The search index's keys follow the username order, so that FTS5's own order (it reads its
-- matches by key) is the order a page of the Users search lists them in: a page is the first
-- matches after the previous page's key, and FTS5 stops once it has them, however many people
-- the term matches. Before, every match was sorted by username first (76 ms for a common
-- term at a million people).
--
-- Keys start 2^32 apart: no further, because FTS5 stores each match as its key's difference
-- from the previous match's, in as many bytes as that needs, so wider spacing makes a larger
-- index. A new person's key lies 2^32 past the key of the one before them in username order,
-- or halfway to the next one's when that is nearer (2^32 before the first when they come
-- first): people inserted in username order, as a batch is, take one step each from a wide
-- gap rather than halving it each time. When no whole number is left between their
-- neighbours' keys, the key stays NULL and the inserting transaction spreads the keys around
-- it out again before it commits (`store::search::place_crowded`). Keys lie strictly between
-- -(2^62 - 1) and 2^62 - 1, so the difference of any two fits in 64 bits. Usernames never
-- change, so neither do keys, except when spread out.
DROP TRIGGER users_search_insert;
DROP TRIGGER users_search_delete;
DROP TRIGGER users_search_update;
-- The sort it served is gone.
DROP INDEX users_search_order;

UPDATE users SET search_key = NULL;
UPDATE users SET search_key = ordered.key
FROM (
    SELECT id, ROW_NUMBER() OVER (ORDER BY username_key) * 4294967296 AS key FROM users
) AS ordered
WHERE users.id = ordered.id;
INSERT INTO users_search (users_search) VALUES ('rebuild');

CREATE TRIGGER users_search_insert AFTER INSERT ON users BEGIN
    UPDATE users SET search_key = (
        SELECT CASE
            WHEN prev IS NULL AND next IS NULL THEN 0
            WHEN hi - lo < 2 THEN NULL
            WHEN prev IS NULL THEN hi - MIN((hi - lo) / 2, 4294967296)
            ELSE lo + MIN((hi - lo) / 2, 4294967296)
        END
        FROM (
            SELECT prev, next,
                COALESCE(prev, -4611686018427387903) AS lo,
                COALESCE(next, 4611686018427387903) AS hi
            FROM (
                SELECT
                    (SELECT search_key FROM users
                     WHERE username_key < new.username_key AND search_key IS NOT NULL
                     ORDER BY username_key DESC LIMIT 1) AS prev,
                    (SELECT search_key FROM users
                     WHERE username_key > new.username_key AND search_key IS NOT NULL
                     ORDER BY username_key LIMIT 1) AS next
            )
        )
    ) WHERE id = new.id;
END;
-- A key given or moved: the index entry moves with it.
CREATE TRIGGER users_search_placed AFTER UPDATE OF search_key ON users BEGIN
    INSERT INTO users_search (users_search, rowid, search_text)
        SELECT 'delete', old.search_key, old.search_text WHERE old.search_key IS NOT NULL;
    INSERT INTO users_search (rowid, search_text)
        SELECT new.search_key, new.search_text WHERE new.search_key IS NOT NULL;
END;
CREATE TRIGGER users_search_delete AFTER DELETE ON users WHEN old.search_key IS NOT NULL BEGIN
    INSERT INTO users_search (users_search, rowid, search_text)
        VALUES ('delete', old.search_key, old.search_text);
END;
CREATE TRIGGER users_search_update AFTER UPDATE OF search_text ON users
WHEN new.search_key IS NOT NULL BEGIN
    INSERT INTO users_search (users_search, rowid, search_text)
        VALUES ('delete', old.search_key, old.search_text);
    INSERT INTO users_search (rowid, search_text) VALUES (new.search_key, new.search_text);
END;

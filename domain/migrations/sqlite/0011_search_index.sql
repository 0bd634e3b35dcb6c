-- Search at a million users: a trigram index over what the search box matches, so a substring
-- of three or more characters is found through the index instead of a scan of every row.
--
-- The index is keyed by `search_key`, a number of the row's own that never changes: the rowid
-- of a table without an INTEGER PRIMARY KEY may be renumbered by VACUUM, which would leave an
-- index keyed by it pointing at the wrong people.
ALTER TABLE users ADD COLUMN search_key INTEGER;
UPDATE users SET search_key = rowid;
CREATE UNIQUE INDEX users_search_key ON users (search_key);

CREATE VIRTUAL TABLE users_search USING fts5(
    search_text, content = 'users', content_rowid = 'search_key', tokenize = 'trigram'
);
INSERT INTO users_search (users_search) VALUES ('rebuild');

-- Kept in step with every write, in the writer's transaction.
CREATE TRIGGER users_search_insert AFTER INSERT ON users BEGIN
    UPDATE users SET search_key = (SELECT COALESCE(MAX(search_key), 0) + 1 FROM users)
        WHERE id = new.id;
    INSERT INTO users_search (rowid, search_text)
        SELECT search_key, search_text FROM users WHERE id = new.id;
END;
CREATE TRIGGER users_search_delete AFTER DELETE ON users BEGIN
    INSERT INTO users_search (users_search, rowid, search_text)
        VALUES ('delete', old.search_key, old.search_text);
END;
CREATE TRIGGER users_search_update AFTER UPDATE OF search_text ON users BEGIN
    INSERT INTO users_search (users_search, rowid, search_text)
        VALUES ('delete', old.search_key, old.search_text);
    INSERT INTO users_search (rowid, search_text) VALUES (new.search_key, new.search_text);
END;

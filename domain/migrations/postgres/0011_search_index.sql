-- Search at a million users: a trigram index over what the search box matches, so a substring
-- of three or more characters is found through the index instead of a scan of every row.
-- pg_trgm is a trusted extension (PostgreSQL 13+): the database's owner may create it.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX users_search_trgm ON users USING gin (search_text gin_trgm_ops);

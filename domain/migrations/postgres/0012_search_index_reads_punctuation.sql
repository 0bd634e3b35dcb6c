-- pg_trgm reads text as words and drops spaces and punctuation, so a term such as "e e" or
-- "o.c" gave the index almost nothing to go on: it named nearly every row, and each was read
-- and rechecked. The index is now over the text with every space and ASCII punctuation mark
-- read as the letter q, which keeps "e e" one word ("eqe") with trigrams of its own. A "q"
-- typed for real may also match there: the index only proposes rows, and the search still
-- tests each against the text as it is.
--
-- The folded text is stored, not computed in the index's expression: every row the index
-- proposes is rechecked, and translate() costs about 7 µs a row, which made a common term's
-- page cost half a second. It must fold as `search::folded` does (a test compares them).
ALTER TABLE users ADD COLUMN search_folded TEXT
    GENERATED ALWAYS AS (translate(search_text, ' !"#$%&''()*+,-./:;<=>?@[\]^_`{|}~', 'qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq')) STORED;
DROP INDEX IF EXISTS users_search_trgm;
CREATE INDEX users_search_trgm ON users USING gin (search_folded gin_trgm_ops);

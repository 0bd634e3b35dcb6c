-- How many people's folded search text holds each piece of three and of five characters, in a
-- sample of `people_search` that `store::search::settle` takes (`store::search_pieces`).
--
-- A long term's trigrams are each in tens of thousands of rows (`evelynqkernighan`: every
-- Evelyn, every Kernighan, every first name ending in "n"), and the trigram index decodes the
-- whole list of every trigram it is given. Five characters of the term whose own trigrams are
-- rarer, chosen with these counts, find a superset of its matches for a fraction of that; the
-- term itself then tests each.
CREATE TABLE search_pieces (
    piece TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    -- People of the sample holding the piece; for the piece '', the people sampled.
    rows  BIGINT NOT NULL
);

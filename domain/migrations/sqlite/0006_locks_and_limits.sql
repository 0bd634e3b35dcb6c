-- How many locks in a row an account has had since its last good sign-in or reset: each lock
-- lasts longer than the one before (15 minutes, then 1 hour, then 4 hours).
ALTER TABLE users ADD COLUMN lock_count INTEGER NOT NULL DEFAULT 0;

-- Fixed-window counters for rate limits, shared by every instance on this database. A bucket
-- names what is counted and a SHA-256 of whose (an address or a typed sign-in name), never the
-- name itself: a password typed into the username field must not be kept.
CREATE TABLE rate_limits (
    bucket       TEXT PRIMARY KEY NOT NULL,
    window_start INTEGER NOT NULL,
    hits         INTEGER NOT NULL
);

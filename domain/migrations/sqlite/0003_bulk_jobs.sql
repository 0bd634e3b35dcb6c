-- Bulk Change: a job and one row per selected user. Work happens in batches, each batch one
-- transaction that applies the change and records the item's outcome together, so a job that
-- stops (a restart, a crash) resumes where it was without doing anything twice.

CREATE TABLE bulk_jobs (
    id                  TEXT PRIMARY KEY NOT NULL,
    kind                TEXT NOT NULL CHECK (kind IN ('force_reset', 'send_link')),
    link_minutes        INTEGER,
    invalidate_password INTEGER NOT NULL DEFAULT 0 CHECK (invalidate_password IN (0, 1)),
    created_by_id       TEXT NOT NULL,
    created_by_name     TEXT NOT NULL,
    created_by_role     TEXT NOT NULL,
    ip                  TEXT,
    created_at          INTEGER NOT NULL,
    finished_at         INTEGER,
    total               INTEGER NOT NULL,
    processed           INTEGER NOT NULL DEFAULT 0,
    lease_until         INTEGER,
    -- Who holds the lease: every batch renews it only while it still names this runner.
    lease_owner         TEXT
);
CREATE INDEX bulk_jobs_open ON bulk_jobs (finished_at, created_at);

CREATE TABLE bulk_items (
    job_id       TEXT NOT NULL REFERENCES bulk_jobs (id) ON DELETE CASCADE,
    seq          INTEGER NOT NULL,
    user_id      TEXT NOT NULL,
    username     TEXT NOT NULL,
    outcome      TEXT CHECK (outcome IN ('reset', 'link_queued', 'skipped', 'failed')),
    reason       TEXT,
    email_id     TEXT,
    processed_at INTEGER,
    PRIMARY KEY (job_id, seq)
);
CREATE UNIQUE INDEX bulk_items_user ON bulk_items (job_id, user_id);

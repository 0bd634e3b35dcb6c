-- Import users from CSV: an uploaded file's rows, sorted before anything changes (the preview),
-- then applied in the background with what happened to each row (the report). Stored, not
-- kept in memory, so the preview and the start may reach different instances.
CREATE TABLE import_jobs (
    id              TEXT PRIMARY KEY NOT NULL,
    created_by_id   TEXT NOT NULL,
    created_by_name TEXT NOT NULL,
    file_name       TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    total           INTEGER NOT NULL,
    send_links      INTEGER NOT NULL DEFAULT 0,
    started_at      INTEGER,
    -- Renewed after every batch: a job whose heartbeat stopped was interrupted.
    heartbeat_at    INTEGER,
    finished_at     INTEGER,
    processed       INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE import_rows (
    job_id       TEXT NOT NULL REFERENCES import_jobs (id) ON DELETE CASCADE,
    line         INTEGER NOT NULL,
    username     TEXT NOT NULL,
    display_name TEXT,
    email        TEXT,
    role         TEXT,
    active       TEXT,
    verdict      TEXT NOT NULL,
    detail       TEXT NOT NULL,
    result       TEXT,
    result_detail TEXT,
    PRIMARY KEY (job_id, line)
);

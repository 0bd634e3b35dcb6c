-- Queued email bodies are sealed with the server's secret key, which lives outside the
-- database. The database keeps only the key's public fingerprint, so an instance started with
-- another key is refused instead of queueing mail that no other instance can read.
CREATE TABLE secret_key_check (
    id          INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    fingerprint TEXT NOT NULL
);

-- Bulk Change: the key the preview dialog handed out. Starting twice with one key (a double
-- click, a retried request) returns the job the first start created.
ALTER TABLE bulk_jobs ADD COLUMN request_key TEXT;
CREATE UNIQUE INDEX bulk_jobs_request_key ON bulk_jobs (created_by_id, request_key)
    WHERE request_key IS NOT NULL;

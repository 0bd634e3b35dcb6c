-- A job's outcome counts, kept by each batch in the transaction that records its items, so the
-- job page's progress request (once a second while the page is open) reads one row instead of
-- every item of a 100,000-user job.
ALTER TABLE bulk_jobs ADD COLUMN reset_count BIGINT NOT NULL DEFAULT 0;
ALTER TABLE bulk_jobs ADD COLUMN link_queued_count BIGINT NOT NULL DEFAULT 0;
ALTER TABLE bulk_jobs ADD COLUMN skipped_count BIGINT NOT NULL DEFAULT 0;
ALTER TABLE bulk_jobs ADD COLUMN failed_count BIGINT NOT NULL DEFAULT 0;
UPDATE bulk_jobs SET
    reset_count = (SELECT COUNT(*) FROM bulk_items i
                   WHERE i.job_id = bulk_jobs.id AND i.outcome = 'reset'),
    link_queued_count = (SELECT COUNT(*) FROM bulk_items i
                         WHERE i.job_id = bulk_jobs.id AND i.outcome = 'link_queued'),
    skipped_count = (SELECT COUNT(*) FROM bulk_items i
                     WHERE i.job_id = bulk_jobs.id AND i.outcome = 'skipped'),
    failed_count = (SELECT COUNT(*) FROM bulk_items i
                    WHERE i.job_id = bulk_jobs.id AND i.outcome = 'failed');

-- A link's email names the job that queued it, so the split of a job's links by delivery
-- (sent, failed, still queued) counts its emails through an index.
ALTER TABLE email_outbox ADD COLUMN bulk_job_id TEXT;
UPDATE email_outbox SET bulk_job_id = i.job_id
    FROM bulk_items i WHERE i.email_id = email_outbox.id AND i.outcome = 'link_queued';
CREATE INDEX email_outbox_bulk_job ON email_outbox (bulk_job_id, state)
    WHERE bulk_job_id IS NOT NULL;

-- The mailer takes the emails that carry an expiring link or password before notices
-- (`store::outbox::claim_next`). Each email's place in that order is stored when it is queued,
-- and one index holds the queue in the order it is sent: a claim reads the first few entries
-- of the index however long the queue is, where it sorted every due email (a Bulk Change of
-- 100,000 people queues 100,000 notices: 30-40 ms a claim on SQLite, for hours).
ALTER TABLE email_outbox ADD COLUMN send_rank BIGINT NOT NULL DEFAULT 1;
UPDATE email_outbox SET send_rank = 0
    WHERE kind IN ('reset_link', 'welcome', 'access_info', 'password_set');
CREATE INDEX email_outbox_queue ON email_outbox (state, send_rank, next_attempt_at);
-- The new index serves every lookup by state the old one did.
DROP INDEX email_outbox_due;

-- Management > Templates: the HTML alternative of an email, sealed like its body and erased
-- with it once the email has gone or been given up on.
ALTER TABLE email_outbox ADD COLUMN html TEXT;

-- The sending rate counts what went out in the last minute and the last day.
CREATE INDEX email_outbox_sent ON email_outbox (sent_at);

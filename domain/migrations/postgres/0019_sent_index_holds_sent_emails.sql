-- The index of when emails were sent held every email, the queued ones under NULL: each email
-- queued (a Bulk Change of 100,000 people queues 90,000 notices) added an entry that no query
-- reads. The two that read it ask for sent_at at or after a time, which only a sent email
-- has, so the index now holds sent emails alone and an email enters it when it is sent.
DROP INDEX email_outbox_sent;
CREATE INDEX email_outbox_sent ON email_outbox (sent_at) WHERE sent_at IS NOT NULL;

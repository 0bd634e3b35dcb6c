-- Two foreign keys checked once a statement instead of once a row.
--
-- PostgreSQL checks a foreign key with a query of its own for each row written: 4.7 µs a row
-- here, more than the row's insert itself (100,000 rows took 860 ms with the key and 390 ms
-- without). A Bulk Change batch queues its 2,000 notices in one statement, and a job writes its
-- 100,000 items in one, so those two keys cost a job about 0.9 s. These triggers check the same
-- thing once a statement, for all its rows at once: every parent named exists, and it is locked
-- against deletion until the transaction ends (`FOR KEY SHARE`, the lock the key's own check
-- takes), with the error the key raised. Deleting a parent does what the key did.

ALTER TABLE email_outbox DROP CONSTRAINT email_outbox_user_id_fkey;

CREATE FUNCTION email_outbox_users_exist() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (SELECT count(DISTINCT user_id) FROM added)
       <> (SELECT count(*) FROM (SELECT id FROM users WHERE id IN (SELECT user_id FROM added)
                                 FOR KEY SHARE) AS held) THEN
        RAISE foreign_key_violation
            USING MESSAGE = 'an email names a user who does not exist';
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER email_outbox_users_exist AFTER INSERT ON email_outbox
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION email_outbox_users_exist();
-- Only inserts are checked: no statement gives an email to another user, and this one takes
-- it from them.
CREATE FUNCTION users_emails_kept() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE email_outbox SET user_id = NULL WHERE user_id IN (SELECT id FROM removed);
    RETURN NULL;
END $$;
CREATE TRIGGER users_emails_kept AFTER DELETE ON users
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION users_emails_kept();

ALTER TABLE bulk_items DROP CONSTRAINT bulk_items_job_id_fkey;

CREATE FUNCTION bulk_items_jobs_exist() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (SELECT count(DISTINCT job_id) FROM added)
       <> (SELECT count(*) FROM (SELECT id FROM bulk_jobs WHERE id IN (SELECT job_id FROM added)
                                 FOR KEY SHARE) AS held) THEN
        RAISE foreign_key_violation
            USING MESSAGE = 'a bulk item names a job that does not exist';
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER bulk_items_jobs_exist AFTER INSERT ON bulk_items
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION bulk_items_jobs_exist();
CREATE FUNCTION bulk_jobs_items_go() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM bulk_items WHERE job_id IN (SELECT id FROM removed);
    RETURN NULL;
END $$;
CREATE TRIGGER bulk_jobs_items_go AFTER DELETE ON bulk_jobs
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION bulk_jobs_items_go();

-- Reset links, temporary passwords and the transactional email outbox.

-- Set only while the password is a temporary one: it stops working at this time, and its first
-- use sets it to that moment.
ALTER TABLE users ADD COLUMN password_expires_at BIGINT;

-- Every email leaves through this table, written in the transaction of the action that causes
-- it. `body` may hold a link or a password, so it is erased once the message is delivered,
-- abandoned or cancelled; the row stays as the record of delivery.
CREATE TABLE email_outbox (
    id              TEXT PRIMARY KEY NOT NULL,
    user_id         TEXT REFERENCES users (id) ON DELETE SET NULL,
    kind            TEXT NOT NULL,
    to_address      TEXT NOT NULL,
    subject         TEXT NOT NULL,
    body            TEXT,
    state           TEXT NOT NULL CHECK (state IN ('queued', 'sending', 'sent', 'failed', 'cancelled')),
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    lease_until     BIGINT,
    last_error      TEXT,
    created_at      BIGINT NOT NULL,
    sent_at         BIGINT,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX email_outbox_due ON email_outbox (state, next_attempt_at);
CREATE INDEX email_outbox_user ON email_outbox (user_id, created_at);

-- One row per reset an administrator (or the user, through "Forgot your password?") started:
-- an emailed link, a temporary password, or a generated password sent by email.
CREATE TABLE password_resets (
    id                   TEXT PRIMARY KEY NOT NULL,
    user_id              TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind                 TEXT NOT NULL CHECK (kind IN ('link', 'temporary_password', 'emailed_password')),
    token_hash           TEXT UNIQUE,
    created_at           BIGINT NOT NULL,
    created_by_id        TEXT,
    created_by_name      TEXT,
    expires_at           BIGINT NOT NULL,
    used_at              BIGINT,
    voided_at            BIGINT,
    void_reason          TEXT,
    email_id             TEXT REFERENCES email_outbox (id),
    invalidated_password BIGINT NOT NULL DEFAULT 0 CHECK (invalidated_password IN (0, 1))
);
CREATE INDEX password_resets_user ON password_resets (user_id, created_at);
-- At most one open reset per user: two resets racing (two admins, a bulk job and a manual
-- reset) cannot both leave a usable link; the second to commit fails instead.
CREATE UNIQUE INDEX password_resets_one_open ON password_resets (user_id)
    WHERE used_at IS NULL AND voided_at IS NULL;

-- Times are UTC milliseconds since the Unix epoch; flags are 0/1 integers (the same shape as the
-- SQLite schema, so one set of queries serves both engines).

CREATE TABLE users (
    id                   TEXT PRIMARY KEY NOT NULL,
    username             TEXT NOT NULL,
    -- C collation: keyset pagination compares with `>`, which must agree with SQLite's byte order.
    username_key         TEXT COLLATE "C" NOT NULL UNIQUE,
    display_name         TEXT NOT NULL,
    email                TEXT,
    email_key            TEXT,
    search_text          TEXT NOT NULL,
    active               BIGINT NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    source               TEXT NOT NULL DEFAULT 'local' CHECK (source IN ('local', 'external')),
    role                 TEXT NOT NULL DEFAULT 'user'
                         CHECK (role IN ('administrator', 'password_manager', 'user')),
    password_hash        TEXT,
    must_change_password BIGINT NOT NULL DEFAULT 0 CHECK (must_change_password IN (0, 1)),
    password_changed_at  BIGINT,
    failed_logins        BIGINT NOT NULL DEFAULT 0,
    locked_until         BIGINT,
    created_at           BIGINT NOT NULL,
    updated_at           BIGINT NOT NULL
);
CREATE UNIQUE INDEX users_email_key ON users (email_key) WHERE email_key IS NOT NULL;
CREATE INDEX users_role ON users (role);

CREATE TABLE sessions (
    id_hash      TEXT PRIMARY KEY NOT NULL,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose      TEXT NOT NULL CHECK (purpose IN ('full', 'password_change')),
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    ip           TEXT,
    user_agent   TEXT
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE setup_tokens (
    token_hash TEXT PRIMARY KEY NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE TABLE audit_events (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          BIGINT NOT NULL,
    actor_id    TEXT,
    actor_name  TEXT,
    target_id   TEXT,
    target_name TEXT,
    action      TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    ip          TEXT,
    detail      TEXT
);
CREATE INDEX audit_events_target ON audit_events (target_id, id);

-- The audit trail is evidence: nothing, not even this application, may rewrite it.
CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only';
END
$$;
CREATE TRIGGER audit_events_no_change BEFORE UPDATE OR DELETE ON audit_events
FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();

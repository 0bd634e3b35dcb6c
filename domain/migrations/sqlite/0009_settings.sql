-- Management > Password Policy (and later sections): one row per section, its value a JSON
-- object. A field missing from the object takes its default, so a new setting needs no
-- migration.
CREATE TABLE settings (
    name       TEXT PRIMARY KEY NOT NULL,
    value      TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    updated_by TEXT
);

-- Earlier password hashes (argon2id, as in users.password_hash), for "no reuse of the last K".
CREATE TABLE password_history (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    password_hash TEXT NOT NULL,
    replaced_at   BIGINT NOT NULL
);
CREATE INDEX password_history_user ON password_history (user_id, id);

-- Management > Audit filters each of these and pages by id, newest first; the Activity tab
-- reads one person's events as actor.
CREATE INDEX audit_events_actor ON audit_events (actor_id, id);
CREATE INDEX audit_events_actor_name ON audit_events (actor_name, id);
CREATE INDEX audit_events_target_name ON audit_events (target_name, id);
CREATE INDEX audit_events_action ON audit_events (action, id);
CREATE INDEX audit_events_at ON audit_events (at);

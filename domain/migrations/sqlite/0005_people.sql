-- When the session's owner last typed their password (signing in, or confirming it for a
-- dangerous operation): bulk changes, role changes, adding, deleting and importing people ask
-- for it again after 15 minutes. NULL means at sign-in (created_at).
ALTER TABLE sessions ADD COLUMN verified_at INTEGER;

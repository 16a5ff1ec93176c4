-- Sign-in sessions of the report pages. The browser's cookie holds a random session id,
-- never the bearer token it signed in with; only the id's SHA-256 is kept here. A session
-- names the token (auth.tokens), so revoking the token ends its sessions; signing out
-- deletes the row; expires_at bounds it whatever the browser keeps.
CREATE TABLE sessions (
    session_hash bytea       PRIMARY KEY,
    token_id     uuid        NOT NULL,
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL
);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);

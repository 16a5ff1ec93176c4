-- Sign-in sessions of people in a browser, kept with the tokens so that every service
-- can tell who a session is: reporting serves the workspace pages, intake takes their
-- forms. The cookie holds a random session id, never the token it signed in with; only
-- the id's SHA-256 is kept. A session names its token, so revoking the token ends it;
-- signing out deletes the row; expires_at bounds it whatever the browser keeps.
CREATE TABLE sessions (
    session_hash bytea       PRIMARY KEY,
    token_id     uuid        NOT NULL,
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL
);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);
-- Sessions opened while reporting kept them (its migration 004) carry over.
DO $$
BEGIN
    IF to_regclass('reporting.sessions') IS NOT NULL THEN
        INSERT INTO sessions SELECT session_hash, token_id, created_at, expires_at
        FROM reporting.sessions ON CONFLICT DO NOTHING;
    END IF;
END $$;

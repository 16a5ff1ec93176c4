-- Sessions moved to the shared registry (auth.sessions, its migration 004 copies these),
-- so that intake takes the workspace's forms with the same session.
DO $$
BEGIN
    IF to_regclass('auth.sessions') IS NOT NULL THEN
        INSERT INTO auth.sessions SELECT session_hash, token_id, created_at, expires_at
        FROM sessions ON CONFLICT DO NOTHING;
    END IF;
END $$;
DROP TABLE sessions;

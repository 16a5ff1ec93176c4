-- The one token registry of the system: who may speak for an agency, a task-force
-- member or an operator. Only a SHA-256 of each token is kept, so a leaked database
-- does not leak working tokens. Revocation is a timestamp, read on every request (no
-- cache), so it takes effect at once.
CREATE TABLE tokens (
    token_id    uuid PRIMARY KEY,
    kind        text NOT NULL CHECK (kind IN ('agency', 'member', 'operator')),
    subject_id  text NOT NULL,
    token_hash  bytea NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);
CREATE INDEX tokens_by_subject ON tokens (kind, subject_id);

-- An installation upgraded from the release where intake kept the tokens keeps them
-- (revoked ones stay revoked). intake.tokens is left in place, unused.
DO $$
BEGIN
    IF to_regclass('intake.tokens') IS NOT NULL THEN
        INSERT INTO tokens (token_id, kind, subject_id, token_hash, created_at, revoked_at)
        SELECT token_id, kind, subject_id, token_hash, created_at, revoked_at
        FROM intake.tokens
        ON CONFLICT DO NOTHING;
    END IF;
END
$$;

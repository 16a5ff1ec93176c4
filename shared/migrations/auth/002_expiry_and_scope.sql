-- A token ends: at its expiry (set when it is issued, 180 days by default), or earlier
-- when revoked. Tokens issued before this release get 180 days from the upgrade rather
-- than from their creation: an upgrade must not lock out every agency at once.
ALTER TABLE tokens ADD COLUMN expires_at timestamptz;
UPDATE tokens SET expires_at = now() + interval '180 days' WHERE expires_at IS NULL;
ALTER TABLE tokens ALTER COLUMN expires_at SET NOT NULL;

-- An operator's token may be limited to one province (its configuration slug); NULL is
-- every province. Members are scoped by their task force, agencies by their role in
-- each difficulty: neither needs the column.
ALTER TABLE tokens ADD COLUMN province text;

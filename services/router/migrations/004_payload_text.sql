-- The payloads are written by the router's own encoders (or arrive as a body that
-- validated as its event) and are read back whole, by pydantic; PostgreSQL never looks
-- inside them. As json, every document was parsed on insert all the same: a quarter of
-- the server's time for a batch of new difficulties (measured). As text they are kept
-- as sent, and read back just as before.
ALTER TABLE difficulties ALTER COLUMN payload TYPE text;
ALTER TABLE assignments ALTER COLUMN payload TYPE text;

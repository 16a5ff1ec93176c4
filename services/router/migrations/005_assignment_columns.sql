-- An assignment was stored twice over: its columns, and its whole document as sent
-- (some 700 bytes, two thirds of the row). Everything in the document is a column's
-- worth: what was left of it goes into columns of its own, and the router builds the
-- document back from them when it reads one. Writing the documents was a quarter of
-- the database's work for a batch of new difficulties (measured, bench/router.py).
ALTER TABLE assignments
    ADD COLUMN tracking_code  text,
    ADD COLUMN province_code  text,
    ADD COLUMN reason         text,
    ADD COLUMN config_version text,
    ADD COLUMN urgency        text,
    ADD COLUMN kind           text,
    ADD COLUMN category       text,
    ADD COLUMN zone_type      text;
UPDATE assignments SET
    tracking_code  = payload::json->>'tracking_code',
    province_code  = payload::json->>'province_code',
    reason         = payload::json->>'reason',
    config_version = payload::json->>'config_version',
    urgency        = payload::json->>'urgency',
    kind           = payload::json->>'kind',
    category       = payload::json->>'category',
    zone_type      = payload::json->>'zone_type';
ALTER TABLE assignments
    ALTER COLUMN tracking_code  SET NOT NULL,
    ALTER COLUMN province_code  SET NOT NULL,
    ALTER COLUMN reason         SET NOT NULL,
    ALTER COLUMN config_version SET NOT NULL,
    ALTER COLUMN urgency        SET NOT NULL,
    ALTER COLUMN kind           SET NOT NULL,
    ALTER COLUMN category       SET NOT NULL,
    DROP COLUMN payload;
-- The one query on members (membership.py) asks for the open items of anyone who is
-- no longer a holder: a negation that no index on member_id serves. Each insert paid
-- for the index all the same (about a tenth of a batch's time in the database).
DROP INDEX assignments_by_member;
-- Assignments are looked up by their difficulty (escalation, re-assignment) and an
-- assignment's id is derived from its difficulty's: one key, difficulty first, serves
-- both the lookup and idempotence, where a second index on every insert served the
-- lookup alone (about a tenth of a batch's time in the database, measured).
ALTER TABLE assignments DROP CONSTRAINT assignments_pkey;
ALTER TABLE assignments ADD PRIMARY KEY (difficulty_id, assignment_id);
DROP INDEX assignments_by_difficulty;

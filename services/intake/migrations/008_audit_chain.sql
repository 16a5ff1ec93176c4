-- Each difficulty's history as a hash chain (#25 item 3; the rules and the canonical form
-- are in shared/audit.py). Two fields of an update that intake published but did not keep
-- (the permanent deputy's dispatch target, the province's letter to the ministry) are
-- kept from now on, so the chained row holds the whole update; older rows lack them.
ALTER TABLE status_updates
    ADD COLUMN target_agency_id text,
    ADD COLUMN letter           jsonb,
    ADD COLUMN position         int,
    ADD COLUMN prev_hash        text,
    ADD COLUMN chain_hash       text;
-- The chain's head on the difficulty: a deleted last row leaves the head behind.
ALTER TABLE difficulties
    ADD COLUMN chain_length int NOT NULL DEFAULT 0,
    ADD COLUMN chain_head   text;

-- Chain the rows accepted before: per difficulty in the order they were accepted
-- (changed_at, then status_id), each hash computed here exactly as shared.audit.canonical
-- writes it (keys in ASCII order, no spaces; a jsonb column as the JSON string of its
-- PostgreSQL text); a test holds this and the Python rules to the same hashes.
DO $$
DECLARE
    r      record;
    cur    uuid := NULL;
    n      int := 0;
    prev   text;
    h      text;
BEGIN
    FOR r IN SELECT * FROM status_updates ORDER BY difficulty_id, changed_at, status_id LOOP
        IF cur IS DISTINCT FROM r.difficulty_id THEN
            IF cur IS NOT NULL THEN
                UPDATE difficulties SET chain_length = n, chain_head = prev
                    WHERE difficulty_id = cur;
            END IF;
            cur := r.difficulty_id;
            n := 0;
            prev := repeat('0', 64);
        END IF;
        n := n + 1;
        h := encode(sha256(convert_to(
            '{"actor_id":' || coalesce(to_json(r.actor_id)::text, 'null')
            || ',"actor_kind":' || coalesce(to_json(r.actor_kind)::text, 'null')
            || ',"answer":' || coalesce(to_json(r.answer)::text, 'null')
            || ',"assignment_id":' || coalesce(to_json(r.assignment_id)::text, 'null')
            || ',"changed_at":' || to_json(to_char(r.changed_at AT TIME ZONE 'UTC',
                                                   'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))::text
            || ',"difficulty_id":' || to_json(r.difficulty_id)::text
            || ',"feedback":' || coalesce(to_json(r.feedback::text)::text, 'null')
            || ',"letter":' || coalesce(to_json(r.letter::text)::text, 'null')
            || ',"note":' || coalesce(to_json(r.note)::text, 'null')
            || ',"position":' || n::text
            || ',"prev_hash":' || to_json(prev)::text
            || ',"question":' || coalesce(to_json(r.question)::text, 'null')
            || ',"resolution":' || coalesce(to_json(r.resolution::text)::text, 'null')
            || ',"status":' || coalesce(to_json(r.status)::text, 'null')
            || ',"status_id":' || to_json(r.status_id)::text
            || ',"step":' || coalesce(to_json(r.step)::text, 'null')
            || ',"suggested_agency_id":' || coalesce(to_json(r.suggested_agency_id)::text, 'null')
            || ',"target_agency_id":' || coalesce(to_json(r.target_agency_id)::text, 'null')
            || '}', 'UTF8')), 'hex');
        UPDATE status_updates SET position = n, prev_hash = prev, chain_hash = h
            WHERE status_id = r.status_id;
        prev := h;
    END LOOP;
    IF cur IS NOT NULL THEN
        UPDATE difficulties SET chain_length = n, chain_head = prev WHERE difficulty_id = cur;
    END IF;
END $$;

ALTER TABLE status_updates
    ALTER COLUMN position SET NOT NULL,
    ALTER COLUMN prev_hash SET NOT NULL,
    ALTER COLUMN chain_hash SET NOT NULL,
    ADD CONSTRAINT status_updates_chain_position UNIQUE (difficulty_id, position);

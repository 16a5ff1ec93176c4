-- The permanent deputy's triage decisions (#20 item 3), kept in the chained history like
-- every update: a dispatch's co-handlers, a correction of zone type, category or
-- province, and a merge (on the duplicate, the kept difficulty; on the kept one, the
-- duplicate). Older rows have none of them and hash as they did (shared/audit.py).
ALTER TABLE status_updates
    ADD COLUMN co_agency_ids jsonb,
    ADD COLUMN correction    jsonb,
    ADD COLUMN merged_into   jsonb,
    ADD COLUMN duplicate     jsonb;
-- The difficulty a duplicate was merged into (the kept one carries on for both).
ALTER TABLE difficulties ADD COLUMN merged_into uuid;

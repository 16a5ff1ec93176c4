-- The permanent deputy's triage decisions (#20 item 3): a duplicate points to the
-- difficulty it was merged into (which lists its duplicates by this column). A
-- correction rewrites the difficulty's own columns (zone_type, category, province_code,
-- task_force): the event history keeps what they were.
ALTER TABLE difficulties ADD COLUMN merged_into uuid;
CREATE INDEX difficulties_by_merged_into ON difficulties (merged_into)
    WHERE merged_into IS NOT NULL;
-- Which history rows are corrections: the latest one stands (they may arrive in any order).
ALTER TABLE status_history ADD COLUMN correction boolean NOT NULL DEFAULT false;

-- The permanent deputy's shared recommendations (#25 item 1, #21 item 7): the grouping
-- of a task force's open items, computed by reporting's background job when they
-- change (and by the page when none matches), so the page reads it instead of grouping
-- 1,000 items on each visit. `input_key` names the exact input it was computed from (the
-- items in order): the page uses it only for that input, so its groups are the same as
-- if grouped on the visit.
CREATE TABLE shared_groupings (
    task_force text PRIMARY KEY,
    input_key text NOT NULL,
    groups jsonb NOT NULL,
    computed_at timestamptz NOT NULL
);

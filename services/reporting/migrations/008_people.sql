-- The people's workspaces (#21 items 3-5): a member's items and reports, and the head's
-- directions.

-- A member's page lists what is assigned to them; without it, a scan of every assignment.
CREATE INDEX assignments_by_member ON assignments (member_id)
    WHERE active AND member_id IS NOT NULL;
-- A member's past reports, newest week first.
CREATE INDEX member_reports_by_member ON member_reports (member_id, week_label);

-- The head's directions (ý kiến chỉ đạo), projected from direction.given.v1.
CREATE TABLE directions (
    direction_id uuid PRIMARY KEY,
    task_force   text NOT NULL,
    given_by     text NOT NULL,
    week_label   text NOT NULL,
    body         text NOT NULL,
    given_at     timestamptz NOT NULL
);
CREATE INDEX directions_by_task_force ON directions (task_force, given_at DESC);

-- Each assignment's own state (#20 item 1), and the lead's structured resolution (item 2).
ALTER TABLE assignments
    ADD COLUMN step    text,         -- acknowledged, in_progress, done, declined
    ADD COLUMN step_at timestamptz;

ALTER TABLE status_updates
    ALTER COLUMN status DROP NOT NULL,  -- a co-handler's or member's step leaves it as it was
    ADD COLUMN step                text,
    ADD COLUMN suggested_agency_id text,
    ADD COLUMN resolution          jsonb;

-- What the updates accepted before steps existed did to the assignment each named (the
-- rule of shared.events.STEP_OF_STATUS): the latest one per assignment.
UPDATE status_updates SET step = CASE status
        WHEN 'acknowledged' THEN 'acknowledged' WHEN 'in_progress' THEN 'in_progress'
        WHEN 'resolved' THEN 'done' WHEN 'rejected' THEN 'done' WHEN 'escalated' THEN 'done'
        WHEN 'reassign_requested' THEN 'declined' END
    WHERE assignment_id IS NOT NULL;
UPDATE assignments a SET step = s.step, step_at = s.changed_at
    FROM (SELECT DISTINCT ON (assignment_id) assignment_id, step, changed_at
          FROM status_updates WHERE assignment_id IS NOT NULL AND step IS NOT NULL
          ORDER BY assignment_id, changed_at DESC, status_id DESC) s
    WHERE a.assignment_id = s.assignment_id;

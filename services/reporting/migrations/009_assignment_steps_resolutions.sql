-- Each assignment's own state (#20 item 1) and the lead's resolution (item 2).
ALTER TABLE status_history
    ALTER COLUMN status DROP NOT NULL,  -- a co-handler's or member's step leaves it as it was
    ADD COLUMN step text;               -- what the change did to the assignment it names

-- The changes projected before steps existed, by the rule of shared.events.STEP_OF_STATUS.
UPDATE status_history SET step = CASE status
        WHEN 'acknowledged' THEN 'acknowledged' WHEN 'in_progress' THEN 'in_progress'
        WHEN 'resolved' THEN 'done' WHEN 'rejected' THEN 'done' WHEN 'escalated' THEN 'done'
        WHEN 'reassign_requested' THEN 'declined' END
    WHERE assignment_id IS NOT NULL;

ALTER TABLE assignments
    ADD COLUMN step    text,
    ADD COLUMN step_at timestamptz;
UPDATE assignments a SET step = s.step, step_at = s.changed_at
    FROM (SELECT DISTINCT ON (assignment_id) assignment_id, step, changed_at
          FROM status_history WHERE assignment_id IS NOT NULL AND step IS NOT NULL
          ORDER BY assignment_id, changed_at DESC, status_id DESC) s
    WHERE a.assignment_id = s.assignment_id;

-- Every resolution as the lead gave it; the difficulty shows the latest. The public answer
-- is the business's; what was done, the reason and the waiver are the task force's.
CREATE TABLE resolutions (
    status_id      uuid PRIMARY KEY,
    difficulty_id  uuid NOT NULL,
    assignment_id  uuid,
    actor_id       text NOT NULL,
    outcome        text NOT NULL,
    done           text NOT NULL,
    legal_basis    text,
    public_answer  text NOT NULL,
    reason         text,
    waived         uuid[] NOT NULL,
    waiver_reason  text,
    resolved_at    timestamptz NOT NULL
);
CREATE INDEX resolutions_by_difficulty ON resolutions (difficulty_id, resolved_at);

ALTER TABLE difficulties
    ADD COLUMN outcome       text,         -- of the latest resolution
    ADD COLUMN outcome_at    timestamptz,
    ADD COLUMN public_answer text,
    ADD COLUMN escalated_at  timestamptz;  -- first passed up by the lead (outcome escalated)

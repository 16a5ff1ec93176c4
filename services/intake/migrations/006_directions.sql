-- The head's directions that name who must act and by when (#22 item 1): intake keeps
-- who may post their progress and where they stand, to refuse a step back or a stranger.
-- Directions given before had no assignee and are not tracked work: nothing to carry.
CREATE TABLE directions (
    direction_id uuid PRIMARY KEY,
    task_force   text NOT NULL,
    assignee_id  text NOT NULL,
    due_on       date NOT NULL,
    state        text NOT NULL DEFAULT 'open',
    state_at     timestamptz
);
CREATE INDEX directions_by_assignee ON directions (assignee_id);

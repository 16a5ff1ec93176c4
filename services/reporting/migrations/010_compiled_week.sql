-- The compiled week (#22 item 1): directions as tracked work (who must act, by when, each
-- progress posted), and the permanent deputy's compiled text of each week.

-- Directions given before were recorded, not tracked: no assignee, no due date.
ALTER TABLE directions
    ADD COLUMN assignee_id text,
    ADD COLUMN due_on      date;
CREATE INDEX directions_by_assignee ON directions (assignee_id) WHERE assignee_id IS NOT NULL;

-- One row per event on direction.progress.v1: the latest posted_at is the state, which
-- holds whichever order the direction and its progress arrive in.
CREATE TABLE direction_progress (
    progress_id  uuid PRIMARY KEY,
    direction_id uuid NOT NULL,
    state        text NOT NULL,
    note         text NOT NULL,
    posted_by    text NOT NULL,
    posted_at    timestamptz NOT NULL
);
CREATE INDEX direction_progress_by_direction ON direction_progress (direction_id, posted_at DESC);

-- The latest compilation.saved.v1 of each (task force, week).
CREATE TABLE compilations (
    task_force     text NOT NULL,
    week_label     text NOT NULL,
    compilation_id uuid NOT NULL,
    body           text NOT NULL,
    submitted      boolean NOT NULL,
    saved_by       text NOT NULL,
    saved_at       timestamptz NOT NULL,
    PRIMARY KEY (task_force, week_label)
);

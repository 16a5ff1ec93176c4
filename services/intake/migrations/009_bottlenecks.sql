-- Policy bottlenecks (#25 item 1): recommendations many businesses share, merged by the
-- permanent deputy into one item for a central ministry. Intake keeps which difficulty is
-- in which, to refuse merging one twice and to close every member with the ministry's
-- answer; `event` is the latest policy.bottleneck.v1 sent, what a resent form answers.
-- Nothing before this was merged: nothing to carry over.
CREATE TABLE bottlenecks (
    bottleneck_id uuid PRIMARY KEY,
    task_force    text NOT NULL,
    ministry_id   text NOT NULL,
    merged_at     timestamptz NOT NULL,
    answered_at   timestamptz,
    event         jsonb NOT NULL
);
CREATE TABLE bottleneck_items (
    difficulty_id uuid PRIMARY KEY,  -- a difficulty is in one bottleneck at most
    bottleneck_id uuid NOT NULL REFERENCES bottlenecks
);
CREATE INDEX bottleneck_items_by_bottleneck ON bottleneck_items (bottleneck_id);

-- Policy bottlenecks (#25 item 1), from policy.bottleneck.v1: what the permanent deputy
-- merged and sent to a central ministry, and its answer once recorded (the latest
-- changed_at stands). `payload` is that event's data. Nothing before this was merged.
CREATE TABLE bottlenecks (
    bottleneck_id  uuid PRIMARY KEY,
    task_force     text NOT NULL,
    ministry_id    text NOT NULL,
    title          text NOT NULL,
    business_count int NOT NULL,
    merged_at      timestamptz NOT NULL,
    changed_at     timestamptz NOT NULL,
    answered_at    timestamptz,
    payload        jsonb NOT NULL
);
CREATE INDEX bottlenecks_by_task_force ON bottlenecks (task_force, merged_at);
-- Which item is in which: what the deputy's page no longer offers to group.
CREATE TABLE bottleneck_items (
    difficulty_id uuid PRIMARY KEY,
    bottleneck_id uuid NOT NULL
);

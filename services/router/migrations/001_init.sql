-- The router's own state: what it has decided, so that escalation and
-- re-assignment know the current holder, and so that a replayed event is
-- recognised (processed_events) and produces no second assignment.
CREATE TABLE processed_events (
    event_id   text PRIMARY KEY,
    topic      text NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE difficulties (
    difficulty_id uuid PRIMARY KEY,
    province_code text NOT NULL,
    task_force    text,
    payload       jsonb NOT NULL,
    received_at   timestamptz NOT NULL
);

CREATE TABLE assignments (
    assignment_id uuid PRIMARY KEY,
    difficulty_id uuid NOT NULL,
    agency_id     text NOT NULL,
    member_id     text,
    role          text NOT NULL,
    level         text NOT NULL,
    rule          text NOT NULL,
    replaces      uuid,
    active        boolean NOT NULL DEFAULT true,
    payload       jsonb NOT NULL,
    assigned_at   timestamptz NOT NULL
);
CREATE INDEX assignments_by_difficulty ON assignments (difficulty_id) WHERE active;
CREATE INDEX assignments_by_member ON assignments (member_id) WHERE active AND member_id IS NOT NULL;

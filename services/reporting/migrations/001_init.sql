-- Reporting's projections. Every event is kept (events) — the history of each
-- difficulty and the idempotency record in one — and the current state is
-- projected into difficulties and assignments. Tables do not reference each
-- other, so an assignment seen before its difficulty is kept, not lost.
CREATE TABLE events (
    event_id      text PRIMARY KEY,
    topic         text NOT NULL,
    difficulty_id uuid,
    event_type    text NOT NULL,
    occurred_at   timestamptz NOT NULL,
    payload       jsonb NOT NULL,
    projected_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX events_by_difficulty ON events (difficulty_id, occurred_at);

CREATE TABLE difficulties (
    difficulty_id  uuid PRIMARY KEY,
    tracking_code  text NOT NULL UNIQUE,
    tax_code       text NOT NULL,
    province_code  text NOT NULL,
    task_force     text,
    zone_type      text,
    category       text NOT NULL,
    kind           text NOT NULL,
    urgency        text NOT NULL,
    title          text NOT NULL,
    status         text NOT NULL DEFAULT 'received',
    received_at    timestamptz NOT NULL,
    status_at      timestamptz NOT NULL,
    resolved_at    timestamptz,
    payload        jsonb NOT NULL
);
CREATE INDEX difficulties_by_province_time ON difficulties (province_code, received_at);

CREATE TABLE assignments (
    assignment_id uuid PRIMARY KEY,
    difficulty_id uuid NOT NULL,
    agency_id     text NOT NULL,
    agency_level  text NOT NULL,
    member_id     text,
    role          text NOT NULL,
    rule          text NOT NULL,
    replaces      uuid,
    active        boolean NOT NULL DEFAULT true,
    assigned_at   timestamptz NOT NULL
);
CREATE INDEX assignments_by_difficulty ON assignments (difficulty_id);
CREATE INDEX assignments_by_agency ON assignments (agency_id) WHERE active;

-- Intake's schema: what was accepted, and the outbox its events leave by.
CREATE TABLE difficulties (
    difficulty_id  uuid PRIMARY KEY,
    tracking_code  text NOT NULL UNIQUE,
    tax_code       text NOT NULL,
    province_code  text NOT NULL,
    task_force     text,
    payload        jsonb NOT NULL,
    received_at    timestamptz NOT NULL
);
CREATE INDEX difficulties_by_tax_code ON difficulties (tax_code);

-- Idempotency-Key: the same key and body answers the same; another body is a conflict.
CREATE TABLE idempotency_keys (
    key           text PRIMARY KEY,
    request_hash  text NOT NULL,
    status_code   int NOT NULL,
    response      jsonb NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE outbox (
    seq        bigserial PRIMARY KEY,
    event_id   text NOT NULL UNIQUE,
    topic      text NOT NULL,
    key        bytea,
    headers    jsonb NOT NULL,
    body       bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    sent_at    timestamptz
);
CREATE INDEX outbox_unsent ON outbox (seq) WHERE sent_at IS NULL;

-- Assignments learned from difficulty.assigned.v1: who may update what.
CREATE TABLE assignments (
    assignment_id uuid PRIMARY KEY,
    difficulty_id uuid NOT NULL,
    agency_id     text NOT NULL,
    member_id     text,
    role          text NOT NULL,
    replaces      uuid,
    active        boolean NOT NULL DEFAULT true,
    assigned_at   timestamptz NOT NULL
);
CREATE INDEX assignments_by_difficulty ON assignments (difficulty_id);

CREATE TABLE processed_events (
    event_id     text PRIMARY KEY,
    processed_at timestamptz NOT NULL DEFAULT now()
);

-- Full projections for the weekly rollup, the tracking page and the member list.
--
-- Out-of-order across topics: status changes are kept in their own table
-- (status_history) and assignments in theirs; the current state of a
-- difficulty (status, lead agency, deadlines, closed_at...) is *derived* from
-- them each time anything about that difficulty arrives, so a status or an
-- assignment seen before its difficulty is applied when the difficulty comes.

-- The task force (province configuration slug) a difficulty belongs to: the
-- unit of the weekly report. Filled at projection from the event or the config.
ALTER TABLE difficulties
    ADD COLUMN enterprise_name      text,
    ADD COLUMN search               text NOT NULL DEFAULT '',  -- shared.vn.fold(title, description...)
    ADD COLUMN lead_assignment_id   uuid,
    ADD COLUMN lead_agency_id       text,
    ADD COLUMN ack_due_at           timestamptz,
    ADD COLUMN resolve_due_at       timestamptz,
    ADD COLUMN acknowledged_at      timestamptz,
    ADD COLUMN closed_at            timestamptz,  -- resolved or rejected, while it stays so
    ADD COLUMN escalated_central_at timestamptz;  -- first assignment at central level

-- The weekly rollup reads three bounded sets per task force: received in the
-- window, closed after its start, and still open. Each has its index.
CREATE INDEX difficulties_by_task_force_time ON difficulties (task_force, received_at);
CREATE INDEX difficulties_by_task_force_closed ON difficulties (task_force, closed_at);
CREATE INDEX difficulties_open ON difficulties (task_force) WHERE closed_at IS NULL;
CREATE INDEX difficulties_list ON difficulties (received_at DESC, difficulty_id DESC);

-- Deadlines of the handling assignments (lead, escalation, triage), in working days.
ALTER TABLE assignments
    ADD COLUMN ack_due_at     timestamptz,
    ADD COLUMN resolve_due_at timestamptz;

CREATE TABLE status_history (
    status_id     uuid PRIMARY KEY,
    difficulty_id uuid NOT NULL,
    status        text NOT NULL,
    actor_kind    text NOT NULL,
    actor_id      text NOT NULL,
    assignment_id uuid,
    changed_at    timestamptz NOT NULL
);
CREATE INDEX status_history_by_difficulty ON status_history (difficulty_id, changed_at);

CREATE TABLE member_reports (
    report_id     uuid PRIMARY KEY,
    member_id     text NOT NULL,
    province_code text NOT NULL,
    week_label    text NOT NULL,
    late          boolean NOT NULL,
    urgent        boolean NOT NULL,
    submitted_at  timestamptz NOT NULL,
    payload       jsonb NOT NULL
);
CREATE INDEX member_reports_by_week ON member_reports (week_label, member_id);

CREATE TABLE notifications (
    event_id         text PRIMARY KEY,
    notification_key text NOT NULL,
    kind             text NOT NULL,
    channel          text NOT NULL,
    recipient_id     text NOT NULL,
    province_code    text,
    difficulty_id    uuid,
    week_label       text,
    attempts         int NOT NULL,
    sent_at          timestamptz NOT NULL
);
CREATE INDEX notifications_by_difficulty ON notifications (difficulty_id);

-- One row per (task force, week): the claim that makes publishing exactly once.
CREATE TABLE weekly_reports (
    task_force    text NOT NULL,
    week_label    text NOT NULL,
    report_id     uuid NOT NULL,
    event_id      text NOT NULL UNIQUE,
    province_code text NOT NULL,
    generated_at  timestamptz NOT NULL,
    report        jsonb NOT NULL,
    PRIMARY KEY (task_force, week_label)
);

-- One row per urgent difficulty announced at once (đột xuất).
CREATE TABLE urgent_alerts (
    difficulty_id uuid PRIMARY KEY,
    event_id      text NOT NULL UNIQUE,
    created_at    timestamptz NOT NULL DEFAULT now()
);

-- Same DDL as shared.outbox.OUTBOX_DDL.
CREATE TABLE IF NOT EXISTS outbox (
    seq        bigserial PRIMARY KEY,
    event_id   text NOT NULL UNIQUE,
    topic      text NOT NULL,
    key        bytea,
    headers    jsonb NOT NULL,
    body       bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    sent_at    timestamptz
);
CREATE INDEX IF NOT EXISTS outbox_unsent ON outbox (seq) WHERE sent_at IS NULL;

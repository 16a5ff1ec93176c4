-- Delivery: where each message goes, its lease, its attempts; the assignments
-- notify follows for reminders; who reported which week; the outbox that
-- publishes notification.sent.v1 in the transaction that marks a message sent.

-- Where and how. The address is personal data: it lives here and in the
-- province configuration, never in logs, metrics or events.
ALTER TABLE messages
    ADD COLUMN address       text,
    ADD COLUMN secret_env    text,
    ADD COLUMN urgent        boolean NOT NULL DEFAULT false,
    ADD COLUMN week_label    text,
    -- 'sending' with a lease: a dispatcher that dies mid-send loses the row when
    -- claimed_until passes, and another one takes it over.
    ADD COLUMN claimed_until timestamptz,
    ADD COLUMN claimed_by    text,
    ADD COLUMN last_error    text,
    ADD COLUMN failed_at     timestamptz;

DROP INDEX messages_due;
CREATE INDEX messages_due ON messages (due_at) WHERE state IN ('pending', 'sending');
CREATE INDEX messages_weekly ON messages (recipient_id, week_label)
    WHERE week_label IS NOT NULL AND state = 'pending';

-- Every delivery attempt, successful or not.
CREATE TABLE delivery_attempts (
    id           bigserial PRIMARY KEY,
    message_key  text NOT NULL REFERENCES messages (message_key),
    attempt      int NOT NULL,
    channel      text NOT NULL,
    worker       text NOT NULL,
    outcome      text NOT NULL,          -- sent, retried, failed
    error        text,                   -- never an address or a secret
    started_at   timestamptz NOT NULL,
    duration_s   double precision NOT NULL
);
CREATE INDEX delivery_attempts_key ON delivery_attempts (message_key);

-- The assignments notify follows until acknowledged and resolved. The reminder
-- schedules are computed once, in Python, with working days and holidays
-- (shared.calendar): element i of ack_due/resolve_due is when reminder i+1 is
-- owed, and the last element is when the permanent deputy is told. The sweep is
-- then one set-based INSERT ... SELECT over rows whose next_check_at has come.
CREATE TABLE assignments (
    assignment_id    uuid PRIMARY KEY,
    difficulty_id    uuid NOT NULL,
    tracking_code    text NOT NULL,
    province_code    text NOT NULL,
    agency_id        text NOT NULL,
    urgent           boolean NOT NULL,
    assigned_at      timestamptz NOT NULL,
    ack_deadline     timestamptz NOT NULL,
    resolve_deadline timestamptz NOT NULL,
    ack_due          timestamptz[] NOT NULL,
    resolve_due      timestamptz[] NOT NULL,
    agency_contacts  jsonb NOT NULL,      -- [{channel, address, secret_env}]
    deputy_id        text,
    deputy_contacts  jsonb NOT NULL,
    acknowledged_at  timestamptz,
    closed_at        timestamptz,         -- resolved, rejected, replaced...
    next_check_at    timestamptz          -- NULL: nothing more is owed
);
CREATE INDEX assignments_next_check ON assignments (next_check_at)
    WHERE next_check_at IS NOT NULL;
CREATE INDEX assignments_difficulty ON assignments (difficulty_id);

-- Who reported which week (member.report.v1), for the weekly reminders.
CREATE TABLE member_reports (
    member_id   text NOT NULL,
    week_label  text NOT NULL,
    reported_at timestamptz NOT NULL,
    PRIMARY KEY (member_id, week_label)
);

-- Status events applied, by event id (consumers are idempotent on ce_id).
CREATE TABLE processed_events (
    event_id     text PRIMARY KEY,
    processed_at timestamptz NOT NULL DEFAULT now()
);

-- shared.outbox.OUTBOX_DDL
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

-- Who may speak for an agency or a member: only a SHA-256 of each token is kept, so a
-- leaked database does not leak working tokens. Revocation is a timestamp, read on
-- every request (no cache), so it takes effect at once.
CREATE TABLE tokens (
    token_id    uuid PRIMARY KEY,
    kind        text NOT NULL CHECK (kind IN ('agency', 'member')),
    subject_id  text NOT NULL,
    token_hash  bytea NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);
CREATE INDEX tokens_by_subject ON tokens (kind, subject_id);

-- Where each difficulty stands, for the status state machine (see logic.TRANSITIONS).
ALTER TABLE difficulties ADD COLUMN status text NOT NULL DEFAULT 'received';
ALTER TABLE difficulties ADD COLUMN status_changed_at timestamptz;

-- Every accepted status update, as published.
CREATE TABLE status_updates (
    status_id     uuid PRIMARY KEY,
    difficulty_id uuid NOT NULL REFERENCES difficulties (difficulty_id),
    status        text NOT NULL,
    actor_kind    text NOT NULL,
    actor_id      text NOT NULL,
    assignment_id uuid,
    note          text,
    changed_at    timestamptz NOT NULL
);
CREATE INDEX status_updates_by_difficulty ON status_updates (difficulty_id, changed_at);

CREATE INDEX assignments_active_by_agency ON assignments (difficulty_id, agency_id) WHERE active;

-- One weekly report per member and week; a second submission replaces the first and
-- bumps `revision`, which makes the replacement's event id differ from the original's.
CREATE TABLE member_reports (
    member_id     text NOT NULL,
    week_label    text NOT NULL,
    report_id     uuid NOT NULL,
    revision      int NOT NULL DEFAULT 1,
    late          boolean NOT NULL,
    payload       jsonb NOT NULL,
    submitted_at  timestamptz NOT NULL,
    PRIMARY KEY (member_id, week_label)
);

-- The documents attached to a difficulty (#20 item 10), as the events describe them: what
-- each is, never its bytes or name (intake keeps the file and serves it to those who may
-- read it). The difficulty's page and the tracking page list them.
CREATE TABLE attachments (
    attachment_id uuid PRIMARY KEY,
    difficulty_id uuid NOT NULL,
    status_id     uuid,  -- the update it came with; null with the submission
    content_type  text NOT NULL,
    size          int NOT NULL,
    sha256        text NOT NULL,
    public        boolean NOT NULL,  -- shown to the business on its tracking page
    actor_kind    text NOT NULL,  -- who attached it: business, agency, member, operator
    attached_at   timestamptz NOT NULL
);
CREATE INDEX attachments_difficulty ON attachments (difficulty_id, attached_at);

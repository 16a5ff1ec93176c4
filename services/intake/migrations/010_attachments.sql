-- Documents attached to a difficulty (#20 item 10): the business's with its submission
-- or its answer, an agency's with its resolution (public with the public answer), its
-- question or on their own. Kept here with the case, never on a topic: events carry
-- the id, type, size and hash only.
CREATE TABLE attachments (
    attachment_id uuid PRIMARY KEY,
    difficulty_id uuid NOT NULL REFERENCES difficulties (difficulty_id),
    -- The update it came with (a resolution, a question, an answer); null with the
    -- submission or on its own.
    status_id     uuid,
    file_name     text NOT NULL,
    content_type  text NOT NULL,
    size          int NOT NULL CHECK (size > 0),
    sha256        text NOT NULL,
    content       bytea NOT NULL,
    -- Who attached it: business, agency, member or operator, and which.
    attached_by_kind text NOT NULL,
    attached_by      text NOT NULL,
    -- Shown to the business: its own files and those of the public answer.
    public        boolean NOT NULL DEFAULT false,
    attached_at   timestamptz NOT NULL
);
CREATE INDEX attachments_difficulty ON attachments (difficulty_id, attached_at);

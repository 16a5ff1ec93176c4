-- The business's word on its closed difficulty (#20 item 6): whether the answer resolved
-- it, its rating of the handling (1 to 5) and a comment, each as given; the weekly
-- league table counts the latest rating given by the report's cutoff.
CREATE TABLE feedback (
    status_id     uuid PRIMARY KEY,
    difficulty_id uuid NOT NULL,
    resolved      boolean,
    rating        smallint CHECK (rating BETWEEN 1 AND 5),
    comment       text,
    given_at      timestamptz NOT NULL
);
CREATE INDEX feedback_by_difficulty ON feedback (difficulty_id, given_at);

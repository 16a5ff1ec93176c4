-- The confirmation that an urgent difficulty is urgent (by its lead agency, the
-- permanent deputy or a task-force member), or that a member or operator filed it
-- urgent: one per difficulty, published on difficulty.urgency.v1 with its own row.
CREATE TABLE urgency_confirmations (
    difficulty_id   uuid PRIMARY KEY REFERENCES difficulties (difficulty_id),
    confirmation_id uuid NOT NULL UNIQUE,
    actor_kind      text NOT NULL,
    actor_id        text NOT NULL,
    reported        boolean NOT NULL,
    confirmed_at    timestamptz NOT NULL
);

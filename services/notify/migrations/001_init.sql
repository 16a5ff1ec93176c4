-- Every message notify owes someone, under a deterministic key (what, about
-- which, for whom, for which window): the primary key is what makes a message
-- go out once across replicas and restarts.
CREATE TABLE messages (
    message_key   text PRIMARY KEY,
    kind          text NOT NULL,
    recipient_id  text NOT NULL,
    channel       text NOT NULL,
    province_code text,
    difficulty_id uuid,
    payload       jsonb NOT NULL,
    state         text NOT NULL DEFAULT 'pending',  -- pending, sent, failed
    attempts      int NOT NULL DEFAULT 0,
    due_at        timestamptz NOT NULL DEFAULT now(),
    created_at    timestamptz NOT NULL DEFAULT now(),
    sent_at       timestamptz
);
CREATE INDEX messages_due ON messages (due_at) WHERE state = 'pending';

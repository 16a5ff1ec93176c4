-- The business kept informed (#20 item 6). Its contact, from difficulty.received.v1, and
-- the public steps of its difficulty, from the topics that hold no contact: whichever of
-- the two comes second makes the notices (logic.business). Personal data (name, e-mail,
-- phone) lives here and in the messages owed, never in logs, metrics or other events.
CREATE TABLE business_contacts (
    difficulty_id  uuid PRIMARY KEY,
    tracking_code  text NOT NULL,
    province_code  text NOT NULL,
    task_force     text,
    name           text NOT NULL,
    email          text,
    phone          text,          -- 84 and the national number, for ZNS
    received_at    timestamptz NOT NULL
);

CREATE TABLE business_steps (
    step_key       text PRIMARY KEY,   -- business_<notice>:<difficulty>:<cause>
    difficulty_id  uuid NOT NULL,
    notice         text NOT NULL,
    at             timestamptz NOT NULL,
    details        jsonb NOT NULL
);
CREATE INDEX business_steps_difficulty ON business_steps (difficulty_id);

-- The Zalo Official Account's tokens, by app. A refresh token works once: each refresh
-- returns a new one, written here in the refresh's own transaction under the row's lock,
-- so that two dispatchers never spend the same one.
CREATE TABLE zalo_tokens (
    app_id         text PRIMARY KEY,
    access_token   text,
    refresh_token  text NOT NULL,
    expires_at     timestamptz,
    refreshed_at   timestamptz
);

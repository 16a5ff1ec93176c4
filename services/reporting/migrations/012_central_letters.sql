-- Central level (#20 item 5, #22 item 6): the province's letter passing an escalated
-- difficulty to the ministry, as the permanent deputy registered it (the latest counts),
-- and the ministry's letter cited by the answer the deputy recorded. Nothing before this
-- had either, so no row is carried over.
CREATE TABLE central_letters (
    status_id     uuid PRIMARY KEY,
    difficulty_id uuid NOT NULL,
    number        text NOT NULL,
    dated         date NOT NULL,
    registered_by text NOT NULL,
    registered_at timestamptz NOT NULL
);
CREATE INDEX central_letters_by_difficulty ON central_letters (difficulty_id, registered_at);

ALTER TABLE resolutions
    ADD COLUMN ministry_letter_number text,
    ADD COLUMN ministry_letter_date   date;

ALTER TABLE difficulties
    ADD COLUMN letter_number text,
    ADD COLUMN letter_date   date;

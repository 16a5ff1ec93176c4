-- The head's directions (#22 item 1): their reminders are messages like any other (kind
-- direction_due, due before and on the due date); a direction done cancels those still
-- pending ('cancelled': kept, never sent) and is remembered here, so that its reminders,
-- should direction.given.v1 be read after its progress, are not owed.
CREATE TABLE directions_done (
    direction_id uuid PRIMARY KEY
);

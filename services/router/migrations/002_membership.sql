-- Difficulties that are resolved or rejected (final states: intake allows nothing
-- after them). The router needs this to know which member assignments are still
-- open when a member is replaced or removed: only open items move. Its own table,
-- not a column of difficulties, because a status may be consumed before the
-- difficulty it is about (two consumer groups, no order between them).
CREATE TABLE closed_difficulties (
    difficulty_id uuid PRIMARY KEY,
    status        text NOT NULL,
    closed_at     timestamptz NOT NULL
);

-- Assignments waiting for a central ministry's answer (#20 item 5): their resolve_due is
-- the answer's deadline and the progress points after it, each a reminder to the permanent
-- deputy to chase. Assignments followed before keep the schedule they were given.
ALTER TABLE assignments ADD COLUMN central boolean NOT NULL DEFAULT false;

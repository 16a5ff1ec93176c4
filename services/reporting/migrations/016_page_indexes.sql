-- Indexes the workspace pages need with 1,000,000 difficulties (#21 item 7; measured with
-- `python -m bench.pages`, plans read with EXPLAIN ANALYZE):
-- - an agency's queue filtered by one status read the whole table (1.1 s): a status is
--   a few thousand rows of a task force, found here;
-- - the public view counts the escalations to central ministries and their answering
--   letters (0.18 s each, two sequential scans): both are a sliver of their tables.
CREATE INDEX difficulties_by_status ON difficulties (task_force, status, received_at);
CREATE INDEX assignments_central ON assignments (difficulty_id, assigned_at)
    WHERE agency_level = 'central';
CREATE INDEX resolutions_with_letter ON resolutions (difficulty_id)
    WHERE ministry_letter_number IS NOT NULL;

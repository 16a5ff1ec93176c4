-- An agency's queue is what it holds an active assignment on, in any role (#21 item 2).
-- Its pages and API ask "which difficulties does this agency hold": with the difficulty
-- in the key the answer is read from the index alone, and joins the difficulty by its key.
CREATE INDEX assignments_held ON assignments (agency_id, difficulty_id) WHERE active;
DROP INDEX assignments_by_agency;

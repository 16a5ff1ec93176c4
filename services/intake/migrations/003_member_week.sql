-- A member's week looks up what is actively assigned to them.
CREATE INDEX assignments_active_by_member ON assignments (member_id, difficulty_id)
    WHERE active AND member_id IS NOT NULL;

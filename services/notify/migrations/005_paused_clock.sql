-- Asking the business (#20 item 4): while an assignment waits for the business's answer
-- its clock stands still (paused_at set, next_check_at NULL, so the sweep owes nothing);
-- the answer moves its deadlines and reminders on by the time waited.
ALTER TABLE assignments ADD COLUMN paused_at timestamptz;

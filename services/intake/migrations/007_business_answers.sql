-- Asking the business (#20 item 4): the question put with a need_info step, and the
-- business's answer to it. Updates before this carried neither.
ALTER TABLE status_updates
    ADD COLUMN question text,
    ADD COLUMN answer   text;

-- The business's word once its difficulty is closed (#20 item 6): resolved or not, a
-- rating from 1 to 5, a comment.
ALTER TABLE status_updates ADD COLUMN feedback jsonb;

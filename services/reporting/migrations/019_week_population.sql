-- A week's report reads its rows from indexes alone (#21 item 7; plans read with
-- EXPLAIN ANALYZE on 1,000,000 difficulties, `python -m bench.pages`): the open items
-- and those closed after the week's start lay on as many table pages as there are rows
-- (0.28 s a statement, four statements a report, one for the head's desk too). Keyed
-- as difficulties_by_task_force_closed was (which it replaces), it holds every column
-- store.weekly._POPULATION and store.waiting_for_decision read, so both are index-only
-- scans as long as the visibility map is kept up: autovacuum visits this table after 2%
-- of its rows changed, not the default 20%.
DROP INDEX difficulties_by_task_force_closed;
CREATE INDEX difficulties_by_task_force_closed ON difficulties (task_force, closed_at)
    INCLUDE (received_at, difficulty_id, tracking_code, title, status, urgency, kind,
             lead_agency_id, zone_type, category, ack_due_at, resolve_due_at, acknowledged_at,
             escalated_central_at, outcome, escalated_at);
-- (task force, receipt, id), replacing (task force, receipt): the items received in a
-- week yet closed before it began (a closing time earlier than the receipt) are found
-- without reading their rows, and a task force's items newest first in the order of the
-- queue, (received_at, difficulty_id), which a search walks (store.list_difficulties).
DROP INDEX difficulties_by_task_force_time;
CREATE INDEX difficulties_by_task_force_time ON difficulties (task_force, received_at,
    difficulty_id) INCLUDE (closed_at);
ALTER TABLE difficulties SET (autovacuum_vacuum_scale_factor = 0.02,
                              autovacuum_vacuum_insert_scale_factor = 0.02);

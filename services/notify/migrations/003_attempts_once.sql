-- One row per delivery attempt. Recording a success is retried through a database
-- restart; when the first try had committed but its answer was lost, the retry must
-- find the row there, not write a second "sent" for one delivery.
DELETE FROM delivery_attempts a USING delivery_attempts b
 WHERE a.message_key = b.message_key AND a.attempt = b.attempt AND a.id > b.id;
CREATE UNIQUE INDEX delivery_attempts_once ON delivery_attempts (message_key, attempt);

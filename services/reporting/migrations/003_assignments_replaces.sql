-- Projecting an assignment asks whether one that replaces it was seen first (events
-- arrive out of order across partitions). Without this index that question scans every
-- assignment, so projection slowed with the square of the table (benchmark: ~300
-- events/s at 100k difficulties). Partial: most assignments replace nothing.
CREATE INDEX assignments_by_replaces ON assignments (replaces) WHERE replaces IS NOT NULL;

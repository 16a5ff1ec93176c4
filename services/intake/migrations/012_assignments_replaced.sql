-- Learning an assignment asks whether one already seen replaces it (the replacement can
-- arrive first on a replay): `NOT EXISTS (… WHERE s.replaces = $1)` for every assignment
-- inserted. Without an index that is a sequential scan of every assignment ever learnt,
-- once per insert: 14 ms an assignment at 200,000 of them (EXPLAIN ANALYZE), so intake's
-- assignments consumer fell behind within minutes at 50 difficulties/s and the agencies,
-- unknown as holders yet, were refused (#24 item 4). Few assignments replace another:
-- the index holds only those.
CREATE INDEX assignments_replaced ON assignments (replaces) WHERE replaces IS NOT NULL;

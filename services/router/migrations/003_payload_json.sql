-- The router reads its payloads back whole and never queries inside them, so plain
-- json, which stores the text as sent, serves; jsonb parsed every document into its
-- binary form on insert (measured: about a quarter of the batch insert).
ALTER TABLE difficulties ALTER COLUMN payload TYPE json USING payload::json;
ALTER TABLE assignments ALTER COLUMN payload TYPE json USING payload::json;

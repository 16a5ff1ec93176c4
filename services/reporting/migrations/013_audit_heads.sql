-- Each history row's place in its difficulty's hash chain, as intake published it
-- (#25 item 3), so that a compiled week can publish the chain heads of the difficulties
-- that moved in it. Rows projected before the chain existed have none.
ALTER TABLE status_history
    ADD COLUMN chain_position int,
    ADD COLUMN chain_hash     text;

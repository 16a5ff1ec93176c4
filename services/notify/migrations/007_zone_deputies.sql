-- The deputies by zone type (#21 item 4): each handling assignment carries the deputies
-- whose zone types include its difficulty's zone ([{id, contacts: [{channel, address,
-- secret_env}]}]), so that the sweep alerts them, once per deadline, when it passes.
-- Assignments followed before had no zone on record: they keep none (no alert), as
-- rows followed before #20 item 5 kept their schedule.
ALTER TABLE assignments ADD COLUMN zone_deputies jsonb NOT NULL DEFAULT '[]'::jsonb;

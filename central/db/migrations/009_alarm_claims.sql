-- One operator handles an alarm at a time (issue 7): who claimed it, since when.
ALTER TABLE alarms ADD COLUMN claimed_at timestamptz;
ALTER TABLE alarms ADD CONSTRAINT alarms_claimed_by_operator FOREIGN KEY (claimed_by) REFERENCES operators (id);
-- Notes and operator steps are alarm actions like the engine's: the trail stays one list.
CREATE INDEX alarms_site_opened ON alarms (site_id, opened_at DESC);
CREATE INDEX sites_search ON sites (lower(name) text_pattern_ops);
-- The device registry a gateway announces when it comes online (zones for the site card).
ALTER TABLE gateways ADD COLUMN devices jsonb;

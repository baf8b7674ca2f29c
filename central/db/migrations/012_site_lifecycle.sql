-- A site's lifecycle (SPEC §7): an installer submits it, the central registers it (contacts get their
-- codes), and after commissioning the installer activates it: the test period starts.
ALTER TABLE sites ADD COLUMN status text NOT NULL DEFAULT 'registered'
  CHECK (status IN ('submitted', 'registered', 'active'));
UPDATE sites SET status = 'active' WHERE activated_at IS NOT NULL;
-- What the installer submitted (gateway id, device plan, contacts) until the central registers it.
ALTER TABLE sites ADD COLUMN submission jsonb;
CREATE INDEX sites_installer ON sites (installer_id) WHERE installer_id IS NOT NULL;
CREATE INDEX events_site_walk_test ON events (site_id, received_at) WHERE event_type = 'walk-test';

-- EN 50136-1 category per site: how long each path may stay silent before it counts as failed.
ALTER TABLE sites ADD COLUMN ats_category text NOT NULL DEFAULT 'DP2';
-- The failure event each path (and the site's "all paths") has open, for the restore to name.
ALTER TABLE path_status ADD COLUMN failure_event_id uuid;
CREATE TABLE all_paths_status (
  gateway_id        text PRIMARY KEY REFERENCES gateways (id),
  failure_event_id  uuid NOT NULL
);

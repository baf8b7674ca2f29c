-- Each area's arming as the gateway last reported it on its status (mode, phase, delay end): the
-- customer's portal shows it from the gateway's first report, before any arm or disarm event.
ALTER TABLE gateways ADD COLUMN arming jsonb;
ALTER TABLE gateways ADD COLUMN arming_at timestamptz;

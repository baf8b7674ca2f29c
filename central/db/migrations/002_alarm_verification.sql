-- Verification belongs to the alarm: it arrives after the alarm's event, as an update (SPEC §4).
ALTER TABLE alarms ADD COLUMN verified boolean NOT NULL DEFAULT false;
ALTER TABLE alarms ADD COLUMN verification jsonb;
ALTER TABLE alarms ADD COLUMN verified_at timestamptz;
UPDATE alarms a SET verified = e.verified, verification = e.verification FROM events e WHERE e.id = a.event_id;

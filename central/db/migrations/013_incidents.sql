-- Operator-worked incidents (issue 11). An alarm row is an incident: the events of a site that
-- arrive while it is open join it; every trail entry says whether it is a proposal of the engine,
-- an outcome an operator recorded, or a fact of the system.
-- The trail is append-only, so entries from before this change keep no sort (NULL): the console
-- shows them as written before proposals and facts were told apart.
ALTER TABLE alarm_actions ADD COLUMN sort text CHECK (sort IN ('proposal', 'outcome', 'fact'));
ALTER TABLE alarm_actions ALTER COLUMN sort SET DEFAULT 'fact';
ALTER TABLE alarm_actions ADD COLUMN detail jsonb;

-- Every event of an incident points at it (the opener, joined alarms, restores, verifications).
ALTER TABLE events ADD COLUMN alarm_id bigint REFERENCES alarms (id);
UPDATE events e SET alarm_id = a.id FROM alarms a WHERE a.event_id = e.id;
CREATE INDEX events_alarm ON events (alarm_id) WHERE alarm_id IS NOT NULL;

-- The queue's order (docs/procedures.md): class, severity within the class, then age.
ALTER TABLE alarms ADD COLUMN rank smallint NOT NULL DEFAULT 999;
UPDATE alarms SET rank = priority * 100 + 50;
-- When its last event happened (events join an incident while it is recent: merge-rules.ts).
ALTER TABLE alarms ADD COLUMN last_event_at timestamptz;
UPDATE alarms a SET last_event_at = e.occurred_at FROM events e WHERE e.id = a.event_id;
-- How far an unattended incident has escalated: attention, urgent, supervisor.
ALTER TABLE alarms ADD COLUMN escalation text;
-- A duress alarm is silent towards the premises.
ALTER TABLE alarms ADD COLUMN silent boolean NOT NULL DEFAULT false;
CREATE INDEX alarms_open_site ON alarms (site_id) WHERE status <> 'closed';
CREATE INDEX alarms_rank_queue ON alarms (rank, opened_at) WHERE status <> 'closed';
-- An operator's claim is an input of the engine too (it stops the escalation).
ALTER TABLE procedure_inputs DROP CONSTRAINT procedure_inputs_kind_check;
ALTER TABLE procedure_inputs ADD CONSTRAINT procedure_inputs_kind_check
  CHECK (kind IN ('event', 'outcome', 'sms', 'outage', 'claim'));

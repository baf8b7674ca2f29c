-- Events, procedure inputs and the alarm trail partitioned by month (issue 15; docs/architecture.md,
-- "Time partitions"). The three tables grow with every event an ARC receives, for as long as it
-- keeps them; by month, an index stays the size of a month, vacuum works on the month being written,
-- and what a retention policy removes is a whole partition instead of a DELETE through the trail.
--
-- A row's month is chosen by the database's own clock when it is written (events.received_at, and a
-- new stored_at for the other two), never by a clock outside it: a gateway's or an engine's time
-- cannot put a row outside the partitions. Partitions are created ahead (create_month_partition,
-- called here and by the central's maintenance); a row for which none exists goes to the table's
-- DEFAULT partition rather than being refused.

CREATE FUNCTION create_month_partition(parent regclass, month date) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  first timestamptz := date_trunc('month', month)::timestamp AT TIME ZONE 'UTC';
  name text := format('%s_y%sm%s', parent::text, to_char(first AT TIME ZONE 'UTC', 'YYYY'),
                      to_char(first AT TIME ZONE 'UTC', 'MM'));
BEGIN
  IF to_regclass(name) IS NOT NULL THEN
    RETURN NULL;
  END IF;
  EXECUTE format('CREATE TABLE %I PARTITION OF %s FOR VALUES FROM (%L) TO (%L)', name, parent, first,
                 first + interval '1 month');
  -- Row triggers reach a new partition from its parent; statement triggers (TRUNCATE) do not.
  IF EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = parent AND tgname = parent::text || '_append_only') THEN
    EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON %I FOR EACH STATEMENT EXECUTE FUNCTION audit_log_is_append_only()',
                   name || '_append_only', name);
  END IF;
  RETURN name;
END $$;

-- The months from the oldest row of `since` (or this month) to two months ahead.
CREATE FUNCTION months_to_partition(since timestamptz) RETURNS SETOF date LANGUAGE sql AS $$
  SELECT m::date FROM generate_series(
    date_trunc('month', coalesce(least(since, now()), now()) AT TIME ZONE 'UTC'),
    date_trunc('month', now() AT TIME ZONE 'UTC') + interval '2 months', interval '1 month') AS m
$$;

-- Exactly once across partitions: a unique index of a partitioned table must hold its partition
-- key, so the register of every event id stored says whether an id was seen, and when (which also
-- finds the partition holding it).
CREATE TABLE event_ids (
  id           uuid PRIMARY KEY,
  gateway_id   text NOT NULL,
  received_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);
INSERT INTO event_ids (id, gateway_id, received_at) SELECT id, gateway_id, received_at FROM events;

ALTER TABLE alarms DROP CONSTRAINT alarms_event_id_fkey;
ALTER TABLE camera_grants DROP CONSTRAINT camera_grants_event_id_fkey;

-- events
ALTER TABLE events DROP CONSTRAINT events_pkey;
DROP INDEX events_site_time, events_gateway_seq, events_relates_to, events_site_arming, events_site_walk_test,
  events_alarm;
ALTER TABLE events RENAME TO events_unpartitioned;
CREATE TABLE events (LIKE events_unpartitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS)
  PARTITION BY RANGE (received_at);
SELECT create_month_partition('events', m)
  FROM months_to_partition((SELECT min(received_at) FROM events_unpartitioned)) AS m;
CREATE TABLE events_default PARTITION OF events DEFAULT;
INSERT INTO events SELECT * FROM events_unpartitioned;
DROP TABLE events_unpartitioned;
ALTER TABLE events ADD PRIMARY KEY (id, received_at),
  ADD FOREIGN KEY (site_id) REFERENCES sites (id),
  ADD FOREIGN KEY (gateway_id) REFERENCES gateways (id),
  ADD FOREIGN KEY (alarm_id) REFERENCES alarms (id);
CREATE INDEX events_site_time ON events (site_id, received_at DESC);
CREATE INDEX events_gateway_seq ON events (gateway_id, seq);
CREATE INDEX events_relates_to ON events (relates_to) WHERE relates_to IS NOT NULL;
CREATE INDEX events_site_arming ON events (site_id, area, occurred_at DESC) WHERE event_type = 'opening-closing';
CREATE INDEX events_site_walk_test ON events (site_id, received_at) WHERE event_type = 'walk-test';
CREATE INDEX events_alarm ON events (alarm_id) WHERE alarm_id IS NOT NULL;

-- An incident names its first event with that event's partition key, so the event is found in its
-- month alone, and keeps what the console and the merge rules show of it: the alarm path and the
-- operators' views then read no partition at all (a statement joining a partitioned table locks and
-- starts a scan of every partition: +0.7 ms per alarm with 27 months).
ALTER TABLE alarms
  ADD COLUMN event_received_at timestamptz,
  ADD COLUMN lead_event_type text,
  ADD COLUMN lead_cid text,
  ADD COLUMN lead_sia text,
  ADD COLUMN lead_zone integer,
  ADD COLUMN lead_area integer,
  ADD COLUMN lead_device_id text,
  ADD COLUMN lead_device_name text,
  ADD COLUMN lead_text text,
  ADD COLUMN lead_occurred_at timestamptz;
UPDATE alarms a SET event_received_at = e.received_at, lead_event_type = e.event_type, lead_cid = e.cid,
       lead_sia = e.sia, lead_zone = e.zone, lead_area = e.area, lead_device_id = e.device_id,
       lead_device_name = e.device_name, lead_text = e.text, lead_occurred_at = e.occurred_at
  FROM events e WHERE e.id = a.event_id;
ALTER TABLE alarms
  ALTER COLUMN event_received_at SET NOT NULL,
  ALTER COLUMN lead_event_type SET NOT NULL,
  ALTER COLUMN lead_cid SET NOT NULL,
  ALTER COLUMN lead_sia SET NOT NULL,
  ALTER COLUMN lead_zone SET NOT NULL,
  ALTER COLUMN lead_area SET NOT NULL,
  ALTER COLUMN lead_text SET NOT NULL,
  ALTER COLUMN lead_occurred_at SET NOT NULL,
  ADD CONSTRAINT alarms_event_fkey FOREIGN KEY (event_id, event_received_at) REFERENCES events (id, received_at);

-- Events stored before the event they name (a restore or verification whose alarm a resend
-- overtook): the alarm, when it comes, takes them from here instead of searching every partition.
CREATE TABLE awaiting_events (
  relates_to   uuid NOT NULL,
  site_id      text NOT NULL,
  event_id     uuid NOT NULL REFERENCES event_ids (id),
  payload      jsonb NOT NULL,
  PRIMARY KEY (relates_to, event_id)
);
INSERT INTO awaiting_events (relates_to, site_id, event_id, payload)
SELECT e.relates_to, e.site_id, e.id, e.payload FROM events e
 WHERE e.relates_to IS NOT NULL AND e.alarm_id IS NULL
   AND NOT EXISTS (SELECT 1 FROM event_ids r WHERE r.id = e.relates_to);
ALTER TABLE camera_grants ADD CONSTRAINT camera_grants_event_id_fkey FOREIGN KEY (event_id) REFERENCES event_ids (id);

-- procedure_inputs
ALTER TABLE procedure_inputs DROP CONSTRAINT procedure_inputs_pkey;
DROP INDEX procedure_inputs_site, procedure_inputs_partition;
DROP TRIGGER procedure_inputs_append_only ON procedure_inputs;
ALTER TABLE procedure_inputs RENAME TO procedure_inputs_unpartitioned;
ALTER SEQUENCE procedure_inputs_id_seq OWNED BY NONE;
CREATE TABLE procedure_inputs (
  LIKE procedure_inputs_unpartitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS,
  stored_at timestamptz NOT NULL DEFAULT clock_timestamp()
) PARTITION BY RANGE (stored_at);
CREATE TRIGGER procedure_inputs_rows_append_only BEFORE UPDATE OR DELETE ON procedure_inputs
  FOR EACH ROW EXECUTE FUNCTION audit_log_is_append_only();
CREATE TRIGGER procedure_inputs_append_only BEFORE TRUNCATE ON procedure_inputs
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_is_append_only();
SELECT create_month_partition('procedure_inputs', m)
  FROM months_to_partition((SELECT min(at) FROM procedure_inputs_unpartitioned)) AS m;
CREATE TABLE procedure_inputs_default PARTITION OF procedure_inputs DEFAULT;
CREATE TRIGGER procedure_inputs_default_append_only BEFORE TRUNCATE ON procedure_inputs_default
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_is_append_only();
-- Rows written before this migration: when they were written is `at`, the engine's time then.
INSERT INTO procedure_inputs SELECT *, at FROM procedure_inputs_unpartitioned;
DROP TABLE procedure_inputs_unpartitioned;
ALTER SEQUENCE procedure_inputs_id_seq OWNED BY procedure_inputs.id;
ALTER TABLE procedure_inputs ADD PRIMARY KEY (id, stored_at);
CREATE INDEX procedure_inputs_site ON procedure_inputs (site_id, id);
CREATE INDEX procedure_inputs_partition
  ON procedure_inputs (((('x' || substr(md5(site_id), 1, 7))::bit(28)::int) % 32), id);

-- alarm_actions
ALTER TABLE alarm_actions DROP CONSTRAINT alarm_actions_pkey;
DROP INDEX alarm_actions_alarm;
DROP TRIGGER alarm_actions_append_only ON alarm_actions;
ALTER TABLE alarm_actions RENAME TO alarm_actions_unpartitioned;
ALTER SEQUENCE alarm_actions_id_seq OWNED BY NONE;
CREATE TABLE alarm_actions (
  LIKE alarm_actions_unpartitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS,
  stored_at timestamptz NOT NULL DEFAULT clock_timestamp()
) PARTITION BY RANGE (stored_at);
CREATE TRIGGER alarm_actions_rows_append_only BEFORE UPDATE OR DELETE ON alarm_actions
  FOR EACH ROW EXECUTE FUNCTION audit_log_is_append_only();
CREATE TRIGGER alarm_actions_append_only BEFORE TRUNCATE ON alarm_actions
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_is_append_only();
SELECT create_month_partition('alarm_actions', m)
  FROM months_to_partition((SELECT min(at) FROM alarm_actions_unpartitioned)) AS m;
CREATE TABLE alarm_actions_default PARTITION OF alarm_actions DEFAULT;
CREATE TRIGGER alarm_actions_default_append_only BEFORE TRUNCATE ON alarm_actions_default
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_is_append_only();
INSERT INTO alarm_actions SELECT *, at FROM alarm_actions_unpartitioned;
DROP TABLE alarm_actions_unpartitioned;
ALTER SEQUENCE alarm_actions_id_seq OWNED BY alarm_actions.id;
ALTER TABLE alarm_actions ADD PRIMARY KEY (id, stored_at),
  ADD FOREIGN KEY (alarm_id) REFERENCES alarms (id);
CREATE INDEX alarm_actions_alarm ON alarm_actions (alarm_id, id);

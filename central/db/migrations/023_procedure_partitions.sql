-- The procedure engine runs in site partitions, each owned by one central worker (docs/cluster.md,
-- "Procedures"). An input taken by another worker (an operator's outcome, a stored event, an SMS
-- reply) waits here until the owner applies it; `request` is set when the poster waits for the
-- owner's answer (a refused outcome is answered 409 wherever it was sent).
CREATE TABLE procedure_inbox (
  id         bigserial PRIMARY KEY,
  partition  integer NOT NULL,
  site_id    text NOT NULL,
  posted_at  timestamptz NOT NULL DEFAULT now(),
  actor      text NOT NULL,
  body       jsonb NOT NULL,
  request    uuid,
  -- A row that failed this often stays here for an administrator instead of blocking the rest.
  attempts   integer NOT NULL DEFAULT 0,
  last_error text
);
CREATE INDEX procedure_inbox_partition ON procedure_inbox (partition, id);

-- What the engine holds for an incident, kept by the owner after every step so that any worker
-- serves it: the next step as the console shows it, a customer's pending cancel, the mobile number
-- an SMS escalation waits on, and whether the engine still handles it.
ALTER TABLE alarms
  ADD COLUMN proposal jsonb,
  ADD COLUMN cancel_requested boolean NOT NULL DEFAULT false,
  ADD COLUMN sms_waiting_for text,
  ADD COLUMN handling_open boolean NOT NULL DEFAULT false;
CREATE INDEX alarms_sms_waiting ON alarms (sms_waiting_for) WHERE sms_waiting_for IS NOT NULL;
CREATE INDEX alarms_handling_open ON alarms (site_id) WHERE handling_open;

-- A timer that acted is recorded too (in the step that wrote its actions): a worker replaying the
-- partition then knows it fired and does not act on it a second time.
ALTER TABLE procedure_inputs DROP CONSTRAINT procedure_inputs_kind_check;
ALTER TABLE procedure_inputs ADD CONSTRAINT procedure_inputs_kind_check
  CHECK (kind IN ('event', 'outcome', 'sms', 'outage', 'claim', 'tick'));

-- Each partition's engine as it stood after the input `last_input`: a worker taking the partition
-- starts from here and replays only the inputs recorded after it.
CREATE TABLE procedure_snapshots (
  partitions  integer NOT NULL,
  partition   integer NOT NULL,
  taken_at    timestamptz NOT NULL,
  last_input  bigint NOT NULL,
  state       jsonb NOT NULL,
  PRIMARY KEY (partitions, partition)
);
-- A partition's inputs in order, for that replay (the expression is partitionSql in partitions.ts, 32 partitions).
CREATE INDEX procedure_inputs_partition
  ON procedure_inputs (((('x' || substr(md5(site_id), 1, 7))::bit(28)::int) % 32), id);

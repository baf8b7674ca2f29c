-- Camera access (SPEC §8): grants the central signed, and the pictures taken under them.
CREATE TABLE camera_grants (
  id           uuid PRIMARY KEY,
  alarm_id     bigint NOT NULL REFERENCES alarms (id),
  site_id      text NOT NULL REFERENCES sites (id),
  gateway_id   text NOT NULL REFERENCES gateways (id),
  event_id     uuid NOT NULL REFERENCES events (id),
  operator     text NOT NULL,
  cameras      text[] NOT NULL,
  not_before   timestamptz NOT NULL,
  not_after    timestamptz NOT NULL CHECK (not_after - not_before <= interval '15 minutes'),
  issued_at    timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX camera_grants_alarm ON camera_grants (alarm_id, not_after DESC);
CREATE TRIGGER camera_grants_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON camera_grants
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_is_append_only();

-- Deleted after 60 days unless held for the police.
CREATE TABLE event_media (
  id            bigserial PRIMARY KEY,
  alarm_id      bigint NOT NULL REFERENCES alarms (id),
  site_id       text NOT NULL REFERENCES sites (id),
  camera_id     text NOT NULL,
  grant_id      uuid NOT NULL REFERENCES camera_grants (id),
  requested_by  text NOT NULL,
  taken_at      timestamptz NOT NULL,
  content_type  text NOT NULL,
  bytes         bytea NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  held_at       timestamptz,
  held_by       text,
  hold_reason   text
);
CREATE INDEX event_media_alarm ON event_media (alarm_id, id);
CREATE INDEX event_media_expiry ON event_media (created_at) WHERE held_at IS NULL;

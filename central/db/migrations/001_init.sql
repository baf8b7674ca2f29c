-- Sites, their gateways, every event received, the alarms operators handle, operators and the audit trail.

CREATE TABLE sites (
  id          text PRIMARY KEY,
  name        text NOT NULL,
  address     text NOT NULL DEFAULT '',
  time_zone   text NOT NULL DEFAULT 'Europe/Amsterdam',
  kind        text NOT NULL DEFAULT 'residential' CHECK (kind IN ('residential', 'business')),
  created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE gateways (
  id             text PRIMARY KEY,
  site_id        text NOT NULL REFERENCES sites (id),
  -- SHA-256 of the high-entropy secret issued at commissioning; the secret itself is never stored.
  secret_sha256  text NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT now(),
  last_seen_at   timestamptz,
  last_heartbeat jsonb,
  online         boolean NOT NULL DEFAULT false
);

CREATE TABLE events (
  id            uuid PRIMARY KEY,
  site_id       text NOT NULL REFERENCES sites (id),
  gateway_id    text NOT NULL REFERENCES gateways (id),
  seq           bigint NOT NULL,
  event_type    text NOT NULL,
  qualifier     text NOT NULL CHECK (qualifier IN ('event', 'restore')),
  cid           text NOT NULL,
  sia           text NOT NULL,
  class         text NOT NULL CHECK (class IN ('security', 'safety', 'technical', 'schedule')),
  priority      smallint NOT NULL,
  device_id     text,
  device_name   text,
  zone          integer NOT NULL,
  area          integer NOT NULL,
  verified      boolean NOT NULL,
  verification  jsonb NOT NULL,
  relates_to    uuid,
  text          text NOT NULL DEFAULT '',
  occurred_at   timestamptz NOT NULL,
  recorded_at   timestamptz NOT NULL,
  received_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
  via           text NOT NULL,
  payload       jsonb NOT NULL
);
CREATE INDEX events_site_time ON events (site_id, received_at DESC);
CREATE INDEX events_gateway_seq ON events (gateway_id, seq);
CREATE INDEX events_relates_to ON events (relates_to) WHERE relates_to IS NOT NULL;

CREATE TABLE alarms (
  id            bigserial PRIMARY KEY,
  event_id      uuid NOT NULL UNIQUE REFERENCES events (id),
  site_id       text NOT NULL REFERENCES sites (id),
  class         text NOT NULL,
  priority      smallint NOT NULL,
  status        text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'claimed', 'closed')),
  opened_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
  restored_at   timestamptz,
  claimed_by    bigint,
  closed_at     timestamptz,
  close_reason  text
);
-- The operator queue: priority first, then age.
CREATE INDEX alarms_queue ON alarms (priority, opened_at) WHERE status <> 'closed';

CREATE TABLE operators (
  id             bigserial PRIMARY KEY,
  username       text NOT NULL UNIQUE,
  display_name   text NOT NULL,
  password_hash  text NOT NULL,
  role           text NOT NULL CHECK (role IN ('operator', 'supervisor')),
  failed_logins  integer NOT NULL DEFAULT 0,
  locked_until   timestamptz,
  created_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE operator_sessions (
  token_sha256  text PRIMARY KEY,
  operator_id   bigint NOT NULL REFERENCES operators (id) ON DELETE CASCADE,
  created_at    timestamptz NOT NULL DEFAULT now(),
  expires_at    timestamptz NOT NULL
);

CREATE TABLE audit_log (
  id       bigserial PRIMARY KEY,
  at       timestamptz NOT NULL DEFAULT clock_timestamp(),
  actor    text NOT NULL,
  action   text NOT NULL,
  subject  text,
  detail   jsonb NOT NULL DEFAULT '{}'
);

-- The audit trail is append-only: no row is ever changed or removed.
CREATE FUNCTION audit_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only';
END $$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_is_append_only();

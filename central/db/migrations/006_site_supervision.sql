-- Installers: who commissioned a site, told about its undefined alarms (SPEC §3, §7).
CREATE TABLE installers (
  id          bigserial PRIMARY KEY,
  company     text NOT NULL,
  name        text NOT NULL,
  email       text,
  phone       text,
  created_at  timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE sites ADD COLUMN installer_id bigint REFERENCES installers (id);

-- Schedule supervision (SPEC §7): opening hours per weekday, margin, optional night check.
ALTER TABLE sites ADD COLUMN schedule jsonb;
-- Deadlines up to this instant have been judged; later ones are still to come.
ALTER TABLE sites ADD COLUMN schedule_checked_until timestamptz;
CREATE INDEX events_site_arming ON events (site_id, area, occurred_at DESC) WHERE event_type = 'opening-closing';

-- A grid or postal region, for known regional power outages (SPEC §5 mains).
ALTER TABLE sites ADD COLUMN region text;
CREATE INDEX sites_region ON sites (region) WHERE region IS NOT NULL;
CREATE TABLE regional_outages (
  region      text PRIMARY KEY,
  started_at  timestamptz NOT NULL DEFAULT now(),
  started_by  text NOT NULL
);

-- Periodic test reports (SPEC §5, §9): expected every interval, late after the grace.
ALTER TABLE sites ADD COLUMN test_interval_minutes integer NOT NULL DEFAULT 1440
  CHECK (test_interval_minutes BETWEEN 5 AND 10080);
ALTER TABLE sites ADD COLUMN test_grace_minutes integer NOT NULL DEFAULT 60
  CHECK (test_grace_minutes BETWEEN 0 AND 1440);
CREATE TABLE test_supervision (
  gateway_id        text PRIMARY KEY REFERENCES gateways (id),
  -- When supervision began (the gateway's first contact seen by the supervisor).
  since             timestamptz NOT NULL,
  last_test_at      timestamptz,
  -- Consecutive intervals without a test report, each raised as one test-missing event.
  missed            integer NOT NULL DEFAULT 0,
  failure_event_id  uuid
);

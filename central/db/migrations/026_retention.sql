-- Retention (central/db/retention.ts, docs/architecture.md "Retention"): the trail stays append-only
-- for everything but the retention job, which alone sets vigil.retention_purge in its own
-- transactions to remove incidents past the configured age. The audit log itself is never changed.
-- (The database's owner can drop these triggers anyway: they keep the application's own code from
-- changing history, not an administrator.)
CREATE OR REPLACE FUNCTION audit_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' AND TG_TABLE_NAME <> 'audit_log'
     AND current_setting('vigil.retention_purge', true) = 'on' THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END $$;

CREATE INDEX alarms_closed ON alarms (closed_at) WHERE status = 'closed';

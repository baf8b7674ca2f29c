-- One lockout for every secret check (passwords, ID code + PIN): failures are counted per source
-- and target, per target from any source, and per source across targets (central/auth/lockout.ts).
-- A target that does not exist is counted like one that does, so a lockout tells nothing.
CREATE TABLE secret_lockouts (
  target       text NOT NULL,
  source       text NOT NULL,
  failures     integer NOT NULL DEFAULT 0,
  locked_until timestamptz,
  updated_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (target, source)
);

ALTER TABLE operators DROP COLUMN failed_logins;
ALTER TABLE operators DROP COLUMN locked_until;
ALTER TABLE contacts DROP COLUMN failed_attempts;
ALTER TABLE contacts DROP COLUMN locked_until;

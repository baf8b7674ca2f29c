-- Accounts of every role (issue 7): operators and supervisors at the central, installers (their
-- company's sites), customers (their own site). The table keeps its first name.
ALTER TABLE operators DROP CONSTRAINT operators_role_check;
ALTER TABLE operators ADD CONSTRAINT operators_role_check
  CHECK (role IN ('operator', 'supervisor', 'installer', 'customer'));
ALTER TABLE operators ADD COLUMN site_id text REFERENCES sites (id);
ALTER TABLE operators ADD COLUMN installer_id bigint REFERENCES installers (id);
ALTER TABLE operators ADD CONSTRAINT operators_scope CHECK (
  (role = 'customer') = (site_id IS NOT NULL) AND (role = 'installer') = (installer_id IS NOT NULL)
);

-- A live site is serviced by its installer only in a window granted by the site (an authorised
-- person's ID code + PIN) or by an ARC operator: walk tests and new gateway credentials.
ALTER TABLE sites ADD COLUMN installer_access_until timestamptz;
ALTER TABLE sites ADD COLUMN installer_access_by text;

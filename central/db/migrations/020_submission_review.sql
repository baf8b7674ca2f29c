-- The central reviews what an installer submitted: registered, or rejected with what to fix (the
-- installer reads the reason and may submit the site again).
ALTER TABLE sites DROP CONSTRAINT sites_status_check;
ALTER TABLE sites ADD CONSTRAINT sites_status_check
  CHECK (status IN ('submitted', 'rejected', 'registered', 'active'));
ALTER TABLE sites ADD COLUMN rejection text;

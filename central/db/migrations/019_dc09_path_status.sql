-- DC-09 accounts are supervised from the moment they are set up (dc09/accounts.ts makes the row
-- with the account); accounts set up before that, and never heard, get theirs from their set-up.
INSERT INTO path_status (gateway_id, path, last_heard_at)
SELECT gateway_id, path, created_at FROM dc09_accounts ON CONFLICT DO NOTHING;

-- DC-09 duplicate detection within a window (central/dc09/receiver.ts): when each message key
-- (account, sequence, content) was first seen; a repeat after the window is a new message.
CREATE TABLE dc09_recent (
  key_sha256 bytea PRIMARY KEY,
  first_seen timestamptz NOT NULL
);
CREATE INDEX dc09_recent_age ON dc09_recent (first_seen);

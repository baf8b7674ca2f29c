-- Who holds each procedure partition, as a fencing token (docs/cluster.md, "Procedures"). A worker
-- that takes a partition's advisory lock writes its lease's token here before it loads the
-- partition; every step commits only while the row still names that token, and reads it FOR SHARE,
-- so a new holder's write waits for a step in flight and then sees everything the old holder
-- committed. Replaces asking pg_locks at every step (a scan of the whole lock table).
CREATE TABLE procedure_partition_holders (
  partition integer PRIMARY KEY,
  holder    text NOT NULL,
  taken_at  timestamptz NOT NULL DEFAULT now()
);

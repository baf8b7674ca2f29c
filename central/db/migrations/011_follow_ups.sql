-- After a real alarm, the central contacts the customer afterwards (SPEC §7, seed 003).
CREATE TABLE follow_ups (
  id              bigserial PRIMARY KEY,
  alarm_id        bigint NOT NULL UNIQUE REFERENCES alarms (id),
  site_id         text NOT NULL REFERENCES sites (id),
  created_at      timestamptz NOT NULL DEFAULT now(),
  due_at          timestamptz NOT NULL,
  customer_reply  text,
  replied_at      timestamptz,
  done_at         timestamptz,
  done_by         text,
  note            text
);
CREATE INDEX follow_ups_open ON follow_ups (due_at) WHERE done_at IS NULL;
CREATE INDEX follow_ups_site ON follow_ups (site_id, created_at DESC);

-- A removed contact's app subscriptions go with it.
ALTER TABLE push_subscriptions DROP CONSTRAINT push_subscriptions_contact_id_fkey;
ALTER TABLE push_subscriptions ADD CONSTRAINT push_subscriptions_contact_id_fkey
  FOREIGN KEY (contact_id) REFERENCES contacts (id) ON DELETE CASCADE;

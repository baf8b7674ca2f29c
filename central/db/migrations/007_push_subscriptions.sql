-- Web Push subscriptions of the customer's app (SPEC §6 formula APP), one per device.
CREATE TABLE push_subscriptions (
  id          bigserial PRIMARY KEY,
  site_id     text NOT NULL REFERENCES sites (id),
  contact_id  bigint NOT NULL REFERENCES contacts (id),
  endpoint    text NOT NULL UNIQUE,
  p256dh      text NOT NULL,
  auth        text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  last_sent_at timestamptz
);
CREATE INDEX push_subscriptions_site ON push_subscriptions (site_id);

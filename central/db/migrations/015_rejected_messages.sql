-- Messages from an authenticated gateway that could not be read or stored: kept as received (raw
-- bytes) and acked, so the gateway's queue moves on; an operator is told (event type message-rejected).
CREATE TABLE rejected_messages (
  id          bigserial PRIMARY KEY,
  received_at timestamptz NOT NULL DEFAULT now(),
  site_id     text NOT NULL,
  gateway_id  text NOT NULL,
  channel     text NOT NULL,
  -- The id the message gave itself, when one could be read (what was acked).
  event_id    uuid,
  reason      text NOT NULL,
  detail      text NOT NULL,
  payload     bytea NOT NULL
);
CREATE INDEX rejected_messages_site ON rejected_messages (site_id, received_at DESC);

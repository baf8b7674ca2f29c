-- SIA DC-09 accounts: Vigil gateways' backup paths and third-party panels (Ajax, Hikvision, …).
CREATE TABLE dc09_accounts (
  prefix              text NOT NULL,
  account             text NOT NULL,
  site_id             text NOT NULL REFERENCES sites (id),
  gateway_id          text NOT NULL REFERENCES gateways (id),
  -- The AES key must be usable to decrypt, so it is stored as given; restrict database access.
  aes_key             text,
  key_format          text CHECK (key_format IN ('hex', 'ascii')),
  supervision_seconds integer NOT NULL DEFAULT 90 CHECK (supervision_seconds > 0),
  -- A Vigil gateway's DC-09 account is its backup path; a third-party panel's is its only (primary) path.
  path                text NOT NULL DEFAULT 'backup' CHECK (path IN ('primary', 'backup')),
  created_at          timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (prefix, account),
  CHECK ((aes_key IS NULL) = (key_format IS NULL))
);
CREATE INDEX dc09_accounts_gateway ON dc09_accounts (gateway_id);

-- Path supervision: when each path of each gateway was last heard, and whether it is failed.
CREATE TABLE path_status (
  gateway_id     text NOT NULL REFERENCES gateways (id),
  path           text NOT NULL CHECK (path IN ('primary', 'backup')),
  last_heard_at  timestamptz NOT NULL DEFAULT now(),
  failed         boolean NOT NULL DEFAULT false,
  PRIMARY KEY (gateway_id, path)
);

-- Path supervision reads only the paths that are late or failed (from these indexes), not every
-- path of every gateway every pass: at 100,000 gateways that scan cost ~400 ms of the event loop.
CREATE INDEX path_status_heard ON path_status (last_heard_at);
CREATE INDEX path_status_failed ON path_status (gateway_id) WHERE failed;

import { allGatewaysFilter, DOWNLINK_CHANNELS, parseTopic, UPLINK_CHANNELS } from '../../protocols/topics.ts';

/**
 * Who may publish and subscribe what on the broker. Pure, so every rule is tested alone.
 * A gateway publishes only its own uplink channels and subscribes only its own downlink ones;
 * the central's ingest publishes only downlink channels and subscribes only the uplink filters.
 * On the embedded broker the ingest is inside the broker's process (embedded-uplink.ts) and needs
 * no principal; the central's rules are what the external brokers' roles enforce (dynsec.ts,
 * rabbitmq.ts), and are tested here with the rest.
 */
export type Principal = { kind: 'central' } | { kind: 'gateway'; siteId: string; gatewayId: string };

const UPLINK = new Set<string>(UPLINK_CHANNELS);
const DOWNLINK = new Set<string>(DOWNLINK_CHANNELS);
const CENTRAL_FILTERS = new Set<string>(UPLINK_CHANNELS.map(allGatewaysFilter));

export function mayPublish(principal: Principal, topic: string, retain: boolean): boolean {
  const parsed = parseTopic(topic);
  if (!parsed) return false;
  if (principal.kind === 'central') return DOWNLINK.has(parsed.channel) && !retain;
  const own = parsed.siteId === principal.siteId && parsed.gatewayId === principal.gatewayId;
  // Only the status channel may be retained (the last-will "offline" and the "online" that replaces it).
  return own && UPLINK.has(parsed.channel) && (!retain || parsed.channel === 'status');
}

export function maySubscribe(principal: Principal, filter: string): boolean {
  if (principal.kind === 'central') return CENTRAL_FILTERS.has(filter);
  if (filter.includes('+') || filter.includes('#')) return false;
  const parsed = parseTopic(filter);
  return (
    parsed !== null &&
    parsed.siteId === principal.siteId &&
    parsed.gatewayId === principal.gatewayId &&
    DOWNLINK.has(parsed.channel)
  );
}

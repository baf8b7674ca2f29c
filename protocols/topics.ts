import { TOPIC_ROOT } from './version.ts';

/**
 * Topic layout: vigil/v1/<siteId>/<gatewayId>/<channel>.
 * Gateways publish the uplink channels of their own site and gateway only, and subscribe to
 * their own downlink channels only (enforced by the broker's ACL).
 */
export const UPLINK_CHANNELS = ['event', 'heartbeat', 'status', 'media'] as const;
export const DOWNLINK_CHANNELS = ['ack', 'command'] as const;
export type UplinkChannel = (typeof UPLINK_CHANNELS)[number];
export type DownlinkChannel = (typeof DOWNLINK_CHANNELS)[number];
export type Channel = UplinkChannel | DownlinkChannel;

export function topicFor(siteId: string, gatewayId: string, channel: Channel): string {
  return `${TOPIC_ROOT}/${siteId}/${gatewayId}/${channel}`;
}

/** Subscription filter for the central: one channel of every gateway. */
export function allGatewaysFilter(channel: UplinkChannel): string {
  return `${TOPIC_ROOT}/+/+/${channel}`;
}

export interface ParsedTopic {
  siteId: string;
  gatewayId: string;
  channel: Channel;
}

const CHANNELS = new Set<string>([...UPLINK_CHANNELS, ...DOWNLINK_CHANNELS]);

export function parseTopic(topic: string): ParsedTopic | null {
  const parts = topic.split('/');
  if (parts.length !== 5 || `${parts[0]}/${parts[1]}` !== TOPIC_ROOT) return null;
  const [, , siteId, gatewayId, channel] = parts as [string, string, string, string, string];
  if (!siteId || !gatewayId || !CHANNELS.has(channel)) return null;
  return { siteId, gatewayId, channel: channel as Channel };
}

/**
 * The only MQTT client id a gateway may connect with. Gateway ids are unique across the central,
 * so the id is unambiguous; brokers bind it to the gateway's username (a session can be taken
 * over, or its queued messages read, only by whoever holds that id). Central clients use
 * `central-…`, which no gateway id can produce here.
 */
export function gatewayClientId(gatewayId: string): string {
  return `gw-${gatewayId}`;
}

/** Client ids of the central's own connections (ingest, provisioning): `central-<role>-<random>`. */
export const CENTRAL_CLIENT_ID_PREFIX = 'central-';

import type { Socket } from 'node:net';
import type { MqttClient } from 'mqtt';

/**
 * MQTT.js leaves Nagle's algorithm on; alarm traffic is small packets written back to back
 * (PUBACK then PUBLISH), which then wait for a delayed ACK (~40 ms). Turn it off on every connect.
 */
export function disableNagle(client: MqttClient): void {
  const apply = () => (client.stream as Partial<Socket> | undefined)?.setNoDelay?.(true);
  apply();
  client.on('connect', apply);
}

/**
 * Client options for a memory-bound device: MQTT.js otherwise pre-allocates a 2-byte Buffer for
 * each of the 65,536 packet ids on first write (≈6.5 MiB of heap) to save one tiny allocation per
 * packet, which a gateway sending a few packets a minute never needs.
 */
export const SMALL_FOOTPRINT = { writeCache: false } as const;

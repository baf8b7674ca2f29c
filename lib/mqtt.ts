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

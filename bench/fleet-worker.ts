import mqtt, { type MqttClient } from 'mqtt';
import { UPLINK_TIMING } from '../gateway/transport/uplink-timing.ts';
import { Backoff } from '../lib/backoff.ts';
import { SMALL_FOOTPRINT } from '../lib/mqtt.ts';
import { encode } from '../protocols/messages.ts';
import { gatewayClientId, topicFor } from '../protocols/topics.ts';
import { PROTOCOL_VERSION } from '../protocols/version.ts';

/** What the bench gives the fleet thread. */
export interface FleetData {
  /** The brokers (a cluster's nodes): gateway i starts on the (i mod n)-th and moves on to the next. */
  readonly urls: readonly string[];
  readonly ca: string | null;
  readonly gateways: ReadonlyArray<{ siteId: string; gatewayId: string; secret: string }>;
  /** TLS handshakes in progress at most while the fleet first comes online. */
  readonly rampConcurrency: number;
}

/** Messages from the bench to the fleet. */
export type FleetCommand =
  | { type: 'start'; data: FleetData }
  | { type: 'load'; perSecond: number }
  | { type: 'unload' }
  | { type: 'end' };

/** What the fleet reports, every 250 ms and when it ends. */
export interface FleetStatus {
  type: 'status';
  connected: number;
  /** The last load: heartbeats sent and over how long (final once `loading` is false). */
  load: { sent: number; seconds: number; loading: boolean };
}

interface Member {
  readonly siteId: string;
  readonly gatewayId: string;
  readonly client: MqttClient;
  readonly backoff: Backoff;
  seq: number;
  up: boolean;
}

/**
 * Many gateways' MQTT connections in a process of their own (the central's event loop and file
 * descriptors stay its own, as they are with gateways on the premises): TLS, the gateway's clean session and QoS 0
 * subscription, a heartbeat on every connect, and a reconnect after a loss with the gateway's
 * jittered back-off (1 s growing to 10 s).
 */
let data: FleetData;
let connected = 0;
let ending = false;
const lastLoad = { sent: 0, seconds: 0, loading: false };
const members: Member[] = [];

function heartbeat(m: Member): void {
  if (!m.up) return;
  m.client.publish(
    topicFor(m.siteId, m.gatewayId, 'heartbeat'),
    encode({
      v: PROTOCOL_VERSION,
      type: 'heartbeat',
      siteId: m.siteId,
      gatewayId: m.gatewayId,
      path: 'primary',
      seq: ++m.seq,
      sentAt: new Date().toISOString(),
      outboxDepth: 0,
      firmware: 'bench',
    }),
    { qos: 1 },
  );
}

function join(gateway: FleetData['gateways'][number], index: number): Promise<void> {
  return new Promise((resolve) => {
    const urls = data.urls.map((_, k) => data.urls[(index + k) % data.urls.length]!);
    const client = mqtt.connect(urls[0]!, {
      ...SMALL_FOOTPRINT,
      // As the gateway does: each reconnect takes the next broker of its list.
      servers: urls.map((url) => {
        const parsed = new URL(url);
        return {
          host: parsed.hostname,
          port: Number(parsed.port),
          protocol: parsed.protocol === 'mqtts:' ? ('mqtts' as const) : ('mqtt' as const),
        };
      }),
      clientId: gatewayClientId(gateway.gatewayId),
      username: gateway.gatewayId,
      password: gateway.secret,
      clean: true,
      // The gateway's own connect timeout and back-off; a keepalive of 60 s, where the gateway's is
      // 30 s, keeps the fleet's pings from weighing on what is measured under heartbeats.
      keepalive: 60,
      reconnectPeriod: 0,
      connectTimeout: UPLINK_TIMING.connectTimeoutMs,
      ...(data.ca ? { ca: data.ca } : {}),
    });
    const m: Member = {
      ...gateway,
      client,
      backoff: new Backoff(UPLINK_TIMING.backoff),
      seq: 0,
      up: false,
    };
    members.push(m);
    let first = true;
    client.on('connect', () => {
      m.up = true;
      connected++;
      m.backoff.reset();
      client.subscribe([topicFor(m.siteId, m.gatewayId, 'ack'), topicFor(m.siteId, m.gatewayId, 'command')], {
        qos: 0,
      });
      heartbeat(m);
      if (first) resolve();
      first = false;
    });
    client.on('error', () => undefined);
    client.on('close', () => {
      if (m.up) connected--;
      m.up = false;
      if (first) {
        first = false;
        resolve();
      }
      if (!ending) setTimeout(() => !ending && client.reconnect(), m.backoff.next());
    });
  });
}

async function ramp(): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: data.rampConcurrency }, async () => {
      while (next < data.gateways.length) {
        const index = next++;
        await join(data.gateways[index]!, index);
      }
    }),
  );
}

let load: NodeJS.Timeout | null = null;
process.on('message', async (command: FleetCommand) => {
  if (command.type === 'start') {
    data = command.data;
    reporting = setInterval(report, 250);
    void ramp();
  } else if (command.type === 'load') {
    // Heartbeats spread evenly over the fleet, in ticks of 10 ms.
    let next = 0;
    const started = performance.now();
    Object.assign(lastLoad, { sent: 0, seconds: 0, loading: true });
    load = setInterval(() => {
      lastLoad.seconds = (performance.now() - started) / 1000;
      const due = Math.floor(lastLoad.seconds * command.perSecond) - lastLoad.sent;
      for (let k = 0; k < due; k++, lastLoad.sent++) heartbeat(members[next++ % members.length]!);
    }, 10);
  } else if (command.type === 'unload') {
    if (load) clearInterval(load);
    load = null;
    lastLoad.loading = false;
    report();
  } else {
    ending = true;
    if (load) clearInterval(load);
    if (reporting) clearInterval(reporting);
    await Promise.all(members.map((m) => m.client.endAsync(true).catch(() => undefined)));
    report();
    process.disconnect();
  }
});

function report(): void {
  if (!process.connected) return;
  process.send?.({
    type: 'status',
    connected,
    load: { ...lastLoad },
  } satisfies FleetStatus);
}
let reporting: NodeJS.Timeout | null = null;
// The bench gone (it failed or was stopped) leaves no fleet behind reconnecting for ever.
process.on('disconnect', () => process.exit(0));

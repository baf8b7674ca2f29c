import type { ChildProcess } from 'node:child_process';
import { spawnCentralWorker } from '../../central/cluster/worker-process.ts';
import { freePort } from '../../central/db/embedded.ts';
import { tempDir } from './central.ts';

export interface CentralWorker {
  readonly process: ChildProcess;
  /** Its console and API (plain HTTP on loopback). */
  readonly httpUrl: string;
  /** Its own embedded broker, when it has no external one. */
  readonly mqttUrl: string;
}

/**
 * A central worker as its own process (`vigil central`) on a PostgreSQL database another central
 * uses too: resolves once it has started. With `rabbitmq` it consumes that cluster's uplink
 * queue; without, it runs its own embedded broker. Kill it as a crash would.
 */
export async function startCentralWorker(options: {
  databaseUrl: string;
  /** A JSON escalation table (`VIGIL_ESCALATION_FILE`): the same as the other workers'. */
  escalationFile?: string;
  rabbitmq?: {
    mqttUrl: string;
    amqpUrls: readonly string[];
    central: { username: string; password: string };
  };
}): Promise<CentralWorker> {
  const httpPort = await freePort();
  const mqttPort = await freePort();
  const { rabbitmq } = options;
  const worker = await spawnCentralWorker({
    DATABASE_URL: options.databaseUrl,
    VIGIL_DATA_DIR: tempDir('worker'),
    VIGIL_HTTP_HOST: '127.0.0.1',
    VIGIL_HTTP_PORT: String(httpPort),
    VIGIL_DC09_PORT: String(await freePort()),
    VIGIL_MQTT_HOST: '127.0.0.1',
    VIGIL_MQTT_PORT: String(mqttPort),
    VIGIL_MQTT_TLS: 'off',
    VIGIL_HTTP_TLS: 'off',
    VIGIL_LOG_LEVEL: 'info',
    ...(options.escalationFile ? { VIGIL_ESCALATION_FILE: options.escalationFile } : {}),
    ...(rabbitmq
      ? {
          VIGIL_MQTT_URL: rabbitmq.mqttUrl,
          VIGIL_BROKER_KIND: 'rabbitmq',
          VIGIL_AMQP_URLS: rabbitmq.amqpUrls.join(','),
          VIGIL_MQTT_CENTRAL_USER: rabbitmq.central.username,
          VIGIL_MQTT_CENTRAL_PASSWORD: rabbitmq.central.password,
        }
      : {}),
  });
  return {
    process: worker,
    httpUrl: `http://127.0.0.1:${httpPort}`,
    mqttUrl: rabbitmq?.mqttUrl ?? `mqtt://127.0.0.1:${mqttPort}`,
  };
}

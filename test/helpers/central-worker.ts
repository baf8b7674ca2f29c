import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { freePort } from '../../central/db/embedded.ts';
import { tempDir } from './central.ts';

/**
 * A central worker as its own process (`vigil central`) on a RabbitMQ cluster and a PostgreSQL
 * database: resolves once it has started (consuming the uplink queue). Kill it as a crash would.
 */
export async function startCentralWorker(options: {
  databaseUrl: string;
  mqttUrl: string;
  amqpUrls: readonly string[];
  central: { username: string; password: string };
}): Promise<ChildProcess> {
  const worker = spawn(process.execPath, [path.resolve('bin/vigil.mjs'), 'central'], {
    env: {
      ...process.env,
      DATABASE_URL: options.databaseUrl,
      VIGIL_DATA_DIR: tempDir('worker'),
      VIGIL_HTTP_PORT: String(await freePort()),
      VIGIL_DC09_PORT: String(await freePort()),
      VIGIL_MQTT_TLS: 'off',
      VIGIL_HTTP_TLS: 'off',
      VIGIL_MQTT_URL: options.mqttUrl,
      VIGIL_BROKER_KIND: 'rabbitmq',
      VIGIL_AMQP_URLS: options.amqpUrls.join(','),
      VIGIL_MQTT_CENTRAL_USER: options.central.username,
      VIGIL_MQTT_CENTRAL_PASSWORD: options.central.password,
      VIGIL_LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    worker.stdout?.on('data', (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-20_000);
      if (output.includes('central started')) resolve();
    });
    worker.once('exit', (code) => reject(new Error(`the worker exited (${code}): ${output}`)));
  });
  worker.stdout?.resume();
  return worker;
}

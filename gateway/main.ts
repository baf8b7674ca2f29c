import path from 'node:path';
import { type Clock, systemClock } from '../lib/clock.ts';
import { openJsonFile } from '../lib/json-file.ts';
import type { Logger } from '../lib/logger.ts';
import type { Metrics } from '../lib/metrics.ts';
import { type GatewayConfig, parseGatewayConfig } from './config.ts';
import type { ConfigStore } from './config-store.ts';
import type { ArmingMode } from './domain/panel.ts';
import { Gateway } from './gateway.ts';
import { type LocalApi, startLocalApi } from './http/local-api.ts';
import { HomeAssistantBridge } from './integrations/home-assistant.ts';

/** Read and validate the gateway's lowdb configuration file; the error names the field and device. */
export async function loadGatewayConfig(file: string): Promise<GatewayConfig> {
  const db = await openJsonFile<unknown>(file, null);
  if (db.data === null) throw new Error(`gateway config ${file} is missing or empty`);
  return parseGatewayConfig(db.data, `gateway config ${file}`);
}

export interface RunningGateway {
  readonly gateway: Gateway;
  readonly localApiUrl: string;
  stop(): Promise<void>;
}

/** The gateway's composition root: config -> buses, outbox, uplink, local API. */
export async function runGateway(options: {
  config: GatewayConfig;
  dataDir: string;
  logger: Logger;
  metrics: Metrics;
  configStore?: ConfigStore;
  httpPort?: number;
  initialMode?: ArmingMode;
  /** The system clock unless a test gives another (e.g. one set wrong). */
  clock?: Clock;
}): Promise<RunningGateway> {
  const gateway = new Gateway({
    config: options.config,
    ...(options.configStore ? { configStore: options.configStore } : {}),
    dataDir: path.resolve(options.dataDir),
    clock: options.clock ?? systemClock,
    logger: options.logger,
    metrics: options.metrics,
    ...(options.initialMode ? { initialMode: options.initialMode } : {}),
  });
  await gateway.start();
  let api: LocalApi | null = null;
  const homeAssistant = options.config.homeAssistant
    ? new HomeAssistantBridge(
        gateway,
        options.config.homeAssistant,
        options.logger.child({ component: 'home-assistant' }),
        options.metrics,
      )
    : null;
  try {
    await homeAssistant?.start();
    api = await startLocalApi(gateway, {
      host: options.config.http.host,
      port: options.httpPort ?? options.config.http.port,
      logger: options.logger,
      metrics: options.metrics,
    });
    const url = api.url;
    return {
      gateway,
      localApiUrl: url.replace('://127.0.0.1', '://localhost'),
      async stop() {
        await api?.close();
        await homeAssistant?.stop();
        await gateway.stop();
      },
    };
  } catch (error) {
    await api?.close();
    await homeAssistant?.stop();
    await gateway.stop();
    throw error;
  }
}

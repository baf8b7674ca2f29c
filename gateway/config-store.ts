import { openJsonFile } from '../lib/json-file.ts';
import { type GatewayConfig, parseGatewayConfig } from './config.ts';

/**
 * The gateway's configuration and device registry, a lowdb JSON file: installers change it through
 * the local API or the CLI; every change is validated as a whole before it is written.
 */
export interface ConfigStore {
  read(): GatewayConfig;
  update(change: (draft: GatewayConfig) => void): Promise<GatewayConfig>;
}

export async function openConfigStore(file: string): Promise<ConfigStore> {
  const db = await openJsonFile<unknown>(file, null);
  if (db.data === null) throw new Error(`gateway config ${file} is missing or empty`);
  let current = parseGatewayConfig(db.data, `gateway config ${file}`);
  return {
    read: () => current,
    async update(change) {
      const draft = structuredClone(current);
      change(draft);
      const next = parseGatewayConfig(draft, 'gateway config change');
      db.data = next;
      await db.write();
      current = next;
      return next;
    },
  };
}

/** A store that keeps changes in memory only (tests, and a demo started without a config file). */
export function memoryConfigStore(config: GatewayConfig): ConfigStore {
  let current = config;
  return {
    read: () => current,
    async update(change) {
      const draft = structuredClone(current);
      change(draft);
      current = parseGatewayConfig(draft, 'gateway config change');
      return current;
    },
  };
}

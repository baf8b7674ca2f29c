import { randomBytes, randomInt } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

/**
 * The Zigbee network's identity and key. Generated on first start from a CSPRNG and kept (mode
 * 0600) beside the coordinator backup: never zigbee-herdsman's publicly known default key, and
 * stable across restarts so paired devices stay paired.
 */
const NetworkSchema = z.strictObject({
  panID: z.number().int().min(1).max(0xfffe),
  extendedPanID: z.array(z.number().int().min(0).max(255)).length(8),
  networkKey: z.array(z.number().int().min(0).max(255)).length(16),
  channel: z.number().int().min(11).max(26),
});
export type NetworkParams = z.infer<typeof NetworkSchema>;

export function loadOrCreateNetwork(
  dir: string,
  channel: number,
): { params: NetworkParams; created: boolean } {
  const file = path.join(dir, 'network.json');
  if (existsSync(file)) {
    const parsed = NetworkSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
    if (!parsed.success) throw new Error(`${file} is damaged: ${parsed.error.issues[0]?.message}`);
    return { params: parsed.data, created: false };
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const params: NetworkParams = {
    panID: randomInt(1, 0xfffe),
    extendedPanID: [...randomBytes(8)],
    networkKey: [...randomBytes(16)],
    channel,
  };
  writeFileSync(file, `${JSON.stringify(params)}\n`, { mode: 0o600 });
  return { params, created: true };
}

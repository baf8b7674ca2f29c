import path from 'node:path';
import type { Env } from '../../lib/env.ts';
import type { Logger } from '../../lib/logger.ts';
import { Metrics } from '../../lib/metrics.ts';
import { attachSecretBox, SecretBox } from '../auth/secret-box.ts';
import { type GatewayProvisioner, provisionerFor } from '../broker/provisioner.ts';
import { loadOrCreateGrantSigner } from '../cameras/grant-signer.ts';
import { startEmbeddedPostgres } from '../db/embedded.ts';
import { migrate } from '../db/migrate.ts';
import { endPool } from '../db/pool.ts';
import { DatabaseTarget } from '../db/target.ts';
import { issueGatewaySecret } from '../records.ts';
import { externalBrokerFromEnv } from '../tls/material.ts';
import type { AdminContext } from './admin-commands.ts';

/**
 * What an admin command needs when no central is running: the database (embedded or
 * DATABASE_URL), the grant key, and the external broker's provisioning. Nothing listens.
 */
export async function openOfflineAdmin(
  env: Env,
  logger: Logger,
): Promise<{ ctx: AdminContext; close(): Promise<void> }> {
  const dataDir = path.resolve(env.VIGIL_DATA_DIR, 'central');
  const embedded = env.DATABASE_URL ? null : await startEmbeddedPostgres(dataDir, logger);
  const pool = new DatabaseTarget(env.DATABASE_URL ?? embedded!.url, logger, new Metrics()).pool({ max: 2 });
  attachSecretBox(pool, SecretBox.open(dataDir));
  let provisioner: GatewayProvisioner | null = null;
  const close = async () => {
    await provisioner?.close?.();
    await endPool(pool);
    await embedded?.stop();
  };
  try {
    await migrate(pool, logger);
    const signer = await loadOrCreateGrantSigner(path.join(dataDir, 'grants'));
    // mosquitto (dynamic security) or RabbitMQ (its management API), as the running central does.
    const external = externalBrokerFromEnv(env);
    if (external) provisioner = await provisionerFor(external, logger);
    const ctx: AdminContext = {
      pool,
      grantKey: signer.publicKey,
      issueGatewaySecret: async (siteId, gatewayId, actor) => {
        const secret = await issueGatewaySecret(pool, siteId, gatewayId, actor);
        await provisioner?.provisionGateway(siteId, gatewayId, secret);
        return secret;
      },
      onDc09AccountsChanged: async () => {},
    };
    return { ctx, close };
  } catch (error) {
    await close();
    throw error;
  }
}

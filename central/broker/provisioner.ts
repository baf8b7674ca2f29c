import type { Logger } from '../../lib/logger.ts';
import type { ExternalBroker } from '../central.ts';
import { DynsecProvisioner } from './dynsec.ts';
import { RabbitProvisioner } from './rabbitmq.ts';

/** Where a commissioned gateway's credentials go besides the database (an external broker). */
export interface GatewayProvisioner {
  ensureCentral(username: string, password: string): Promise<void>;
  provisionGateway(siteId: string, gatewayId: string, secret: string): Promise<void>;
  close?(): Promise<void>;
}

/** The external broker's provisioning (mosquitto's dynamic security or RabbitMQ's API), with its admin. */
export async function provisionerFor(
  external: ExternalBroker,
  logger: Logger,
): Promise<GatewayProvisioner | null> {
  const { adminUsername: username, adminPassword: password } = external;
  if (!username || !password) return null;
  if (external.kind === 'rabbitmq') {
    if (!external.apiUrl)
      throw new Error('a RabbitMQ broker needs its management API URL to provision gateways');
    return new RabbitProvisioner({
      apiUrl: external.apiUrl,
      username,
      password,
      ca: external.ca,
      logger: logger.child({ component: 'rabbitmq' }),
    });
  }
  return DynsecProvisioner.connect(
    external.url,
    username,
    password,
    logger.child({ component: 'dynsec' }),
    external.ca,
  );
}

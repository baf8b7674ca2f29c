import { randomUUID } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import type { Logger } from '../../lib/logger.ts';
import {
  allGatewaysFilter,
  DOWNLINK_CHANNELS,
  gatewayClientId,
  topicFor,
  UPLINK_CHANNELS,
} from '../../protocols/topics.ts';

const CONTROL = '$CONTROL/dynamic-security/v1';

interface Acl {
  acltype: 'publishClientSend' | 'publishClientReceive' | 'subscribeLiteral' | 'subscribePattern';
  topic: string;
  allow: boolean;
  priority?: number;
}

/** The same rules as the embedded broker's ACL (acl.ts), as mosquitto dynamic-security roles. */
export function gatewayAcls(siteId: string, gatewayId: string): Acl[] {
  return [
    ...UPLINK_CHANNELS.map((c) => ({
      acltype: 'publishClientSend' as const,
      topic: topicFor(siteId, gatewayId, c),
      allow: true,
    })),
    ...DOWNLINK_CHANNELS.map((c) => ({
      acltype: 'subscribeLiteral' as const,
      topic: topicFor(siteId, gatewayId, c),
      allow: true,
    })),
  ];
}

export function centralAcls(): Acl[] {
  return [
    ...UPLINK_CHANNELS.map((c) => ({
      acltype: 'subscribePattern' as const,
      topic: allGatewaysFilter(c),
      allow: true,
    })),
    ...DOWNLINK_CHANNELS.map((c) => ({
      acltype: 'publishClientSend' as const,
      topic: `vigil/v1/+/+/${c}`,
      allow: true,
    })),
  ];
}

/**
 * Provisioning of an external mosquitto (2.x, dynamic-security plugin) over its `$CONTROL` topic:
 * the central's role, and for each gateway a client with its issued secret (mosquitto keeps only a
 * PBKDF2 hash) and a role that allows its own topics only. Idempotent.
 */
export class DynsecProvisioner {
  readonly #client: MqttClient;
  readonly #logger: Logger;
  readonly #pending = new Map<string, (response: { error?: string }) => void>();

  private constructor(client: MqttClient, logger: Logger) {
    this.#client = client;
    this.#logger = logger;
    client.on('message', (_topic, payload) => {
      let body: { responses?: Array<{ command: string; error?: string; correlationData?: string }> };
      try {
        body = JSON.parse(payload.toString());
      } catch {
        return;
      }
      for (const response of body.responses ?? []) {
        const resolve = response.correlationData ? this.#pending.get(response.correlationData) : undefined;
        if (resolve) resolve(response);
      }
    });
  }

  static async connect(
    url: string,
    username: string,
    password: string,
    logger: Logger,
    ca?: string,
  ): Promise<DynsecProvisioner> {
    const client = await mqtt.connectAsync(url, {
      username,
      password,
      clientId: `central-dynsec-${randomUUID().slice(0, 8)}`,
      reconnectPeriod: 2000,
      ...(ca ? { ca } : {}),
    });
    await client.subscribeAsync(`${CONTROL}/response`, { qos: 1 });
    return new DynsecProvisioner(client, logger);
  }

  async close(): Promise<void> {
    await this.#client.endAsync();
  }

  async ensureCentral(username: string, password: string): Promise<void> {
    await this.#upsertRole('vigil-central', centralAcls());
    await this.#upsertClient(username, password, 'vigil-central', null);
  }

  async provisionGateway(siteId: string, gatewayId: string, secret: string): Promise<void> {
    const role = `vigil-gw-${gatewayId}`;
    await this.#upsertRole(role, gatewayAcls(siteId, gatewayId));
    await this.#upsertClient(gatewayId, secret, role, gatewayClientId(gatewayId));
    this.#logger.info({ siteId, gatewayId }, 'gateway provisioned on the external broker');
  }

  async #upsertRole(rolename: string, acls: Acl[]): Promise<void> {
    const created = await this.#command({ command: 'createRole', rolename, acls });
    if (!created.error) return;
    if (!/already exists/i.test(created.error)) throw new Error(`createRole ${rolename}: ${created.error}`);
    // Replace the role's ACLs with the current rules.
    const role = await this.#command({ command: 'getRole', rolename });
    for (const acl of (role as { data?: { role?: { acls?: Acl[] } } }).data?.role?.acls ?? []) {
      await this.#command({ command: 'removeRoleACL', rolename, acltype: acl.acltype, topic: acl.topic });
    }
    for (const acl of acls) await this.#checked({ command: 'addRoleACL', rolename, ...acl });
  }

  /**
   * `clientid` binds the username to one client id (mosquitto refuses any other at CONNECT), so no
   * other credential can take over the gateway's session or its queued messages.
   */
  async #upsertClient(username: string, password: string, rolename: string, clientid: string | null) {
    const created = await this.#command({
      command: 'createClient',
      username,
      password,
      ...(clientid ? { clientid } : {}),
      roles: [{ rolename }],
    });
    if (!created.error) return;
    if (!/already exists/i.test(created.error)) throw new Error(`createClient ${username}: ${created.error}`);
    await this.#checked({ command: 'setClientPassword', username, password });
    await this.#checked({ command: 'setClientId', username, ...(clientid ? { clientid } : {}) });
    // mosquitto answers adding a role the client already has with "Internal error": look first.
    const existing = await this.#command({ command: 'getClient', username });
    const roles = (existing.data as { client?: { roles?: Array<{ rolename: string }> } } | undefined)?.client
      ?.roles;
    if (!roles?.some((r) => r.rolename === rolename))
      await this.#checked({ command: 'addClientRole', username, rolename });
  }

  async #checked(command: Record<string, unknown>): Promise<void> {
    const response = await this.#command(command);
    if (response.error) throw new Error(`${String(command.command)}: ${response.error}`);
  }

  #command(command: Record<string, unknown>): Promise<{ error?: string; data?: unknown }> {
    const correlationData = randomUUID();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(correlationData);
        reject(
          new Error(
            `mosquitto did not answer ${String(command.command)} (is the dynamic-security plugin loaded?)`,
          ),
        );
      }, 5000);
      this.#pending.set(correlationData, (response) => {
        clearTimeout(timer);
        this.#pending.delete(correlationData);
        resolve(response);
      });
      this.#client.publish(CONTROL, JSON.stringify({ commands: [{ ...command, correlationData }] }), {
        qos: 1,
      });
    });
  }
}

import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Env } from '../../lib/env.ts';
import type { ExternalBroker } from '../central.ts';
import { ensureTlsMaterial, type TlsMaterial } from './certificates.ts';

/**
 * The broker's TLS material from the environment: the operator's own certificate files, or a
 * private CA and certificate generated once under `<dataDir>/tls`; null when TLS is switched off.
 */
export async function tlsFromEnv(env: Env, dataDir: string): Promise<TlsMaterial | null> {
  if (env.VIGIL_MQTT_TLS === 'off') return null;
  const { VIGIL_MQTT_TLS_CERT: cert, VIGIL_MQTT_TLS_KEY: key, VIGIL_MQTT_TLS_CA: ca } = env;
  if (cert || key) {
    if (!cert || !key) throw new Error('VIGIL_MQTT_TLS_CERT and VIGIL_MQTT_TLS_KEY go together');
    return {
      cert: readFileSync(cert, 'utf8'),
      key: readFileSync(key, 'utf8'),
      ca: ca ? readFileSync(ca, 'utf8') : readFileSync(cert, 'utf8'),
    };
  }
  return ensureTlsMaterial(path.join(dataDir, 'tls'), [env.VIGIL_MQTT_HOST]);
}

/** The external broker settings, when VIGIL_MQTT_URL is set; the error names what is missing. */
export function externalBrokerFromEnv(env: Env): ExternalBroker | undefined {
  if (!env.VIGIL_MQTT_URL) return undefined;
  if (!env.VIGIL_MQTT_CENTRAL_PASSWORD) throw new Error('VIGIL_MQTT_URL needs VIGIL_MQTT_CENTRAL_PASSWORD');
  if (env.VIGIL_BROKER_KIND === 'rabbitmq' && !env.VIGIL_AMQP_URLS)
    throw new Error('VIGIL_BROKER_KIND=rabbitmq needs VIGIL_AMQP_URLS (the nodes the workers consume from)');
  return {
    kind: env.VIGIL_BROKER_KIND,
    amqpUrls: env.VIGIL_AMQP_URLS,
    apiUrl: env.VIGIL_RABBITMQ_API_URL,
    url: env.VIGIL_MQTT_URL,
    centralUsername: env.VIGIL_MQTT_CENTRAL_USER,
    centralPassword: env.VIGIL_MQTT_CENTRAL_PASSWORD,
    adminUsername: env.VIGIL_MQTT_ADMIN_USER,
    adminPassword: env.VIGIL_MQTT_ADMIN_PASSWORD,
    ca: env.VIGIL_MQTT_TLS_CA ? readFileSync(env.VIGIL_MQTT_TLS_CA, 'utf8') : undefined,
  };
}

/** The web application's TLS: its own files, or the central's private CA certificate (as for MQTT). */
export async function httpTlsFromEnv(
  env: Env,
  dataDir: string,
): Promise<{ key: string; cert: string } | null> {
  if (env.VIGIL_HTTP_TLS === 'off') return null;
  const { VIGIL_HTTP_TLS_CERT: cert, VIGIL_HTTP_TLS_KEY: key } = env;
  if (cert || key) {
    if (!cert || !key) throw new Error('VIGIL_HTTP_TLS_CERT and VIGIL_HTTP_TLS_KEY go together');
    return { cert: readFileSync(cert, 'utf8'), key: readFileSync(key, 'utf8') };
  }
  const material = await ensureTlsMaterial(path.join(dataDir, 'tls'), [env.VIGIL_HTTP_HOST]);
  return { cert: material.cert, key: material.key };
}

import { isIP } from 'node:net';
import { z } from 'zod';

/** Process configuration from the environment, validated once, with errors that name the variable. */
const Port = z.coerce.number().int().min(0).max(65_535);
const ProxyAddress = z
  .string()
  .refine(
    (entry) =>
      ['loopback', 'linklocal', 'uniquelocal'].includes(entry) || isIP(entry.replace(/\/\d{1,3}$/, '')) !== 0,
    'an address, a CIDR, or loopback/linklocal/uniquelocal',
  );

/** A comma-separated list, each entry trimmed, empty ones dropped, then validated as `items`. */
function commaList<T extends z.ZodType<unknown, string[]>>(items: T) {
  return z
    .string()
    .transform((value) =>
      value
        .split(',')
        .map((entry) => entry.trim())
        .filter(Boolean),
    )
    .pipe(items);
}

/** Which proxy hops the web application believes (none when it is not behind a proxy). */
export function trustedProxies(env: Env): string[] {
  if (env.VIGIL_TRUSTED_PROXIES) return env.VIGIL_TRUSTED_PROXIES;
  return env.VIGIL_BEHIND_TLS_PROXY === 'on' ? ['loopback'] : [];
}

const EnvSchema = z.object({
  VIGIL_DATA_DIR: z.string().min(1).default('./data'),
  // A libpq-style URL; several hosts (a primary and its standbys) separated by commas.
  DATABASE_URL: z
    .string()
    .regex(
      /^postgres(ql)?:\/\/([^@/\s]*@)?[^/?#\s,]+(,[^/?#\s,]+)*(\/[^\s]*)?$/,
      'a postgres:// URL (several servers: postgres://user@host1:5432,host2:5432/db)',
    )
    .optional(),
  VIGIL_HTTP_HOST: z.string().min(1).default('127.0.0.1'),
  VIGIL_HTTP_PORT: Port.default(8080),
  /** The web application over HTTPS: `on` uses VIGIL_HTTP_TLS_CERT/KEY, or the central's own CA. */
  VIGIL_HTTP_TLS: z.enum(['on', 'off']).default('off'),
  VIGIL_HTTP_TLS_CERT: z.string().optional(),
  VIGIL_HTTP_TLS_KEY: z.string().optional(),
  /** Behind a TLS-terminating reverse proxy (trust its X-Forwarded-*, Secure cookies). */
  VIGIL_BEHIND_TLS_PROXY: z.enum(['on', 'off']).default('off'),
  /**
   * The proxies whose X-Forwarded-For is believed, one hop each: addresses, CIDRs, or `loopback`,
   * `linklocal`, `uniquelocal`. The client's address is the first one, from the right, not in this
   * list. Default with VIGIL_BEHIND_TLS_PROXY=on: loopback (a proxy on the same machine).
   */
  VIGIL_TRUSTED_PROXIES: commaList(z.array(ProxyAddress).min(1)).optional(),
  /** The bearer token Prometheus sends to scrape /metrics (without it: loopback and supervisors only). */
  VIGIL_METRICS_TOKEN: z.string().min(16, 'at least 16 characters').optional(),
  VIGIL_MQTT_HOST: z.string().min(1).default('127.0.0.1'),
  VIGIL_MQTT_PORT: Port.default(1883),
  VIGIL_MQTT_TLS: z.enum(['on', 'off']).default('on'),
  VIGIL_MQTT_TLS_CERT: z.string().optional(),
  VIGIL_MQTT_TLS_KEY: z.string().optional(),
  VIGIL_MQTT_TLS_CA: z.string().optional(),
  /** An external broker (mosquitto with dynamic security) instead of the embedded one. */
  VIGIL_MQTT_URL: z.url({ protocol: /^mqtts?$/ }).optional(),
  /** The broker URL as the premises reach it, given to installers for gateways (default: the broker's). */
  VIGIL_PUBLIC_MQTT_URL: z.url({ protocol: /^mqtts?$/ }).optional(),
  /** A broker cluster's other nodes as the premises reach them, comma-separated (gateways' `central.mqttUrls`). */
  VIGIL_PUBLIC_MQTT_URLS: commaList(z.array(z.url({ protocol: /^mqtts?$/ })).max(16)).optional(),
  VIGIL_MQTT_CENTRAL_USER: z.string().min(1).default('vigil-central'),
  VIGIL_MQTT_CENTRAL_PASSWORD: z.string().min(16).optional(),
  VIGIL_MQTT_ADMIN_USER: z.string().min(1).optional(),
  VIGIL_MQTT_ADMIN_PASSWORD: z.string().min(1).optional(),
  /** Which external broker VIGIL_MQTT_URL is: mosquitto (one broker) or a RabbitMQ cluster. */
  VIGIL_BROKER_KIND: z.enum(['mosquitto', 'rabbitmq']).default('mosquitto'),
  /** RabbitMQ: the nodes' AMQP addresses, comma-separated (amqp[s]://host:port), where workers consume. */
  VIGIL_AMQP_URLS: commaList(
    z
      .array(z.url({ protocol: /^amqps?$/ }))
      .min(1)
      .max(16),
  ).optional(),
  /** RabbitMQ: a node's management API, e.g. http://127.0.0.1:15672/api (provisioning of gateways). */
  VIGIL_RABBITMQ_API_URL: z.url({ protocol: /^https?$/ }).optional(),
  /** SMS through an SMSC: smpp://system_id:password@host:port */
  VIGIL_SMPP_URL: z.url({ protocol: /^smpp$/ }).optional(),
  VIGIL_SMS_SOURCE: z.string().max(11).default('Vigil'),
  /** E-mail through an SMTP server: smtp(s)://user:pass@host:port */
  VIGIL_SMTP_URL: z.url({ protocol: /^smtps?$/ }).optional(),
  VIGIL_MAIL_FROM: z.string().default('vigil@localhost'),
  /** VAPID subject for Web Push (mailto: or https:); default mailto:VIGIL_MAIL_FROM. */
  VIGIL_PUSH_SUBJECT: z
    .string()
    .regex(/^(mailto|https):/, 'a mailto: or https: URL')
    .optional(),
  /** PEM file of an extra CA to trust for a self-hosted push service. */
  VIGIL_PUSH_CA: z.string().optional(),
  VIGIL_DC09_HOST: z.string().min(1).default('127.0.0.1'),
  VIGIL_DC09_PORT: Port.default(9000),
  /** A plain DC-09 frame dated outside the window: `accept` it with its age shown, or `nak` it. */
  VIGIL_DC09_PLAIN_OUTSIDE_WINDOW: z.enum(['accept', 'nak']).default('accept'),
  /** The DC-09 receiver's number (`R…`, hex): frames addressed to another receiver are refused. */
  VIGIL_DC09_RECEIVER: z
    .string()
    .regex(/^[0-9A-Fa-f]{1,6}$/, '1–6 hex digits')
    .optional(),
  VIGIL_GATEWAY_HTTP_PORT: Port.default(8081),
  /** A JSON file with the escalation ages per class (docs/procedures.md); the same on every worker. */
  VIGIL_ESCALATION_FILE: z.string().min(1).optional(),
  /**
   * Incidents closed more than this many months ago are removed with their events and trail
   * (docs/architecture.md, "Retention"); unset, nothing is ever removed.
   */
  VIGIL_RETENTION_MONTHS: z.coerce
    .number()
    .int('whole months')
    .min(12, 'at least 12 months')
    .max(1200)
    .optional(),
});
export type Env = z.infer<typeof EnvSchema>;

export function readEnv(source: NodeJS.ProcessEnv = process.env): Env {
  const parsed = EnvSchema.safeParse(source);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((i) => `  - ${i.path.join('.')}: ${i.message}`);
  throw new Error(`invalid environment:\n${problems.join('\n')}`);
}

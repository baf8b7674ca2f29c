import fs from 'node:fs/promises';
import https from 'node:https';
import path from 'node:path';
import webpush, { type PushSubscription, WebPushError } from 'web-push';
import { z } from 'zod';

export interface VapidKeys {
  readonly publicKey: string;
  readonly privateKey: string;
}

const VapidFileSchema = z.strictObject({ publicKey: z.string().min(80), privateKey: z.string().min(40) });

/** The central's VAPID key pair (RFC 8292), made on first start and kept private to its data dir. */
export async function loadOrCreateVapidKeys(dir: string): Promise<VapidKeys> {
  const file = path.join(dir, 'vapid.json');
  try {
    return VapidFileSchema.parse(JSON.parse(await fs.readFile(file, 'utf8')));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT')
      throw new Error(`${file}: ${(error as Error).message}`);
  }
  const keys = webpush.generateVAPIDKeys();
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  await fs.writeFile(file, JSON.stringify(keys), { mode: 0o600, flag: 'wx' });
  return keys;
}

/** A browser's push subscription as the Push API hands it out (`PushSubscription.toJSON()`). */
export const PushSubscriptionSchema = z.object({
  endpoint: z.url({ protocol: /^https$/ }).max(2048),
  keys: z.strictObject({
    p256dh: z.string().regex(/^[A-Za-z0-9_-]{80,100}$/, 'a base64url P-256 public key'),
    auth: z.string().regex(/^[A-Za-z0-9_-]{16,32}$/, 'a base64url auth secret'),
  }),
});

export interface PushOptions {
  readonly keys: VapidKeys;
  /** Who runs this central, for push services to contact (mailto: or https: URL). */
  readonly subject: string;
  /** Trust this CA for push services too (a self-hosted push relay). */
  readonly ca?: string | undefined;
}

/**
 * Web Push (RFC 8030) with payload encryption (RFC 8291) and VAPID (RFC 8292): what the customer's
 * app is told. A subscription the push service says is gone (404/410) is reported as such.
 */
export class WebPushSender {
  readonly #o: PushOptions;
  readonly #agent: https.Agent | undefined;

  constructor(options: PushOptions) {
    this.#o = options;
    this.#agent = options.ca ? new https.Agent({ ca: options.ca, keepAlive: true }) : undefined;
  }

  get publicKey(): string {
    return this.#o.keys.publicKey;
  }

  async send(subscription: PushSubscription, payload: object, ttlSeconds: number): Promise<'sent' | 'gone'> {
    try {
      await webpush.sendNotification(subscription, JSON.stringify(payload), {
        vapidDetails: { subject: this.#o.subject, ...this.#o.keys },
        TTL: ttlSeconds,
        urgency: 'high',
        contentEncoding: 'aes128gcm',
        timeout: 10_000,
        ...(this.#agent ? { agent: this.#agent } : {}),
      });
      return 'sent';
    } catch (error) {
      if (error instanceof WebPushError && (error.statusCode === 404 || error.statusCode === 410))
        return 'gone';
      throw error instanceof WebPushError
        ? new Error(`push service answered ${error.statusCode}: ${error.body}`)
        : error;
    }
  }
}

import type pg from 'pg';
import type { PushSubscription } from 'web-push';
import { audit } from '../records.ts';

export interface StoredSubscription {
  readonly id: string;
  readonly subscription: PushSubscription;
}

/** Register (or move) a device's subscription to a contact of a site. */
export async function saveSubscription(
  pool: pg.Pool,
  siteId: string,
  contactId: string,
  subscription: PushSubscription,
  actor: string,
): Promise<void> {
  await pool.query(
    `INSERT INTO push_subscriptions (site_id, contact_id, endpoint, p256dh, auth) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (endpoint) DO UPDATE SET site_id = EXCLUDED.site_id, contact_id = EXCLUDED.contact_id,
       p256dh = EXCLUDED.p256dh, auth = EXCLUDED.auth`,
    [siteId, contactId, subscription.endpoint, subscription.keys.p256dh, subscription.keys.auth],
  );
  await audit(pool, actor, 'push.subscribe', siteId, {
    contactId,
    origin: new URL(subscription.endpoint).origin,
  });
}

/** Remove a subscription; the caller proves possession with its auth secret. */
export async function removeSubscription(pool: pg.Pool, endpoint: string, auth: string): Promise<boolean> {
  const { rows } = await pool.query<{ site_id: string }>(
    'DELETE FROM push_subscriptions WHERE endpoint = $1 AND auth = $2 RETURNING site_id',
    [endpoint, auth],
  );
  if (rows[0]) await audit(pool, 'app', 'push.unsubscribe', rows[0].site_id, {});
  return rows.length === 1;
}

export async function subscriptionsOf(pool: pg.Pool, siteId: string): Promise<StoredSubscription[]> {
  const { rows } = await pool.query<{ id: string; endpoint: string; p256dh: string; auth: string }>(
    'SELECT id::text, endpoint, p256dh, auth FROM push_subscriptions WHERE site_id = $1 ORDER BY id',
    [siteId],
  );
  return rows.map((r) => ({
    id: r.id,
    subscription: { endpoint: r.endpoint, keys: { p256dh: r.p256dh, auth: r.auth } },
  }));
}

/** What the push service reported: delivered (timestamp) or gone (the subscription is removed). */
export async function recordPushResult(pool: pg.Pool, id: string, result: 'sent' | 'gone'): Promise<void> {
  if (result === 'gone') await pool.query('DELETE FROM push_subscriptions WHERE id = $1', [id]);
  else await pool.query('UPDATE push_subscriptions SET last_sent_at = now() WHERE id = $1', [id]);
}

import type { FastifyInstance } from 'fastify';
import type pg from 'pg';
import { z } from 'zod';
import { checkContact } from '../contacts.ts';
import { removeSubscription, saveSubscription } from '../notify/push-subscriptions.ts';
import { PushSubscriptionSchema } from '../notify/web-push.ts';
import { parseOr400 } from './validation.ts';

const SubscribeSchema = z.strictObject({
  siteId: z.string().min(1).max(64),
  idCode: z.string().regex(/^\d{6}$/),
  pin: z.string().min(1).max(8),
  subscription: PushSubscriptionSchema,
});
const UnsubscribeSchema = z.strictObject({ endpoint: z.string().max(2048), auth: z.string().max(64) });

/**
 * The customer's app registers for Web Push with a contact's ID code + PIN (the same proof the
 * operators ask on the phone, with the same lockout); it unsubscribes by proving it holds the
 * subscription's auth secret.
 */
export function registerPushRoutes(
  app: FastifyInstance,
  pool: pg.Pool,
  publicKey: string,
  secretCheck: object,
): void {
  app.get('/api/push/key', async () => ({ publicKey }));

  app.post('/api/push/subscriptions', { config: secretCheck }, async (request, reply) => {
    const body = parseOr400(SubscribeSchema, request.body);
    // Anyone may try: failures lock this address out, not the contact (auth/lockout.ts).
    const contact = await checkContact(pool, body.siteId, body.idCode, body.pin, 'app', `ip:${request.ip}`);
    if (!contact.ok) return reply.code(403).send({ error: 'code not accepted' });
    await saveSubscription(
      pool,
      body.siteId,
      contact.contactId,
      body.subscription,
      `contact:${contact.contactId}`,
    );
    return reply.code(201).send({ subscribed: true });
  });

  app.delete('/api/push/subscriptions', async (request, reply) => {
    const body = parseOr400(UnsubscribeSchema, request.body);
    if (!(await removeSubscription(pool, body.endpoint, body.auth)))
      return reply.code(404).send({ error: 'no such subscription' });
    return { subscribed: false };
  });
}

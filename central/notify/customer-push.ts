import type pg from 'pg';
import { errorMessage } from '../../lib/errors.ts';
import type { Logger } from '../../lib/logger.ts';
import type { Metrics } from '../../lib/metrics.ts';
import { EVENT_TYPES, type EventTypeName } from '../../protocols/event-codes.ts';
import type { AlarmEvent } from '../../protocols/messages.ts';
import { recordPushResult, subscriptionsOf } from './push-subscriptions.ts';
import type { WebPushSender } from './web-push.ts';

const TTL_SECONDS = 3600;
/** Never told to the premises' phones: a duress or hold-up is silent towards the site. */
const SILENT = new Set<string>(['duress', 'holdup']);

/**
 * What the customer's phone is told of a stored event (`what` follows the site's name in the title),
 * or null when it is not for them: decided before anything is read from the database.
 */
export function pushFor(event: AlarmEvent): { what: string; body: string } | null {
  if (SILENT.has(event.eventType)) return null;
  const type = EVENT_TYPES[event.eventType as EventTypeName];
  if (!type) return null;
  const where = event.device?.name ?? (event.zone ? `zone ${event.zone}` : null);
  if (event.eventType === 'opening-closing')
    return {
      what: event.qualifier === 'restore' ? 'armed' : 'disarmed',
      body: event.text,
    };
  // Alarms the operators handle: the phone hears of them at once, for information.
  if (
    type.handling === 'alarm' &&
    event.qualifier === 'event' &&
    (type.class === 'security' || type.class === 'safety')
  )
    return {
      what: type.title,
      body: `${where ? `${where}. ` : ''}The alarm centre is handling it.`,
    };
  return null;
}

/**
 * Web Push to the customer's phones beside the procedures: every alarm the operators handle and
 * every arm or disarm, in words. Technical alarms reach the app through the procedure engine as
 * their handling under formula APP (engine.ts), so they are not repeated here. A push that fails is
 * logged and counted; it holds up nothing.
 */
interface CustomerPushOptions {
  readonly pool: pg.Pool;
  readonly push: WebPushSender;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

export class CustomerPush {
  readonly #o: CustomerPushOptions;

  constructor(options: CustomerPushOptions) {
    this.#o = options;
  }

  async onStored(event: AlarmEvent): Promise<void> {
    const { pool, push, logger, metrics } = this.#o;
    const message = pushFor(event);
    if (!message) return;
    const { rows } = await pool.query<{ name: string; test: boolean }>(
      'SELECT name, coalesce(test_mode_until > now(), false) AS test FROM sites WHERE id = $1',
      [event.siteId],
    );
    const site = rows[0];
    if (!site) return;
    const subscriptions = await subscriptionsOf(pool, event.siteId);
    for (const { id, subscription } of subscriptions) {
      try {
        const result = await push.send(
          subscription,
          {
            title: `${site.name}: ${message.what}`,
            body: message.body,
            at: event.occurredAt,
            test: site.test,
          },
          TTL_SECONDS,
        );
        await recordPushResult(pool, id, result);
        metrics.increment('customer_pushes_total', { result });
      } catch (error) {
        metrics.increment('customer_pushes_total', { result: 'failed' });
        logger.warn({ err: errorMessage(error), site: event.siteId }, 'customer push not delivered');
      }
    }
  }
}

import nodemailer, { type Transporter } from 'nodemailer';
import { errorMessage } from '../../lib/errors.ts';
import type { Logger } from '../../lib/logger.ts';
import type { Metrics } from '../../lib/metrics.ts';
import type { Action } from '../procedures/engine.ts';
import type { StoredSubscription } from './push-subscriptions.ts';
import { SmppClient } from './smpp-client.ts';
import type { WebPushSender } from './web-push.ts';

export interface NotifierOptions {
  readonly smppUrl?: string | undefined;
  readonly smsSource?: string | undefined;
  readonly smtpUrl?: string | undefined;
  readonly mailFrom?: string | undefined;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly onInboundSms: (from: string, text: string) => void;
  /** Web Push to the customer's app; without it push actions are left to operators. */
  readonly push?: WebPushSender | undefined;
  /** A push was delivered, or its subscription is gone. */
  readonly onPushResult?: (subscriptionId: string, result: 'sent' | 'gone') => Promise<void>;
}

export interface Recipients {
  readonly email?: readonly string[];
  readonly push?: readonly StoredSubscription[];
}

/** How long a push service keeps trying to reach a device (an alarm older than this is stale). */
const PUSH_TTL_SECONDS = 3600;

/** Phone numbers in an action's target ("Kees +31600000011, Koen +31600000013"). */
export function phoneNumbers(target: string): string[] {
  return [...target.matchAll(/\+?\d[\d ]{6,16}\d/g)].map((m) => m[0].replaceAll(' ', ''));
}

/**
 * Sends what the engine decided to send: SMS over SMPP (escalations, keyholder messages) and
 * e-mail over SMTP (customer overrides, installer notices). Without a configured SMSC or SMTP
 * server the action stays in the trail for an operator to carry out, and is counted as such.
 */
export class Notifier {
  readonly #o: NotifierOptions;
  readonly #smpp: SmppClient | null;
  readonly #mail: Transporter | null;

  constructor(options: NotifierOptions) {
    this.#o = options;
    this.#smpp = options.smppUrl
      ? new SmppClient({
          url: options.smppUrl,
          source: options.smsSource ?? 'Vigil',
          logger: options.logger,
          metrics: options.metrics,
          onInbound: options.onInboundSms,
        })
      : null;
    this.#mail = options.smtpUrl ? nodemailer.createTransport(options.smtpUrl) : null;
  }

  /** What the system can send by itself (the rest the engine gives an operator to send by hand). */
  get channels(): { sms: boolean; email: boolean } {
    return { sms: this.#smpp !== null, email: this.#mail !== null };
  }

  get smsReady(): boolean {
    return this.#smpp?.bound ?? false;
  }

  start(): void {
    this.#smpp?.start();
  }

  async stop(): Promise<void> {
    await this.#smpp?.stop();
    this.#mail?.close();
  }

  /** Carry out an action if it is a message; returns what was done, for the action trail. */
  async deliver(action: Action, recipients: Recipients = {}): Promise<string | null> {
    try {
      if (action.action === 'sms') return await this.#sms(action);
      if (action.action === 'push') return await this.#push(action, recipients.push ?? []);
      if (action.action === 'email' || action.action === 'notify-installer')
        return await this.#email(action, recipients.email ?? []);
      return null;
    } catch (error) {
      this.#o.metrics.increment('notifications_failed_total', { kind: action.action });
      this.#o.logger.error({ alarm: action.alarm, err: errorMessage(error) }, 'notification not sent');
      return `not sent: ${errorMessage(error)}`;
    }
  }

  async #sms(action: Action): Promise<string> {
    const numbers = phoneNumbers(action.target);
    if (!this.#smpp) {
      this.#o.metrics.increment('notifications_manual_total', { kind: 'sms' });
      return 'no SMSC configured: send by hand';
    }
    const text = `Vigil alarm: ${action.reason}`.slice(0, 160);
    const ids = await Promise.all(numbers.map((n) => this.#smpp!.send(n, text)));
    return `sent to ${numbers.join(', ')} (${ids.join(', ')})`;
  }

  async #push(action: Action, subscriptions: readonly StoredSubscription[]): Promise<string> {
    if (!this.#o.push || subscriptions.length === 0) {
      this.#o.metrics.increment('notifications_manual_total', { kind: 'push' });
      return this.#o.push
        ? 'no app registered for this site: tell the customer by hand'
        : 'push not configured';
    }
    const payload = {
      title: `Vigil — ${action.site}`,
      body: action.reason,
      alarm: action.alarm,
      at: action.time,
    };
    const outcomes = await Promise.allSettled(
      subscriptions.map(async ({ id, subscription }) => {
        const result = await this.#o.push!.send(subscription, payload, PUSH_TTL_SECONDS);
        await this.#o.onPushResult?.(id, result);
        return result;
      }),
    );
    const sent = outcomes.filter((o) => o.status === 'fulfilled' && o.value === 'sent').length;
    const gone = outcomes.filter((o) => o.status === 'fulfilled' && o.value === 'gone').length;
    const failed = outcomes.flatMap((o) => (o.status === 'rejected' ? [errorMessage(o.reason)] : []));
    this.#o.metrics.increment('pushes_sent_total', {}, sent);
    if (failed.length > 0) {
      this.#o.metrics.increment('notifications_failed_total', { kind: 'push' }, failed.length);
      this.#o.logger.error({ alarm: action.alarm, errors: failed }, 'push not delivered');
    }
    if (sent === 0 && failed.length > 0) return `not sent: ${failed[0]}`;
    return [
      `pushed to ${sent} device(s)`,
      ...(gone > 0 ? [`${gone} unsubscribed device(s) removed`] : []),
      ...(failed.length > 0 ? [`${failed.length} failed`] : []),
    ].join(', ');
  }

  async #email(action: Action, to: readonly string[]): Promise<string> {
    if (!this.#mail || to.length === 0) {
      this.#o.metrics.increment('notifications_manual_total', { kind: 'email' });
      return this.#mail ? 'no e-mail address on file' : 'no SMTP server configured: send by hand';
    }
    await this.#mail.sendMail({
      from: this.#o.mailFrom ?? 'vigil@localhost',
      to: [...to],
      subject: `Vigil: ${action.target} — site ${action.site}`,
      text: `${action.reason}\n\nAlarm ${action.alarm}, ${action.time}.`,
    });
    this.#o.metrics.increment('emails_sent_total');
    return `e-mailed ${to.join(', ')}`;
  }
}

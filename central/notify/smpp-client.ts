import smpp from 'smpp';
import type { Logger } from '../../lib/logger.ts';
import type { Metrics } from '../../lib/metrics.ts';

export interface SmppOptions {
  /** smpp://system_id:password@host:port */
  readonly url: string;
  /** Sender id shown on phones. */
  readonly source: string;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Mobile-originated messages: contacts' replies. */
  readonly onInbound: (from: string, text: string) => void;
}

/** The text of a short message, however the library hands it over. */
export function messageText(message: unknown): string {
  if (typeof message === 'string') return message;
  if (Buffer.isBuffer(message)) return message.toString('utf8');
  if (message && typeof message === 'object' && 'message' in message)
    return messageText((message as { message: unknown }).message);
  return '';
}

/**
 * SMS over SMPP to the operator's SMSC: one transceiver bind, enquire-link keep-alive, reconnect
 * with backoff; submit_sm out, deliver_sm (contacts' replies) in.
 */
export class SmppClient {
  readonly #o: SmppOptions;
  #session: smpp.Session | null = null;
  #bound = false;
  #running = false;
  #retry: NodeJS.Timeout | null = null;
  #attempt = 0;

  constructor(options: SmppOptions) {
    this.#o = options;
  }

  get bound(): boolean {
    return this.#bound;
  }

  start(): void {
    this.#running = true;
    this.#connect();
  }

  async stop(): Promise<void> {
    this.#running = false;
    if (this.#retry) clearTimeout(this.#retry);
    const session = this.#session;
    this.#session = null;
    this.#bound = false;
    if (session) await new Promise<void>((resolve) => session.destroy(() => resolve()));
  }

  send(to: string, text: string): Promise<string> {
    const session = this.#session;
    if (!session || !this.#bound) return Promise.reject(new Error('SMSC not bound'));
    return new Promise((resolve, reject) => {
      session.submit_sm(
        {
          source_addr: this.#o.source,
          destination_addr: to.replace(/^\+/, ''),
          short_message: text,
          registered_delivery: 1,
        },
        (pdu) => {
          if (pdu.command_status === 0) {
            this.#o.metrics.increment('sms_sent_total');
            resolve(pdu.message_id ?? '');
          } else {
            this.#o.metrics.increment('sms_failed_total');
            reject(new Error(`SMSC refused the message (status ${pdu.command_status})`));
          }
        },
      );
    });
  }

  #connect(): void {
    if (!this.#running) return;
    const url = new URL(this.#o.url);
    const session = smpp.connect({ url: `smpp://${url.host}`, auto_enquire_link_period: 30_000 });
    this.#session = session;
    session.on('connect', () => {
      session.bind_transceiver(
        { system_id: decodeURIComponent(url.username), password: decodeURIComponent(url.password) },
        (pdu) => {
          if (pdu.command_status !== 0) {
            this.#o.logger.error({ status: pdu.command_status }, 'SMSC refused the bind');
            session.destroy();
            return;
          }
          this.#bound = true;
          this.#attempt = 0;
          this.#o.logger.info({ host: url.host }, 'SMSC bound');
        },
      );
    });
    session.on('deliver_sm', (pdu) => {
      session.send(pdu.response());
      const from = `+${(pdu.source_addr ?? '').replace(/^\+/, '')}`;
      this.#o.metrics.increment('sms_received_total');
      this.#o.onInbound(from, messageText(pdu.short_message));
    });
    session.on('error', (error: Error) => this.#o.logger.warn({ err: error.message }, 'SMPP error'));
    session.on('close', () => {
      if (this.#session !== session) return;
      this.#bound = false;
      if (!this.#running) return;
      const delay = Math.min(30_000, 1000 * 2 ** this.#attempt++);
      this.#retry = setTimeout(() => this.#connect(), delay);
    });
  }
}

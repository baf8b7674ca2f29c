import type net from 'node:net';
import type { Logger } from '../lib/logger.ts';
import type { Metrics } from '../lib/metrics.ts';
import { MAX_MEDIA_BYTES } from '../protocols/messages.ts';

/**
 * What one client may hold of each listener: data, validated where the central is configured.
 * Every refusal is logged and counted (`listener_refused_total{listener,reason}`).
 */
export interface ListenerLimits {
  readonly mqtt: {
    /** The largest packet after CONNECT (a camera picture is the largest message). */
    readonly maxPacketBytes: number;
    /** The largest packet before the client is authenticated (its CONNECT). */
    readonly maxConnectBytes: number;
    /** From TCP accept to a complete, authenticated CONNECT. */
    readonly connectTimeoutMs: number;
    readonly maxConnections: number;
    readonly maxPerSource: number;
    /**
     * TLS handshakes in progress at once; more connections wait their turn (a reconnect storm
     * would otherwise start them all together and lose most to their timeout).
     */
    readonly maxHandshakes: number;
  };
  readonly dc09: {
    /** From the first byte of a frame to its end. */
    readonly frameTimeoutMs: number;
    /** Without a complete frame (a byte now and then does not count). */
    readonly idleTimeoutMs: number;
    readonly maxConnections: number;
    readonly maxPerSource: number;
  };
  readonly http: {
    /** To receive a whole request, headers and body. */
    readonly requestTimeoutMs: number;
    readonly headersTimeoutMs: number;
    readonly maxConnections: number;
  };
}

export const DEFAULT_LIMITS: ListenerLimits = {
  mqtt: {
    maxPacketBytes: Math.ceil(MAX_MEDIA_BYTES / 3) * 4 + 64 * 1024,
    maxConnectBytes: 16 * 1024,
    connectTimeoutMs: 10_000,
    maxConnections: 50_000,
    // Mobile carriers put many sites behind one address.
    maxPerSource: 500,
    maxHandshakes: 128,
  },
  dc09: { frameTimeoutMs: 10_000, idleTimeoutMs: 120_000, maxConnections: 20_000, maxPerSource: 200 },
  http: { requestTimeoutMs: 30_000, headersTimeoutMs: 10_000, maxConnections: 5_000 },
};

/**
 * Admission of TCP connections to one listener: at most `maxConnections` in all and `maxPerSource`
 * from one address. A refused socket is closed at once; what it cost is logged and counted.
 */
export class ConnectionGate {
  readonly #perSource = new Map<string, number>();
  #open = 0;
  readonly listener: string;
  readonly limits: { readonly maxConnections: number; readonly maxPerSource: number };
  readonly logger: Logger;
  readonly metrics: Metrics;

  constructor(
    listener: string,
    limits: { readonly maxConnections: number; readonly maxPerSource: number },
    logger: Logger,
    metrics: Metrics,
  ) {
    this.listener = listener;
    this.limits = limits;
    this.logger = logger;
    this.metrics = metrics;
  }

  get open(): number {
    return this.#open;
  }

  /** Take the socket in (true), or close it and say why (false). */
  admit(socket: net.Socket): boolean {
    const source = socket.remoteAddress ?? 'unknown';
    const fromSource = this.#perSource.get(source) ?? 0;
    const reason =
      this.#open >= this.limits.maxConnections
        ? 'too-many-connections'
        : fromSource >= this.limits.maxPerSource
          ? 'too-many-from-source'
          : null;
    if (reason) {
      this.refuse(reason, source);
      socket.destroy();
      return false;
    }
    this.#open++;
    this.#perSource.set(source, fromSource + 1);
    socket.once('close', () => {
      this.#open--;
      const left = (this.#perSource.get(source) ?? 1) - 1;
      if (left <= 0) this.#perSource.delete(source);
      else this.#perSource.set(source, left);
    });
    return true;
  }

  refuse(reason: string, source: string | undefined, detail?: Record<string, unknown>): void {
    this.metrics.increment('listener_refused_total', { listener: this.listener, reason });
    this.logger.warn({ listener: this.listener, reason, source, ...detail }, 'connection refused');
  }
}

import type net from 'node:net';
import tls from 'node:tls';

/**
 * TLS handshakes, at most `concurrency` at a time; the connections beyond wait their turn with
 * their sockets paused (a waiting connection costs a file descriptor, not CPU). Handshakes run on
 * the event loop: when a central restarts under 10,000 gateways and every handshake starts at once,
 * they share it, most outlive their timeout and are thrown away half done, and their gateways come
 * back later for another try (measured: 4,978 handshakes lost so, every gateway heard again only
 * after 44–80 s). Taken in turn, each handshake started is finished.
 */
/** The event a server-side TLSSocket reports a failed handshake with (what tls.Server listens to). */
const TLS_ERROR = '_tlsError';

export class TlsAdmission {
  readonly #context: tls.SecureContext;
  readonly #concurrency: number;
  readonly #timeoutMs: number;
  readonly #onSecure: (socket: tls.TLSSocket) => void;
  readonly #onRefused: (error: Error) => void;
  readonly #waiting: net.Socket[] = [];
  #next = 0;
  readonly #handshaking = new Set<tls.TLSSocket>();
  #closed = false;

  constructor(options: {
    key: string;
    cert: string;
    concurrency: number;
    /** A handshake not done by then is ended (a client that starts one and stalls). */
    handshakeTimeoutMs: number;
    onSecure: (socket: tls.TLSSocket) => void;
    onRefused: (error: Error) => void;
  }) {
    this.#context = tls.createSecureContext({ key: options.key, cert: options.cert, minVersion: 'TLSv1.2' });
    this.#concurrency = options.concurrency;
    this.#timeoutMs = options.handshakeTimeoutMs;
    this.#onSecure = options.onSecure;
    this.#onRefused = options.onRefused;
  }

  /** How many connections wait for a handshake, and how many are in one. */
  get queued(): { waiting: number; handshaking: number } {
    return { waiting: this.#waiting.length - this.#next, handshaking: this.#handshaking.size };
  }

  /** A new TCP connection, accepted paused (`pauseOnConnect`) so that nothing of it is read yet. */
  admit(raw: net.Socket): void {
    if (this.#closed) {
      raw.destroy();
      return;
    }
    this.#waiting.push(raw);
    this.#drain();
  }

  /** Every connection waiting or in a handshake is closed; the ones already secure are not ours. */
  close(): void {
    this.#closed = true;
    for (const raw of this.#waiting.slice(this.#next)) raw.destroy();
    this.#waiting.length = 0;
    this.#next = 0;
    const handshaking = [...this.#handshaking];
    this.#handshaking.clear();
    for (const socket of handshaking) socket.destroy();
  }

  #drain(): void {
    while (this.#handshaking.size < this.#concurrency && this.#next < this.#waiting.length) {
      const raw = this.#waiting[this.#next++]!;
      if (this.#next > 1024 && this.#next * 2 > this.#waiting.length) {
        this.#waiting.splice(0, this.#next);
        this.#next = 0;
      }
      // Gone while it waited (its client gave up): nothing to do.
      if (raw.destroyed) continue;
      this.#handshake(raw);
    }
  }

  #handshake(raw: net.Socket): void {
    const socket = new tls.TLSSocket(raw, { isServer: true, secureContext: this.#context });
    this.#handshaking.add(socket);
    const timer = setTimeout(() => socket.destroy(new Error('TLS handshake timeout')), this.#timeoutMs);
    const done = () => {
      clearTimeout(timer);
      socket.removeListener('error', refused);
      socket.removeListener(TLS_ERROR, refused);
      socket.removeListener('close', closed);
      if (this.#handshaking.delete(socket)) this.#drain();
    };
    const refused = (error: Error) => {
      if (!this.#handshaking.has(socket)) return;
      done();
      this.#onRefused(error);
      socket.destroy();
    };
    socket.once('error', refused);
    // A handshake the client breaks off (it does not trust the certificate) is reported there, as
    // tls.Server's own 'tlsClientError' is.
    socket.once(TLS_ERROR, refused);
    // Closed before it was secure: a client that gave up (it does not trust the certificate, or
    // it left), counted as tls.Server counts it.
    const closed = () => refused(new Error('the client closed the connection during the TLS handshake'));
    socket.once('close', closed);
    socket.once('secure', () => {
      done();
      this.#onSecure(socket);
    });
  }
}

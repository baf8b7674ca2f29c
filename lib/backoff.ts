/**
 * Reconnect delays that grow and are spread: the n-th attempt after a loss waits between half and
 * all of min(maxMs, initialMs·2ⁿ), so thousands of clients that lost the same server do not come
 * back in the same second. Reset on success.
 */
export class Backoff {
  readonly #initialMs: number;
  readonly #maxMs: number;
  readonly #random: () => number;
  #attempt = 0;

  constructor(options: { initialMs?: number; maxMs?: number; random?: () => number } = {}) {
    this.#initialMs = options.initialMs ?? 1000;
    this.#maxMs = options.maxMs ?? 30_000;
    this.#random = options.random ?? Math.random;
  }

  next(): number {
    const ceiling = Math.min(this.#maxMs, this.#initialMs * 2 ** this.#attempt);
    this.#attempt = Math.min(this.#attempt + 1, 30);
    return Math.round(ceiling * (0.5 + this.#random() * 0.5));
  }

  reset(): void {
    this.#attempt = 0;
  }
}

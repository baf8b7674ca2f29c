const PRUNE_AT = 10_000;

/** At most one occurrence per key within `intervalMs` (a trouble raised once for a burst, say). */
export class Throttle {
  readonly #last = new Map<string, number>();
  readonly #intervalMs: number;

  constructor(intervalMs: number) {
    this.#intervalMs = intervalMs;
  }

  /** True, and the time noted, when `key` was not let through within the interval before `now`. */
  allow(key: string, now: number): boolean {
    const last = this.#last.get(key);
    if (last !== undefined && now - last < this.#intervalMs) return false;
    if (this.#last.size >= PRUNE_AT) this.#prune(now);
    this.#last.set(key, now);
    return true;
  }

  /** Keys whose interval has passed are let through anyway: forgetting them keeps the map small. */
  #prune(now: number): void {
    for (const [key, at] of this.#last) if (now - at >= this.#intervalMs) this.#last.delete(key);
  }
}

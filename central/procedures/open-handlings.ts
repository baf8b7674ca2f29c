import type { Handling } from './handling.ts';

/**
 * The engine's open incidents, in the order they opened, and by site: what an event, a tick or an
 * outage has to look at — not every incident the engine keeps (closed ones stay for late restores),
 * which made each event cost as much as the number of incidents handled so far.
 */
export class OpenHandlings implements Iterable<Handling> {
  readonly #all = new Set<Handling>();
  readonly #bySite = new Map<string, Set<Handling>>();

  add(h: Handling): void {
    if (h.closed) return;
    this.#all.add(h);
    const site = this.#bySite.get(h.siteId);
    if (site) site.add(h);
    else this.#bySite.set(h.siteId, new Set([h]));
  }

  delete(h: Handling): void {
    this.#all.delete(h);
    const site = this.#bySite.get(h.siteId);
    if (!site) return;
    site.delete(h);
    if (site.size === 0) this.#bySite.delete(h.siteId);
  }

  /** The site's open incidents, oldest first (one that closes while this is iterated is skipped). */
  ofSite(siteId: string): Iterable<Handling> {
    return this.#bySite.get(siteId) ?? NONE;
  }

  hasSite(siteId: string): boolean {
    return this.#bySite.has(siteId);
  }

  get size(): number {
    return this.#all.size;
  }

  [Symbol.iterator](): Iterator<Handling> {
    return this.#all.values();
  }
}

const NONE: ReadonlySet<Handling> = new Set();

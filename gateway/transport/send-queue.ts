import { CLASS_PRIORITY } from '../../protocols/event-codes.ts';
import type { AlarmEvent } from '../../protocols/messages.ts';

/**
 * The order the primary path sends the outbox in: by class priority (security, safety,
 * technical, schedule), and within a priority what happened since the backlog formed ahead of the
 * backlog itself, each in sequence order. So a fresh alarm is not queued behind thousands of old
 * events after a long outage; the central applies events in sequence whatever order they arrive.
 * `take` costs what it skips (the events in flight, at most the window), not the backlog's size.
 */
export class SendQueue {
  /** One bucket per priority and lane (0: live, 1: backlog); a Map keeps insertion (sequence) order. */
  readonly #buckets: Array<Map<string, AlarmEvent>> = [];
  readonly #where = new Map<string, Map<string, AlarmEvent>>();

  constructor() {
    const priorities = Object.values(CLASS_PRIORITY).length;
    for (let i = 0; i < priorities * 2; i++) this.#buckets.push(new Map());
  }

  get size(): number {
    return this.#where.size;
  }

  /** Everything not yet acked becomes the backlog (on connect), in sequence order. */
  resetBacklog(events: Iterable<AlarmEvent>): void {
    for (const bucket of this.#buckets) bucket.clear();
    this.#where.clear();
    for (const event of events) this.#put(event, 1);
  }

  /** A new event since the backlog formed. */
  addLive(event: AlarmEvent): void {
    if (!this.#where.has(event.id)) this.#put(event, 0);
  }

  remove(id: string): void {
    this.#where.get(id)?.delete(id);
    this.#where.delete(id);
  }

  /** Up to `count` events to send next, skipping those `busy` (in flight). */
  take(count: number, busy: (id: string) => boolean): AlarmEvent[] {
    const chosen: AlarmEvent[] = [];
    for (const bucket of this.#buckets) {
      for (const [id, event] of bucket) {
        if (chosen.length >= count) return chosen;
        if (!busy(id)) chosen.push(event);
      }
    }
    return chosen;
  }

  #put(event: AlarmEvent, lane: 0 | 1): void {
    const bucket = this.#buckets[(event.priority - 1) * 2 + lane] ?? this.#buckets.at(-1)!;
    bucket.set(event.id, event);
    this.#where.set(event.id, bucket);
  }
}

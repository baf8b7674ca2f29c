// The live queue: the central's snapshot and every change after it, over Server-Sent Events. When the
// stream goes quiet (no message or ping for PING_LOST_MS) or breaks, the queue is marked not live;
// a reconnect gets a fresh snapshot, so what the page shows is the central's truth again.
import { api } from '../lib/api.js';

const PING_LOST_MS = 40_000;
const RETRY_MS = 2_000;

/** Waiting incidents: the system waits for something (a restore, an SMS reply, a window); no operator task now. */
export const WAITS = new Set(['sms', 'restore', 'window', 'outage']);
export const isWaiting = (a) => WAITS.has(a.proposal?.kind);

/** The central's order (docs/procedures.md): rank, then age (ISO times compare as strings). */
export function byQueueOrder(a, b) {
  return (
    a.rank - b.rank ||
    (a.openedAt < b.openedAt ? -1 : a.openedAt > b.openedAt ? 1 : 0) ||
    Number(a.alarmId) - Number(b.alarmId)
  );
}

/** When each incident arrived or escalated on this page: its row flashes once (a re-alert). */
export const flashedAt = new Map();

export class QueueFeed {
  alarms = new Map();
  live = false;
  lostAt = null;
  everLive = false;
  beyond = { total: 0, shown: 0, beyond: 0 };
  #source = null;
  #watchdog = null;
  #retry = null;
  #listeners = new Set();
  #notices = new Set();
  #version = 0;

  #ordered = [];
  #orderedAt = -1;

  get version() {
    return this.#version;
  }

  /** The open incidents in queue order, sorted once per change (not on every redraw). */
  ordered() {
    if (this.#orderedAt !== this.#version) {
      this.#ordered = [...this.alarms.values()].sort(byQueueOrder);
      this.#orderedAt = this.#version;
    }
    return this.#ordered;
  }

  subscribe(listener) {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Messages about one alarm (a take-over that concerns this operator), besides the state. */
  onAlarm(listener) {
    this.#notices.add(listener);
    return () => this.#notices.delete(listener);
  }

  start() {
    this.stop();
    const source = new EventSource('/api/alarms/stream');
    this.#source = source;
    const alive = () => {
      clearTimeout(this.#watchdog);
      this.#watchdog = setTimeout(() => this.#lost(), PING_LOST_MS);
    };
    source.addEventListener('open', alive);
    source.addEventListener('ping', alive);
    source.addEventListener('error', () => this.#lost());
    source.addEventListener('queue', (e) => {
      alive();
      this.beyond = JSON.parse(e.data);
      this.#changed();
    });
    source.addEventListener('snapshot', (e) => {
      alive();
      this.alarms = new Map(JSON.parse(e.data).map((a) => [a.alarmId, a]));
      this.live = true;
      this.everLive = true;
      this.lostAt = null;
      this.#changed();
    });
    source.addEventListener('alarm', (e) => {
      alive();
      const a = JSON.parse(e.data);
      const known = this.alarms.get(a.alarmId);
      if (known && !('proposal' in a)) a.proposal = known.proposal;
      if (a.status === 'closed') {
        this.alarms.delete(a.alarmId);
        flashedAt.delete(a.alarmId);
      } else {
        this.alarms.set(a.alarmId, a);
        // New, or escalated since (nobody took it): its row flashes again.
        if (!known || (a.escalation && a.escalation !== known.escalation))
          flashedAt.set(a.alarmId, Date.now());
      }
      for (const listener of this.#notices) listener(a);
      this.#changed();
    });
  }

  stop() {
    clearTimeout(this.#watchdog);
    clearTimeout(this.#retry);
    this.#source?.close();
    this.#source = null;
  }

  #lost() {
    if (this.live || this.lostAt === null) this.lostAt = this.lostAt ?? new Date().toISOString();
    this.live = false;
    this.#changed();
    // The browser retries a broken stream itself; a closed one (or a silent one) is reopened here,
    // after checking the session (a 401 sends the page back to its login).
    if (this.#source?.readyState === EventSource.OPEN) this.#source.close();
    if (this.#source?.readyState === EventSource.CLOSED) {
      clearTimeout(this.#retry);
      this.#retry = setTimeout(async () => {
        const me = await api('GET', '/api/me');
        if (me.status !== 401) this.start();
      }, RETRY_MS);
    }
  }

  #changed() {
    this.#version++;
    for (const listener of this.#listeners) listener();
  }
}

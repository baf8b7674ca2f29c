import type { Clock, TimerHandle } from '../../lib/clock.ts';
import type { SignalKind } from '../device-signal.ts';

/**
 * A wired zone on GPIO, from line levels to normalized signals. Pure apart from the injected clock.
 *
 * Wiring supported (docs/hardware.md):
 * - the alarm loop on one pin, `NC` (normal: loop closed; opens on alarm) or `NO` (normal: open);
 * - `pull: 'up'`: the input is pulled up and the loop switches it to ground, so a closed loop reads
 *   0; `pull: 'down'`: the opposite;
 * - optionally a separate, always normally-closed tamper loop on a second pin (4-wire detectors).
 *   A tamper loop that opens is a tamper; both loops open at once is a cut cable, also a tamper,
 *   never a burglary. Without an ADC a single digital pin cannot tell a cut from an alarm: use the
 *   tamper loop (EN 50131 grade 2 and up).
 * Every level must be stable for `debounceMs` before it counts.
 */
export interface ZoneWiring {
  readonly contact: 'NC' | 'NO';
  readonly pull: 'up' | 'down';
  readonly debounceMs: number;
  readonly hasTamperLoop: boolean;
}

export type ZoneCondition = 'normal' | 'alarm' | 'tamper';
export type Level = 0 | 1;

export function loopClosed(level: Level, pull: ZoneWiring['pull']): boolean {
  return pull === 'up' ? level === 0 : level === 1;
}

export function classify(alarmLevel: Level, tamperLevel: Level | null, wiring: ZoneWiring): ZoneCondition {
  const alarmClosed = loopClosed(alarmLevel, wiring.pull);
  const tamperOpen = tamperLevel !== null && !loopClosed(tamperLevel, wiring.pull);
  if (tamperOpen) return 'tamper';
  const alarm = wiring.contact === 'NC' ? !alarmClosed : alarmClosed;
  return alarm ? 'alarm' : 'normal';
}

/** The signals that take a zone from one condition to another. */
export function transition(from: ZoneCondition, to: ZoneCondition): SignalKind[] {
  if (from === to) return [];
  const leave: Record<ZoneCondition, SignalKind[]> = {
    normal: [],
    alarm: ['restore'],
    tamper: ['tamper-restore'],
  };
  const enter: Record<ZoneCondition, SignalKind[]> = { normal: [], alarm: ['alarm'], tamper: ['tamper'] };
  return [...leave[from], ...enter[to]];
}

export class GpioZoneLogic {
  readonly #wiring: ZoneWiring;
  readonly #clock: Clock;
  readonly #emit: (kind: SignalKind, detail: Record<string, unknown>) => void;
  readonly #stable: { alarm: Level | null; tamper: Level | null } = { alarm: null, tamper: null };
  readonly #pending: { alarm: TimerHandle | null; tamper: TimerHandle | null } = {
    alarm: null,
    tamper: null,
  };
  #condition: ZoneCondition | null = null;

  constructor(
    wiring: ZoneWiring,
    clock: Clock,
    emit: (kind: SignalKind, detail: Record<string, unknown>) => void,
  ) {
    this.#wiring = wiring;
    this.#clock = clock;
    this.#emit = emit;
  }

  get condition(): ZoneCondition | null {
    return this.#condition;
  }

  /**
   * The levels read at start (or after a backend restart): they set the zone's condition without
   * raising anything new — a resync, reported as such.
   */
  initial(alarm: Level, tamper: Level | null): void {
    this.#stable.alarm = alarm;
    this.#stable.tamper = this.#wiring.hasTamperLoop ? tamper : null;
    const condition = classify(alarm, this.#stable.tamper, this.#wiring);
    const previous = this.#condition ?? 'normal';
    this.#condition = condition;
    for (const kind of transition(previous, condition)) this.#emit(kind, { resync: true, condition });
  }

  /** A raw edge on one of the zone's pins. */
  level(line: 'alarm' | 'tamper', value: Level): void {
    const pending = this.#pending[line];
    if (pending) this.#clock.clearTimeout(pending);
    this.#pending[line] = null;
    if (this.#stable[line] === value) return;
    this.#pending[line] = this.#clock.setTimeout(() => {
      this.#pending[line] = null;
      this.#stable[line] = value;
      this.#evaluate();
    }, this.#wiring.debounceMs);
  }

  stop(): void {
    for (const line of ['alarm', 'tamper'] as const) {
      const pending = this.#pending[line];
      if (pending) this.#clock.clearTimeout(pending);
      this.#pending[line] = null;
    }
  }

  #evaluate(): void {
    if (this.#stable.alarm === null) return;
    const next = classify(
      this.#stable.alarm,
      this.#wiring.hasTamperLoop ? this.#stable.tamper : null,
      this.#wiring,
    );
    const previous = this.#condition ?? 'normal';
    this.#condition = next;
    for (const kind of transition(previous, next)) this.#emit(kind, { condition: next });
  }
}

import type { AlarmEvent } from '../../protocols/messages.ts';
import type { Outcome, OutcomeDetail } from './model.ts';

/** What the engine is told; each kept one is recorded in `procedure_inputs` and replayed in order. */
export type Input =
  | { kind: 'event'; event: AlarmEvent; alarmId: string | null }
  | { kind: 'outcome'; alarmId: string; outcome: Outcome; detail?: OutcomeDetail }
  | { kind: 'claim'; alarmId: string }
  | { kind: 'sms'; alarmId: string; text: string }
  | { kind: 'outage'; siteId: string; active: boolean }
  /** Timers that fell due at this time acted (recorded so that a replay does not act again). */
  | { kind: 'tick' };

/** What another worker may ask a partition's owner: an input, a site's profile re-read, its memory. */
export type InboxBody = Input | { kind: 'reload' } | { kind: 'status' };

export function alarmOfInput(input: Input): string | null {
  return 'alarmId' in input ? input.alarmId : null;
}

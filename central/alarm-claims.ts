import type pg from 'pg';
import { type AlarmView, alarmById } from './alarms.ts';
import type { Operator } from './auth/operator-auth.ts';
import { type AlarmNotice, announce } from './live/announce.ts';
import { audit } from './records.ts';

/** A refusal the routes pass on with its status (409: someone else has it). */
export class ClaimError extends Error {
  readonly statusCode: number;
  constructor(statusCode: number, message: string) {
    super(message);
    this.statusCode = statusCode;
  }
}

/** Tell every console of every central node about an alarm's new state. */
export async function announceAlarm(
  db: Pick<pg.Pool, 'query'>,
  alarmId: string,
  extra: Omit<AlarmNotice, keyof AlarmView> = {},
): Promise<void> {
  const alarm = await alarmById(db, alarmId);
  if (alarm) await announce(db, { ...alarm, ...extra });
}

async function trail(pool: pg.Pool, alarmId: string, operator: Operator, action: string, reason: string) {
  await pool.query(
    "INSERT INTO alarm_actions (alarm_id, at, actor, action, target, reason, sort) VALUES ($1, clock_timestamp(), $2, $3, $4, $5, 'outcome')",
    [alarmId, `operator:${operator.username}`, action, operator.displayName, reason],
  );
}

/**
 * Claim an alarm: one operator at a time (atomic in the database, so two consoles racing for it
 * cannot both win). A supervisor may take over a claimed alarm; that is recorded.
 */
export async function claimAlarm(
  pool: pg.Pool,
  alarmId: string,
  operator: Operator,
  takeOver: { readonly reason: string } | null,
): Promise<void> {
  if (takeOver && operator.role !== 'supervisor')
    throw new ClaimError(403, 'only supervisors take over an alarm');
  const { rows } = await pool.query<{ previous: string | null; previous_username: string | null }>(
    `UPDATE alarms a SET status = 'claimed', claimed_by = $2,
            claimed_at = CASE WHEN old.previous = $2 THEN a.claimed_at ELSE clock_timestamp() END
       FROM (SELECT x.id, x.claimed_by AS previous, o.username AS previous_username
               FROM alarms x LEFT JOIN operators o ON o.id = x.claimed_by WHERE x.id = $1 FOR UPDATE OF x) old
      WHERE a.id = old.id AND a.status <> 'closed' AND (a.claimed_by IS NULL OR a.claimed_by = $2 OR $3)
     RETURNING old.previous::text, old.previous_username`,
    [alarmId, operator.id, takeOver !== null],
  );
  if (!rows[0]) {
    const alarm = await alarmById(pool, alarmId);
    if (!alarm) throw new ClaimError(404, 'no such alarm');
    if (alarm.status === 'closed') throw new ClaimError(409, 'the alarm is closed');
    throw new ClaimError(409, `claimed by ${alarm.claimedBy?.displayName ?? 'another operator'}`);
  }
  const previous = rows[0].previous;
  if (previous === operator.id) return;
  const from = previous === null ? null : (rows[0].previous_username ?? previous);
  const reason = takeOver?.reason ?? '';
  await trail(pool, alarmId, operator, 'claim', from ? `taken over from ${from}: ${reason}` : 'claimed');
  await audit(pool, `operator:${operator.username}`, from ? 'alarm.take-over' : 'alarm.claim', alarmId, {
    ...(from ? { from: `operator:${from}`, reason } : {}),
  });
  // Every console hears it; the one of the operator who lost the incident tells them why.
  await announceAlarm(pool, alarmId, from ? { takenOver: { from, by: operator.displayName, reason } } : {});
}

/** Give an alarm back to the queue (its claimer, or a supervisor). */
export async function releaseAlarm(pool: pg.Pool, alarmId: string, operator: Operator): Promise<void> {
  const { rowCount } = await pool.query(
    `UPDATE alarms SET status = 'open', claimed_by = NULL, claimed_at = NULL
      WHERE id = $1 AND status = 'claimed' AND (claimed_by = $2 OR $3)`,
    [alarmId, operator.id, operator.role === 'supervisor'],
  );
  if (rowCount !== 1) throw new ClaimError(409, 'not claimed by you');
  await trail(pool, alarmId, operator, 'release', 'back to the queue');
  await audit(pool, `operator:${operator.username}`, 'alarm.release', alarmId);
  await announceAlarm(pool, alarmId);
}

/** Steps on an alarm (outcomes, codes, notes, cameras) are taken by the operator who claimed it. */
export async function assertClaimed(pool: pg.Pool, alarmId: string, operator: Operator): Promise<void> {
  const alarm = await alarmById(pool, alarmId);
  if (!alarm) throw new ClaimError(404, 'no such alarm');
  if (alarm.status === 'closed') throw new ClaimError(409, 'the alarm is closed');
  if (alarm.claimedBy?.username !== operator.username)
    throw new ClaimError(
      409,
      alarm.claimedBy ? `claimed by ${alarm.claimedBy.displayName}` : 'claim the alarm first',
    );
}

/** A free-text note in the alarm's trail. */
export async function addNote(
  pool: pg.Pool,
  alarmId: string,
  operator: Operator,
  text: string,
): Promise<void> {
  await trail(pool, alarmId, operator, 'note', text);
  await announceAlarm(pool, alarmId, {
    lastAction: { action: 'note', target: operator.displayName, reason: text },
  });
}

import { promisify } from 'node:util';
import zlib from 'node:zlib';
import type pg from 'pg';
import type { Logger } from '../../lib/logger.ts';
import type { Metrics } from '../../lib/metrics.ts';
import type { AlarmEvent } from '../../protocols/messages.ts';
import { alarmById } from '../alarms.ts';
import { type CodeCheck, checkCode } from '../contacts.ts';
import { DEFAULT_ESCALATION, type EscalationTable } from '../incidents/escalation.ts';
import type { LocalFeed } from '../live/announce.ts';
import type { Notifier } from '../notify/notifier.ts';
import type { SiteStatus } from './engine.ts';
import { ProcedureInbox } from './inbox.ts';
import type { InboxBody, Input } from './inputs.ts';
import type { Outcome, OutcomeDetail } from './model.ts';
import {
  NotOwner,
  OutcomeRefused,
  PartitionRunner,
  type PartitionSnapshot,
  type RecordedInput,
} from './partition-runner.ts';
import { PartitionLeases, partitionOf, partitionSql } from './partitions.ts';
import type { Proposal } from './proposal.ts';
import { decodeState } from './snapshot.ts';

export { OwnerUnavailable } from './inbox.ts';
export { OutcomeRefused } from './partition-runner.ts';
export type { Proposal } from './proposal.ts';

/** JSON with its keys sorted at every level, so equal tables give equal text. */
function canonicalJson(value: unknown): string {
  const keys = new Set<string>();
  JSON.stringify(value, (key, v) => {
    keys.add(key);
    return v;
  });
  return JSON.stringify(value, [...keys].sort());
}

/** How far back taking a partition replays the engine's inputs (open handlings older than this are rare). */
const REPLAY_DAYS = 14;

/** On the thread pool, off the event loop: a snapshot at ARC volume is 13 MB of JSON. */
const gunzip = promisify(zlib.gunzip);

/** Event types the engine keeps something of even at a site with nothing open (SPEC §5 mains, test reports). */
const REMEMBERED_EVENTS = new Set(['mains-loss', 'periodic-test']);

export interface ProcedureServiceOptions {
  readonly pool: pg.Pool;
  /** A connection of its own (the partition leases, the inbox's LISTEN). */
  readonly connect: () => pg.Client;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly escalation?: EscalationTable | undefined;
  /** This node's operator feed, told of each step as soon as it is committed. */
  readonly feed?: LocalFeed | undefined;
}

/**
 * The procedure engine inside the central, as one of several workers: sites are split into
 * partitions, each run by one worker's `PartitionRunner` (the holder of its lease,
 * `PartitionLeases`). An input taken here — a stored event, an operator's outcome or claim, an SMS
 * reply — is applied here when this worker owns the site's partition, and otherwise posted to the
 * owner through `ProcedureInbox` (waiting for its answer where the caller needs one). What the
 * console shows of the engine (the next step, a pending cancel) is read from the incident's row,
 * which the owner keeps in step, so every worker serves it.
 */
export class ProcedureService {
  readonly #o: ProcedureServiceOptions;
  readonly #runners = new Map<number, PartitionRunner>();
  readonly #leases: PartitionLeases;
  readonly #inbox: ProcedureInbox;
  #notifier: Notifier | null = null;
  #timer: NodeJS.Timeout | null = null;

  constructor(options: ProcedureServiceOptions) {
    this.#o = options;
    this.#inbox = new ProcedureInbox({
      pool: options.pool,
      connect: options.connect,
      logger: options.logger,
      metrics: options.metrics,
      onWork: (partition) => this.#drain(partition),
    });
    this.#leases = new PartitionLeases({
      connect: options.connect,
      logger: options.logger,
      metrics: options.metrics,
      configuration: canonicalJson(options.escalation ?? DEFAULT_ESCALATION),
      owner: {
        acquired: (partitions) => this.#acquired(partitions),
        released: (partition) => this.#released(partition),
        lost: (partitions) => this.#lost(partitions),
      },
    });
  }

  /**
   * Messages the engine decides to send go out through this notifier; what it cannot send (no
   * SMSC, no SMTP server) the engine proposes to an operator to send by hand. Before `start`.
   */
  useNotifier(notifier: Notifier): void {
    this.#notifier = notifier;
  }

  /** Listens for posted inputs, then takes this worker's share of the partitions (all when alone). */
  async start(): Promise<void> {
    await this.#inbox.start();
    await this.#leases.start();
    this.#timer = setInterval(() => {
      for (const runner of this.#runners.values()) runner.tick().catch(() => undefined);
    }, 1000);
    this.#timer.unref();
  }

  /** Gives every partition back (queued work finished first) for the other workers to take. */
  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.#leases.stop();
    await this.#inbox.stop();
  }

  /** The partitions this worker runs (for /api/health and the tests). */
  get ownedPartitions(): readonly number[] {
    return this.#leases.owned;
  }

  /** A contact's SMS reply: the escalation waiting on that number gets it. */
  async onInboundSms(from: string, text: string): Promise<void> {
    const { rows } = await this.#o.pool.query<{ id: string; site_id: string }>(
      `SELECT id::text, site_id FROM alarms WHERE sms_waiting_for = $1 AND handling_open ORDER BY id LIMIT 1`,
      [from],
    );
    const alarm = rows[0];
    if (!alarm) {
      this.#o.metrics.increment('sms_unmatched_total');
      this.#o.logger.warn({ from }, 'SMS reply matches no waiting escalation');
      return;
    }
    await this.#send(alarm.site_id, { kind: 'sms', alarmId: alarm.id, text }, `sms:${from}`);
  }

  /**
   * A known regional power outage starts or ends for these sites (SPEC §5 mains): while it lasts a
   * mains failure there waits; when it ends, a site whose mains did not come back is acted on.
   */
  async setRegionalOutage(siteIds: readonly string[], active: boolean, actor: string): Promise<void> {
    for (const siteId of siteIds) await this.#send(siteId, { kind: 'outage', siteId, active }, actor);
  }

  /** Re-read a site's profile and contacts after a change (on whichever worker runs the site). */
  async reloadSite(siteId: string): Promise<void> {
    const here = await this.#here(siteId, (runner) => runner.reloadSite(siteId));
    if (here) return;
    await this.#inbox.post(this.#partitionOf(siteId), siteId, { kind: 'reload' }, 'system');
  }

  /** The engine's memory of a site, for its card (false-alarm cards, missed tests, quota). */
  async siteStatus(siteId: string): Promise<SiteStatus> {
    const here = await this.#here(siteId, (runner) => runner.siteStatus(siteId));
    if (here) return here.value;
    return (await this.#ask(siteId, { kind: 'status' }, 'system')) as SiteStatus;
  }

  /** Whether a customer's cancel waits for the operator's confirmation. */
  async cancelRequested(alarmId: string): Promise<boolean> {
    return (await this.cancelsRequested([alarmId])).has(alarmId);
  }

  /** The incident's next step as the engine last left it. */
  async proposal(alarmId: string): Promise<Proposal | null> {
    return (await this.proposals([alarmId])).get(alarmId) ?? null;
  }

  /** The next step of each of these incidents (one query, for a page of the queue). */
  async proposals(alarmIds: readonly string[]): Promise<Map<string, Proposal | null>> {
    return new Map([...(await this.#states(alarmIds))].map(([id, state]) => [id, state.proposal]));
  }

  /** These incidents, each with its next step (a page of the queue, the feed's snapshot). */
  async withProposals<T extends { readonly alarmId: string }>(
    alarms: readonly T[],
  ): Promise<(T & { proposal: Proposal | null })[]> {
    const proposals = await this.proposals(alarms.map((a) => a.alarmId));
    return alarms.map((alarm) => ({ ...alarm, proposal: proposals.get(alarm.alarmId) ?? null }));
  }

  /** Which of these incidents have a customer's cancel waiting for the operator. */
  async cancelsRequested(alarmIds: readonly string[]): Promise<Set<string>> {
    const states = await this.#states(alarmIds);
    return new Set([...states].filter(([, state]) => state.cancelRequested).map(([id]) => id));
  }

  async #states(
    alarmIds: readonly string[],
  ): Promise<Map<string, { proposal: Proposal | null; cancelRequested: boolean }>> {
    if (alarmIds.length === 0) return new Map();
    const { rows } = await this.#o.pool.query<{
      id: string;
      proposal: Proposal | null;
      cancel_requested: boolean;
      handling_open: boolean;
    }>(
      'SELECT id::text, proposal, cancel_requested, handling_open FROM alarms WHERE id = ANY($1::bigint[])',
      [alarmIds],
    );
    return new Map(
      rows.map((r) => [
        r.id,
        {
          proposal: r.handling_open ? r.proposal : null,
          cancelRequested: r.handling_open && r.cancel_requested,
        },
      ]),
    );
  }

  /** A stored event; `alarmId` is the incident it opened or joined. */
  async onEventStored(event: AlarmEvent, alarmId: string | null): Promise<void> {
    const input: Input = { kind: 'event', event, alarmId };
    if (await this.#here(event.siteId, (runner) => runner.input(event.siteId, input, 'system'))) return;
    // Another worker's engine: most events there change nothing (a site with nothing open) and are
    // not posted; those that could are (as the engine's own `changesState`, from the rows).
    if (alarmId === null && !REMEMBERED_EVENTS.has(event.eventType) && !(await this.#engaged(event.siteId)))
      return;
    await this.#inbox.post(this.#partitionOf(event.siteId), event.siteId, input, 'system');
  }

  /** An operator's outcome; throws OutcomeRefused (nothing recorded) when the engine does not accept it. */
  async onOutcome(
    alarmId: string,
    outcome: Outcome,
    operator: string,
    detail: OutcomeDetail = {},
  ): Promise<void> {
    const siteId = await this.#siteOfAlarm(alarmId);
    if (siteId) await this.#send(siteId, { kind: 'outcome', alarmId, outcome, detail }, operator);
  }

  /** An operator took the incident: it stops escalating. */
  async onClaim(alarmId: string, operator: string): Promise<void> {
    const siteId = await this.#siteOfAlarm(alarmId);
    if (siteId) await this.#send(siteId, { kind: 'claim', alarmId }, operator);
  }

  /** The person on the phone gives an ID code + PIN; the result is recorded as the call's outcome. */
  async codeCheck(
    alarmId: string,
    idCode: string,
    pin: string,
    operator: string,
    cancel: boolean,
  ): Promise<CodeCheck> {
    const alarm = await alarmById(this.#o.pool, alarmId);
    if (!alarm) throw new Error(`no alarm ${alarmId}`);
    // Whoever is on the phone is the one guessing, not the operator: every operator counts as one source.
    const source = operator.startsWith('customer:') ? operator : 'phone';
    const result = await checkCode(this.#o.pool, alarm.siteId, idCode, pin, operator, source);
    const outcome: Outcome =
      result === 'valid' ? (cancel ? 'cancel-valid-code' : 'answered-valid-code') : 'answered-invalid-code';
    const by = result === 'valid' ? await this.#contactName(alarm.siteId, idCode) : undefined;
    if (result === 'valid' || !cancel)
      await this.onOutcome(alarmId, outcome, operator, {
        ...(by ? { by } : {}),
        via: cancel && operator.startsWith('customer:') ? 'portal' : 'operator',
      });
    return result;
  }

  /** An input whose caller must know how it went: applied here, or by the owner, answered either way. */
  async #send(siteId: string, input: Input, actor: string): Promise<void> {
    if (await this.#here(siteId, (runner) => runner.input(siteId, input, actor))) return;
    await this.#ask(siteId, input, actor);
  }

  /**
   * The work done by this worker's runner of the site's partition, when it has one; null when the
   * partition is another worker's (or was given back meanwhile): the caller posts it instead.
   */
  async #here<T>(
    siteId: string,
    work: (runner: PartitionRunner) => Promise<T>,
  ): Promise<{ value: T } | null> {
    const runner = this.#runnerOf(siteId);
    if (!runner) return null;
    try {
      return { value: await work(runner) };
    } catch (error) {
      if (error instanceof NotOwner) return null;
      throw error;
    }
  }

  async #ask(siteId: string, body: InboxBody, actor: string): Promise<unknown> {
    const answer = await this.#inbox.ask(this.#partitionOf(siteId), siteId, body, actor);
    if (answer.refused !== null) throw new OutcomeRefused(answer.refused);
    if (answer.failed !== undefined) throw new Error(`the site's procedure step failed: ${answer.failed}`);
    return answer.result;
  }

  /** Whether the engine could hold anything for the site: an open incident, or one it still handles. */
  async #engaged(siteId: string): Promise<boolean> {
    const { rows } = await this.#o.pool.query(
      `SELECT 1 FROM alarms WHERE site_id = $1 AND (status <> 'closed' OR handling_open) LIMIT 1`,
      [siteId],
    );
    return rows.length > 0;
  }

  #partitionOf(siteId: string): number {
    return partitionOf(siteId, this.#leases.count);
  }

  #runnerOf(siteId: string): PartitionRunner | undefined {
    const runner = this.#runners.get(this.#partitionOf(siteId));
    return runner?.active ? runner : undefined;
  }

  #drain(partition: number | null): void {
    if (partition === null) for (const runner of this.#runners.values()) runner.drainInbox();
    else this.#runners.get(partition)?.drainInbox();
  }

  async #acquired(partitions: readonly number[]): Promise<void> {
    const runners = partitions.map(
      (partition) =>
        new PartitionRunner({
          partition,
          pool: this.#o.pool,
          inbox: this.#inbox,
          logger: this.#o.logger,
          metrics: this.#o.metrics,
          notifier: this.#notifier,
          escalation: this.#o.escalation,
          feed: this.#o.feed,
          partitions: this.#leases.count,
          fence: () => this.#leases.fenceOf(partition),
          // Only if it is still the partition's runner (not one that took it again since).
          onFenced: (fenced) => {
            if (this.#runners.get(fenced.partition) !== fenced) return;
            this.#runners.delete(fenced.partition);
            this.#leases.forget(fenced.partition);
          },
        }),
    );
    // Registered before the replay so local inputs queue behind it, not in the inbox.
    for (const runner of runners) this.#runners.set(runner.partition, runner);
    const snapshots = await this.#snapshots(partitions);
    const inputs = await this.#recordedInputs(partitions, snapshots);
    await Promise.all(
      runners.map((runner) =>
        runner.replay(snapshots.get(runner.partition) ?? null, inputs.get(runner.partition) ?? []),
      ),
    );
    const open = runners.reduce((sum, runner) => sum + runner.openHandlings, 0);
    const replayed = [...inputs.values()].flat().length;
    this.#o.metrics.increment('procedure_inputs_replayed_total', {}, replayed);
    this.#o.logger.info(
      { partitions, snapshots: snapshots.size, inputs: replayed, open },
      'procedure partitions rebuilt',
    );
    for (const runner of runners) runner.drainInbox();
  }

  async #released(partition: number): Promise<void> {
    const runner = this.#runners.get(partition);
    this.#runners.delete(partition);
    await runner?.close();
  }

  #lost(partitions: readonly number[]): void {
    for (const partition of partitions) {
      this.#runners.get(partition)?.abandon();
      this.#runners.delete(partition);
    }
  }

  /**
   * The last snapshot of each of these partitions that has one. One that cannot be read (another
   * version, damaged) is left out, logged and counted: that partition is rebuilt from its inputs.
   */
  async #snapshots(partitions: readonly number[]): Promise<Map<number, PartitionSnapshot>> {
    const { rows } = await this.#o.pool.query<{
      partition: number;
      last_input: string;
      state: string | null;
      state_gzip: Buffer | null;
    }>(
      `SELECT partition, last_input::text, state::text, state_gzip FROM procedure_snapshots
        WHERE partitions = $1 AND partition = ANY($2::int[])`,
      [this.#leases.count, partitions],
    );
    const snapshots = new Map<number, PartitionSnapshot>();
    for (const row of rows) {
      try {
        // Compressed since migration 027; an older snapshot is plain jsonb.
        const json = row.state_gzip ? (await gunzip(row.state_gzip)).toString('utf8') : row.state!;
        snapshots.set(row.partition, { lastInput: row.last_input, state: decodeState(json) });
      } catch (error) {
        this.#o.metrics.increment('procedure_snapshots_unreadable_total');
        this.#o.logger.error(
          { partition: row.partition, err: (error as Error).message },
          'procedure snapshot unreadable: rebuilding the partition from its inputs',
        );
      }
    }
    return snapshots;
  }

  /**
   * The inputs to replay, by partition, in order: those recorded after the partition's snapshot, or
   * without one, those of the replay window.
   */
  async #recordedInputs(
    partitions: readonly number[],
    snapshots: ReadonlyMap<number, PartitionSnapshot>,
  ): Promise<Map<number, RecordedInput[]>> {
    const partition = partitionSql('i.site_id', String(this.#leases.count));
    const { rows } = await this.#o.pool.query<{
      id: string;
      partition: number;
      site_id: string;
      at: Date;
      payload: Input;
    }>(
      `SELECT i.id::text, ${partition} AS partition, i.site_id, i.at, i.payload
         FROM unnest($2::int[], $3::bigint[]) AS w(partition, after)
         JOIN procedure_inputs i ON ${partition} = w.partition
        WHERE (w.after IS NULL AND i.at > now() - make_interval(days => $1)) OR i.id > w.after
        ORDER BY i.id`,
      [REPLAY_DAYS, partitions, partitions.map((p) => snapshots.get(p)?.lastInput ?? null)],
    );
    const byPartition = new Map<number, RecordedInput[]>();
    for (const row of rows) {
      const list = byPartition.get(row.partition) ?? [];
      list.push({ id: row.id, siteId: row.site_id, at: row.at.getTime(), payload: row.payload });
      byPartition.set(row.partition, list);
    }
    return byPartition;
  }

  async #siteOfAlarm(alarmId: string): Promise<string | null> {
    const { rows } = await this.#o.pool.query<{ site_id: string }>(
      'SELECT site_id FROM alarms WHERE id = $1',
      [alarmId],
    );
    return rows[0]?.site_id ?? null;
  }

  async #contactName(siteId: string, idCode: string): Promise<string | undefined> {
    const { rows } = await this.#o.pool.query<{ name: string }>(
      'SELECT name FROM contacts WHERE site_id = $1 AND id_code = $2',
      [siteId, idCode],
    );
    return rows[0]?.name;
  }
}

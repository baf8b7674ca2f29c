import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import type { ProcedureEngine } from '../central/procedures/engine.ts';
import { decodeState, encodeState } from '../central/procedures/snapshot.ts';
import { startTestCentral } from '../test/helpers/central.ts';
import { engineWithSites } from '../test/helpers/engine.ts';
import { sampleEvent } from '../test/helpers/events.ts';

const T = Date.UTC(2026, 10, 21, 9, 0, 0);
const LOG_EVENTS = 20_000;

/** Alarms per second through the engine (burglary → call premises → valid code → closed), and the cost of many open ones. */
export function measureProcedures(alarms: number, open: number) {
  const engine = engineWithSites();
  let start = performance.now();
  for (let i = 0; i < alarms; i++) {
    const event = sampleEvent({ siteId: 'site-a' });
    engine.onEvent(event, `a${i}`, T + i);
    engine.onOutcome(`a${i}`, 'answered-valid-code', {}, T + i);
  }
  const alarmsPerSecond = alarms / ((performance.now() - start) / 1000);

  const many = engineWithSites();
  globalThis.gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  for (let i = 0; i < open; i++) many.onEvent(sampleEvent({ siteId: 'site-a' }), `o${i}`, T);
  globalThis.gc?.();
  const bytesPerOpen = (process.memoryUsage().heapUsed - heapBefore) / open;
  start = performance.now();
  many.nextDue();
  many.tick(T + 1000);
  const sweepMs = performance.now() - start;
  if (many.openHandlings !== open)
    throw new Error(`expected ${open} open handlings, got ${many.openHandlings}`);
  return { alarmsPerSecond, bytesPerOpen, sweepMs, ...measureLogEvents(alarms) };
}

/**
 * What most of the ingest costs the engine: a log event at a site with nothing open, the engine
 * holding `handled` incidents just handled at other sites (closed, kept for late restores) against
 * an engine holding none.
 */
function measureLogEvents(handled: number) {
  const siteIds = Array.from({ length: 1000 }, (_, i) => `site-${i}`);
  const held = engineWithSites(siteIds);
  for (let i = 0; i < handled; i++) {
    held.onEvent(sampleEvent({ siteId: siteIds[1 + (i % 999)]! }), `c${i}`, T + i);
    held.onOutcome(`c${i}`, 'answered-valid-code', {}, T + i);
    held.onOutcome(`c${i}`, 'close-false', {}, T + i);
  }
  if (held.openHandlings !== 0) throw new Error(`expected none open, got ${held.openHandlings}`);
  const perSecond = (engine: ProcedureEngine) => {
    const began = performance.now();
    for (let i = 0; i < LOG_EVENTS; i++) {
      const event = sampleEvent({ siteId: siteIds[0]!, eventType: 'zone-bypass' });
      engine.changesState(event, null);
      engine.nextDue();
      engine.onEvent(event, null, T + handled + i);
    }
    return LOG_EVENTS / ((performance.now() - began) / 1000);
  };
  // A storm: 3,000 incidents open at other sites (each input asks when the next timer is due).
  const storm = engineWithSites(siteIds);
  for (let i = 0; i < 3000; i++)
    storm.onEvent(sampleEvent({ siteId: siteIds[1 + (i % 999)]!, zone: i }), `s${i}`, T);
  return {
    logWithNone: perSecond(engineWithSites(siteIds)),
    logWithClosed: perSecond(held),
    logWithOpen: perSecond(storm),
  };
}

/**
 * What a worker taking a partition over spends rebuilding its engine: replaying `inputs` recorded
 * inputs (alarms at `sites` sites, each with an outcome) against restoring the snapshot of the same
 * state (decode + restore), and the snapshot's size. The baseline is the replay in the same run.
 */
export function measureTakeover(sites: number, inputs: number) {
  const site = (i: number) => `site-${i % sites}`;
  const siteIds = Array.from({ length: sites }, (_, i) => site(i));
  const withSites = () => engineWithSites(siteIds);
  const recorded: Array<(engine: ProcedureEngine) => void> = [];
  for (let i = 0; i < inputs / 2; i++) {
    const event = sampleEvent({ siteId: site(i) });
    const at = T + i * 1000;
    recorded.push((engine) => engine.onEvent(event, `a${i}`, at));
    // Every other alarm is answered and closed; the rest stay open, as a busy night leaves them.
    if (i % 2 === 0)
      recorded.push((engine) => engine.onOutcome(`a${i}`, 'answered-valid-code', {}, at + 500));
    else recorded.push((engine) => engine.onClaim(`a${i}`, at + 500));
  }
  const replayed = withSites();
  let start = performance.now();
  for (const apply of recorded) apply(replayed);
  const replayMs = performance.now() - start;
  start = performance.now();
  const json = encodeState(replayed.snapshot(0));
  const encodeMs = performance.now() - start;
  const restored = withSites();
  start = performance.now();
  restored.restore(decodeState(json));
  const restoreMs = performance.now() - start;
  if (restored.openHandlings !== replayed.openHandlings)
    throw new Error(`restored ${restored.openHandlings} open handlings, replayed ${replayed.openHandlings}`);
  return {
    replayMs,
    restoreMs,
    encodeMs,
    snapshotBytes: Buffer.byteLength(json),
    open: replayed.openHandlings,
    json,
  };
}

/**
 * Writing and reading one partition's snapshot (`json`) in PostgreSQL, median of `rounds`: as jsonb
 * (the server parses 13 MB of JSON; the way before migration 027, the baseline) and gzip-compressed
 * as the runner stores it now (compressed and decompressed on the thread pool).
 */
export async function measureSnapshotStore(json: string, rounds = 5) {
  const env = await startTestCentral();
  try {
    const pool = env.central.pool;
    await pool.query('CREATE TABLE bench_snapshot_jsonb (id int PRIMARY KEY, state jsonb NOT NULL)');
    await pool.query('CREATE TABLE bench_snapshot_gzip (id int PRIMARY KEY, state bytea NOT NULL)');
    const gzip = promisify(zlib.gzip);
    const gunzip = promisify(zlib.gunzip);
    const timed = async (work: () => Promise<unknown>) => {
      const start = performance.now();
      await work();
      return performance.now() - start;
    };
    const times = {
      jsonbWrite: [] as number[],
      jsonbRead: [] as number[],
      gzipWrite: [] as number[],
      gzipRead: [] as number[],
    };
    let compressed = 0;
    for (let i = 0; i < rounds; i++) {
      times.jsonbWrite.push(
        await timed(() =>
          pool.query(
            'INSERT INTO bench_snapshot_jsonb VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET state = $1',
            [json],
          ),
        ),
      );
      times.jsonbRead.push(
        await timed(() => pool.query('SELECT state::text FROM bench_snapshot_jsonb WHERE id = 1')),
      );
      times.gzipWrite.push(
        await timed(async () => {
          const bytes = await gzip(json, { level: 1 });
          compressed = bytes.length;
          await pool.query(
            'INSERT INTO bench_snapshot_gzip VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET state = $1',
            [bytes],
          );
        }),
      );
      times.gzipRead.push(
        await timed(async () => {
          const { rows } = await pool.query<{ state: Buffer }>(
            'SELECT state FROM bench_snapshot_gzip WHERE id = 1',
          );
          await gunzip(rows[0]!.state);
        }),
      );
    }
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
    return {
      jsonbWriteMs: median(times.jsonbWrite),
      jsonbReadMs: median(times.jsonbRead),
      gzipWriteMs: median(times.gzipWrite),
      gzipReadMs: median(times.gzipRead),
      compressedBytes: compressed,
    };
  } finally {
    await env.stop();
  }
}

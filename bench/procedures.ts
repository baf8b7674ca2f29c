import { performance } from 'node:perf_hooks';
import { ProcedureEngine } from '../central/procedures/engine.ts';
import { SiteProfileSchema } from '../central/procedures/simulate.ts';
import { sampleEvent } from '../test/helpers/events.ts';

const T = Date.UTC(2026, 10, 21, 9, 0, 0);

function engineWithSite(): ProcedureEngine {
  const engine = new ProcedureEngine();
  engine.setSite(
    SiteProfileSchema.parse({
      id: 'site-a',
      name: 'Bench',
      activatedAt: '2026-01-01T00:00:00Z',
      premisesPhone: '+31201110000',
      contacts: [{ id: 'k1', name: 'Kees', role: 'keyholder', order: 1, phone: '+31600000011' }],
    }) as never,
  );
  return engine;
}

/** Alarms per second through the engine (burglary → call premises → valid code → closed), and the cost of many open ones. */
export function measureProcedures(alarms: number, open: number) {
  const engine = engineWithSite();
  let start = performance.now();
  for (let i = 0; i < alarms; i++) {
    const event = sampleEvent({ siteId: 'site-a' });
    engine.onEvent(event, `a${i}`, T + i);
    engine.onOutcome(`a${i}`, 'answered-valid-code', {}, T + i);
  }
  const alarmsPerSecond = alarms / ((performance.now() - start) / 1000);

  const many = engineWithSite();
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
  return { alarmsPerSecond, bytesPerOpen, sweepMs };
}

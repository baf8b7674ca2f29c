import test from 'ava';
import { storeEvent } from '../central/ingest/event-store.ts';
import { centralEvent } from '../central/supervision/central-event.ts';
import { startTestCentral } from './helpers/central.ts';

test('events that change nothing the engine keeps are not written as its inputs; the others are, for the replay', async (t) => {
  const env = await startTestCentral();
  t.teardown(() => env.stop());
  const pool = env.central.pool;
  await env.addGateway('site-inputs', 'gw-inputs');
  const source = { siteId: 'site-inputs', gatewayId: 'gw-inputs' };
  const inputs = async () =>
    (await pool.query(`SELECT count(*)::int AS n FROM procedure_inputs WHERE site_id = 'site-inputs'`))
      .rows[0].n;
  let seq = 0;
  const feed = async (type: 'zone-bypass' | 'burglary') => {
    const event = { ...centralEvent(type, 'event', source, Date.now(), null, type), seq: ++seq };
    const stored = await storeEvent(pool, event, 'central');
    await env.central.procedures.onEventStored(
      event,
      stored.kind === 'stored' ? (stored.incident?.id ?? null) : null,
    );
  };
  await feed('zone-bypass');
  t.is(await inputs(), 0, 'nothing open at the site: a bypass changes nothing the engine keeps');
  await feed('burglary');
  t.is(await inputs(), 1);
  await feed('zone-bypass');
  t.is(await inputs(), 2, 'with an incident open, every event of the site is an input');
});

import net from 'node:net';
import test from 'ava';
import { Backoff } from '../lib/backoff.ts';
import { eventually, startTestCentral, startTestGateway } from './helpers/central.ts';

test('reconnect delays grow to a ceiling, spread between half and all of it, and start over on success', (t) => {
  const low = new Backoff({ initialMs: 1000, maxMs: 8000, random: () => 0 });
  const high = new Backoff({ initialMs: 1000, maxMs: 8000, random: () => 1 });
  t.deepEqual(
    Array.from({ length: 6 }, () => low.next()),
    [500, 1000, 2000, 4000, 4000, 4000],
  );
  t.deepEqual(
    Array.from({ length: 6 }, () => high.next()),
    [1000, 2000, 4000, 8000, 8000, 8000],
  );
  high.reset();
  t.is(high.next(), 1000);
});

test('a gateway lists several brokers: the first one down, it connects through the next and its alarm is stored', async (t) => {
  const env = await startTestCentral();
  t.teardown(() => env.stop());
  // A port that refuses connections: taken, then closed.
  const dead = net.createServer();
  await new Promise<void>((resolve) => dead.listen(0, '127.0.0.1', resolve));
  const deadPort = (dead.address() as net.AddressInfo).port;
  await new Promise((resolve) => dead.close(resolve));
  const gw = await startTestGateway(
    env,
    'site-bl',
    'gw-bl',
    [{ id: 'panic', name: 'Panic', type: 'panic' }],
    undefined,
    { central: { mqttUrl: `mqtt://127.0.0.1:${deadPort}`, mqttUrls: [env.central.mqttUrl] } },
  );
  t.teardown(() => gw.stop());
  gw.gateway.simulatedBus.inject('panic', 'alarm');
  await gw.gateway.settled();
  await eventually(
    () => gw.gateway.outbox.depth === 0,
    'the alarm stored and acked through the second broker',
  );
  const { rows } = await env.central.pool.query(
    `SELECT count(*)::int AS n FROM events WHERE gateway_id = 'gw-bl'`,
  );
  t.true(rows[0].n >= 1);
});

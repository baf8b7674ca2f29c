import net from 'node:net';
import { Aedes } from 'aedes';
import test from 'ava';
import mqtt from 'mqtt';
import { createMemoryPersistence, withExactRetainedLookups } from '../central/broker/exact-retained.ts';

test('a subscription to exact topics gets its retained messages from an index, never by scanning them all', async (t) => {
  const persistence = createMemoryPersistence();
  const p = persistence as unknown as { createRetainedStreamCombi(patterns: string[]): unknown };
  const scan = p.createRetainedStreamCombi.bind(p);
  let scans = 0;
  p.createRetainedStreamCombi = (patterns) => {
    scans++;
    return scan(patterns);
  };
  const broker = await Aedes.createBroker({ persistence: withExactRetainedLookups(persistence) });
  const server = net.createServer(broker.handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(async () => {
    await new Promise((resolve) => server.close(resolve));
    await new Promise((resolve) => broker.close(resolve as () => void));
  });
  const url = `mqtt://127.0.0.1:${(server.address() as net.AddressInfo).port}`;

  // One retained status per "gateway", as the central's broker holds them.
  const publisher = await mqtt.connectAsync(url);
  for (let i = 0; i < 2000; i++)
    await publisher.publishAsync(`vigil/v1/s${i}/g${i}/status`, `online ${i}`, { qos: 1, retain: true });
  // Cleared: a retained message with an empty payload is gone.
  await publisher.publishAsync('vigil/v1/s7/g7/status', '', { qos: 1, retain: true });
  await publisher.endAsync();

  const receive = async (topics: string[], count: number) => {
    const client = await mqtt.connectAsync(url);
    const got: string[] = [];
    const done = new Promise<void>((resolve) => {
      client.on('message', (topic, payload) => {
        got.push(`${topic}=${payload.toString()}`);
        if (got.length === count) resolve();
      });
    });
    await client.subscribeAsync(topics, { qos: 1 });
    await done;
    await client.endAsync();
    return got.sort();
  };
  t.deepEqual(await receive(['vigil/v1/s42/g42/status', 'vigil/v1/s43/g43/status'], 2), [
    'vigil/v1/s42/g42/status=online 42',
    'vigil/v1/s43/g43/status=online 43',
  ]);
  // A cleared one and an unknown one give nothing: a marker published after the subscription comes
  // after anything the subscription itself would have delivered.
  const client = await mqtt.connectAsync(url);
  const seen: string[] = [];
  const marker = new Promise<void>((resolve) =>
    client.on('message', (topic) => {
      seen.push(topic);
      if (topic === 'marker') resolve();
    }),
  );
  await client.subscribeAsync(['vigil/v1/s7/g7/status', 'vigil/v1/nobody/none/status', 'marker'], { qos: 1 });
  await client.publishAsync('marker', 'x', { qos: 1 });
  await marker;
  await client.endAsync();
  t.deepEqual(seen, ['marker']);
  t.is(scans, 0, 'no exact subscription scanned the retained messages');
  // A wildcard still finds every match (by the full scan), minus the cleared one.
  t.is((await receive(['vigil/v1/+/+/status'], 1999)).length, 1999);
  t.is(scans, 1);
});

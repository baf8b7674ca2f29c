import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { Aedes } from 'aedes';
import mqtt from 'mqtt';
import { createMemoryPersistence, withExactRetainedLookups } from '../central/broker/exact-retained.ts';
import { percentile } from './stats.ts';

/** One gateway's subscribe (its `ack` and `command` topics, exact) with `retained` statuses held. */
async function subscribeTime(exact: boolean, retained: number, samples: number): Promise<number> {
  const persistence = exact ? withExactRetainedLookups(createMemoryPersistence()) : createMemoryPersistence();
  const broker = await Aedes.createBroker({ persistence });
  const server = net.createServer(broker.handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `mqtt://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  const publisher = await mqtt.connectAsync(url);
  for (let i = 0; i < retained; i++)
    publisher.publish(`vigil/v1/s${i}/g${i}/status`, '{"state":"online"}', { qos: 0, retain: true });
  await publisher.publishAsync('marker', 'x', { qos: 1 });
  await publisher.endAsync();
  const client = await mqtt.connectAsync(url);
  const times: number[] = [];
  for (let i = 0; i < samples; i++) {
    const started = performance.now();
    await client.subscribeAsync([`vigil/v1/s${i}/g${i}/ack`, `vigil/v1/s${i}/g${i}/command`], { qos: 1 });
    times.push(performance.now() - started);
  }
  await client.endAsync();
  await new Promise((resolve) => server.close(resolve));
  await new Promise((resolve) => broker.close(resolve as () => void));
  return percentile(times, 50);
}

/** SUBSCRIBE with many retained messages held: aedes' full scan against the exact-topic index. */
export async function measureRetainedSubscribe(retained: number, samples: number) {
  return {
    retained,
    scanMs: await subscribeTime(false, retained, samples),
    exactMs: await subscribeTime(true, retained, samples),
  };
}

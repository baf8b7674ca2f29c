import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { Aedes } from 'aedes';
import mqtt from 'mqtt';

/** The floor: one aedes QoS-1 publish -> subscribe hop on loopback, measured sequentially. */
export async function measureRawHop(messages: number): Promise<number[]> {
  const broker = await Aedes.createBroker();
  const server = net.createServer(broker.handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `mqtt://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  const subscriber = await mqtt.connectAsync(url, { clientId: 'bench-sub' });
  const publisher = await mqtt.connectAsync(url, { clientId: 'bench-pub' });
  await subscriber.subscribeAsync('bench/hop', { qos: 1 });
  const samples: number[] = [];
  let resolveNext: (() => void) | null = null;
  subscriber.on('message', () => resolveNext?.());
  for (let i = 0; i < messages; i++) {
    const received = new Promise<void>((resolve) => {
      resolveNext = resolve;
    });
    const start = performance.now();
    publisher.publish('bench/hop', Buffer.from(JSON.stringify({ i, at: Date.now() })), { qos: 1 });
    await received;
    samples.push(performance.now() - start);
  }
  await publisher.endAsync();
  await subscriber.endAsync();
  await new Promise<void>((resolve) => broker.close(() => server.close(() => resolve())));
  return samples;
}

import { Readable } from 'node:stream';
import memoryPersistence, { type AedesMemoryPersistence, type AedesPersistence } from 'aedes-persistence';

type Packet = { readonly topic: string; readonly payload: Buffer | string };
/** The part of the persistence this wraps (aedes calls these with callbacks and streams). */
type Retained = {
  /** aedes 1 calls it without a callback and waits on the promise; older callers pass a callback. */
  storeRetained(packet: Packet, callback?: (error?: Error | null) => void): Promise<void> | undefined;
  createRetainedStream(pattern: string): Readable;
  createRetainedStreamCombi(patterns: string[]): Readable;
};

const WILDCARD = /[+#]/;

/** aedes' memory persistence (a CommonJS default export: Node's default import is the factory). */
export const createMemoryPersistence = memoryPersistence as unknown as () => AedesMemoryPersistence;

/**
 * aedes' memory persistence answers every SUBSCRIBE by testing each retained message against each
 * pattern: O(retained) per subscription, with one retained `status` per gateway (1.6 ms at 1,000
 * gateways, ~120 ms at 100,000; a restart storm would not converge). A gateway subscribes to exact
 * topics only (its `ack` and `command`), so those are answered from an index by topic; a pattern with
 * a wildcard (the central's own subscriptions, once) still goes through the full scan.
 */
export function withExactRetainedLookups<P extends AedesPersistence>(persistence: P): P {
  const p = persistence as unknown as Retained;
  const byTopic = new Map<string, Packet>();
  const storeRetained = p.storeRetained.bind(p);
  const scanOne = p.createRetainedStream.bind(p);
  const scanAll = p.createRetainedStreamCombi.bind(p);
  p.storeRetained = (packet, callback) => {
    const remember = () => {
      if (packet.payload.length === 0) byTopic.delete(packet.topic);
      else byTopic.set(packet.topic, { ...packet });
    };
    if (callback)
      return storeRetained(packet, (error) => {
        if (!error) remember();
        callback(error);
      });
    return Promise.resolve(storeRetained(packet)).then(remember);
  };
  const exact = (topics: readonly string[]) =>
    Readable.from(
      topics.flatMap((topic) => {
        const packet = byTopic.get(topic);
        return packet ? [packet] : [];
      }),
      { objectMode: true },
    );
  p.createRetainedStream = (pattern) => (WILDCARD.test(pattern) ? scanOne(pattern) : exact([pattern]));
  p.createRetainedStreamCombi = (patterns) =>
    patterns.some((pattern) => WILDCARD.test(pattern)) ? scanAll(patterns) : exact(patterns);
  return persistence;
}

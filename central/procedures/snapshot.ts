import type { EngineState } from './engine.ts';
import type { Handling } from './handling.ts';
import type { SiteMemory } from './site-memory.ts';

/**
 * The procedure engine's state as JSON, for `procedure_snapshots`: a worker taking a partition
 * starts from its last snapshot and replays only the inputs recorded after it, instead of 14 days
 * of them (and the sites' memory — false alarms of three months, the year's handlings — survives
 * beyond the replay window). The engine's two collections that JSON does not carry (an incident's
 * open dispatches, a site's notified codes) are written as arrays; a snapshot of another version is
 * refused, and the partition is then rebuilt from its inputs.
 */
export const SNAPSHOT_VERSION = 1;

type StoredHandling = Omit<Handling, 'openDispatches'> & {
  openDispatches: [string, unknown][];
};
type StoredMemory = Omit<SiteMemory, 'notifiedUndefined'> & { notifiedUndefined: string[] };

interface Stored {
  version: number;
  handlings: StoredHandling[];
  memory: [string, StoredMemory][];
  incidentOfEvent: [string, string][];
}

export function encodeState(state: EngineState): string {
  const stored: Stored = {
    version: SNAPSHOT_VERSION,
    handlings: state.handlings.map((h) => ({ ...h, openDispatches: [...h.openDispatches] })),
    memory: state.memory.map(([siteId, m]) => [
      siteId,
      { ...m, notifiedUndefined: [...m.notifiedUndefined] },
    ]),
    incidentOfEvent: state.incidentOfEvent,
  };
  // A Map or Set added to the engine's state later would be written as {} and lost: refused here.
  // Every element of a collection has the same shape, so the first of each is looked through (a
  // replacer asking of every value doubled the time of a 13 MB snapshot, on the event loop).
  for (const sample of [stored.handlings[0], stored.memory[0], stored.incidentOfEvent[0]])
    refuseMapOrSet(sample);
  return JSON.stringify(stored);
}

function refuseMapOrSet(value: unknown): void {
  if (value instanceof Map || value instanceof Set)
    throw new Error('the engine state holds a Map or Set the snapshot does not know: add it to snapshot.ts');
  if (value !== null && typeof value === 'object')
    for (const inner of Array.isArray(value) ? value : Object.values(value)) refuseMapOrSet(inner);
}

export function decodeState(json: string): EngineState {
  const stored = JSON.parse(json) as Stored;
  if (stored.version !== SNAPSHOT_VERSION)
    throw new Error(`snapshot version ${stored.version}, this central reads ${SNAPSHOT_VERSION}`);
  return {
    handlings: stored.handlings.map((h) => ({ ...h, openDispatches: new Map(h.openDispatches) }) as Handling),
    memory: stored.memory.map(([siteId, m]) => [
      siteId,
      { ...m, notifiedUndefined: new Set(m.notifiedUndefined) },
    ]),
    incidentOfEvent: stored.incidentOfEvent,
  };
}

/**
 * The procedure engine's state as JSON, for `procedure_snapshots`: a worker taking a partition
 * starts from its last snapshot and replays only the inputs recorded after it, instead of 14 days
 * of them (and the sites' memory — false alarms of three months, the year's handlings — survives
 * beyond the replay window). Maps and Sets are written as tagged arrays.
 */
export const SNAPSHOT_VERSION = 1;

export function encodeState(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v instanceof Map) return { $map: [...v.entries()] };
    if (v instanceof Set) return { $set: [...v.values()] };
    return v;
  });
}

export function decodeState<T>(json: string): T {
  return JSON.parse(json, (_key, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      if ('$map' in v) return new Map((v as { $map: [unknown, unknown][] }).$map);
      if ('$set' in v) return new Set((v as { $set: unknown[] }).$set);
    }
    return v;
  }) as T;
}

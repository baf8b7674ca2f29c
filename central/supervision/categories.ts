/**
 * EN 50136-1 alarm transmission system categories: the longest a path may stay unheard before it
 * counts as failed (primary / secondary path). Verified values from the reference (SP3, SP4, DP1,
 * DP2, DP4); SP2 and DP3 from the same tables (marked unverified there). Data, not code: an ARC
 * adjusts them here, and picks one per site.
 */
export interface Category {
  readonly primaryMs: number;
  readonly backupMs: number | null;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

export const ATS_CATEGORIES: Readonly<Record<string, Category>> = {
  SP2: { primaryMs: 25 * HOUR, backupMs: null },
  SP3: { primaryMs: 30 * MINUTE, backupMs: null },
  SP4: { primaryMs: 3 * MINUTE, backupMs: null },
  DP1: { primaryMs: 25 * HOUR, backupMs: 50 * HOUR },
  DP2: { primaryMs: 30 * MINUTE, backupMs: 25 * HOUR },
  DP3: { primaryMs: 3 * MINUTE, backupMs: 25 * HOUR },
  DP4: { primaryMs: 90_000, backupMs: 5 * HOUR },
};

/**
 * How much longer than its limit a path may be silent before it counts as failed: a heartbeat sent
 * right at the limit, a little network delay, and the central writing "heard" at most once a second
 * must not raise a failure by construction. 10% of the limit, at least 5 s and at most 60 s.
 */
export function graceMs(limitMs: number): number {
  return Math.min(60_000, Math.max(5_000, Math.round(limitMs * 0.1)));
}

/** A gateway heartbeats at most this often apart for a category's primary path (docs/protocol.md). */
export function heartbeatNeededMs(limitMs: number): number {
  return Math.floor(limitMs / 3);
}

/** The shortest silence any path may have before failing: paths heard since are not even read. */
export function shortestAllowedMs(accountSeconds: readonly number[] = []): number {
  const limits = [
    ...Object.values(ATS_CATEGORIES).flatMap((c) => [
      c.primaryMs,
      ...(c.backupMs === null ? [] : [c.backupMs]),
    ]),
    ...accountSeconds.map((s) => s * 1000),
  ];
  return Math.min(...limits.map((limit) => limit + graceMs(limit)));
}

export function category(name: string): Category {
  const found = ATS_CATEGORIES[name];
  if (!found)
    throw new Error(`unknown EN 50136 category "${name}" (known: ${Object.keys(ATS_CATEGORIES).join(', ')})`);
  return found;
}

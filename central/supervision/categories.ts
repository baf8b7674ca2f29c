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

export function category(name: string): Category {
  const found = ATS_CATEGORIES[name];
  if (!found)
    throw new Error(`unknown EN 50136 category "${name}" (known: ${Object.keys(ATS_CATEGORIES).join(', ')})`);
  return found;
}

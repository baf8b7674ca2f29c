import { yearAt } from './calendar.ts';
import type { SiteProfile } from './model.ts';

/** What the engine remembers of a site across its incidents: cards, quota, missed tests, outages. */
export interface SiteMemory {
  handlingsThisYear: { year: number; count: number };
  missedTests: number;
  notifiedUndefined: Set<string>;
  falseAlarms: Array<{ at: number; police: boolean }>;
  yellowCardAt: number | null;
  policeBlockedUntil: number | null;
  regionalOutage: boolean;
  mainsLost: boolean;
}

export interface SiteStatus {
  readonly yellowCardAt: number | null;
  readonly policeBlockedUntil: number | null;
  readonly falseAlarmsInThreeMonths: number;
  readonly missedTests: number;
  readonly handlingsThisYear: number;
  readonly includedHandlings: number | null;
}

export const TEST_MISSING_LIMIT = 3;
const THREE_MONTHS_MS = 91 * 86_400_000;

export function newSiteMemory(): SiteMemory {
  return {
    handlingsThisYear: { year: 0, count: 0 },
    missedTests: 0,
    notifiedUndefined: new Set(),
    falseAlarms: [],
    yellowCardAt: null,
    policeBlockedUntil: null,
    regionalOutage: false,
    mainsLost: false,
  };
}

/**
 * A false alarm (SPEC §7): a yellow card after 2 within 3 months; a red card when another one
 * involving the police follows within 3 months of it — no police for the site for 3 months.
 */
export function recordFalseAlarm(memory: SiteMemory, police: boolean, now: number): 'yellow' | 'red' | null {
  memory.falseAlarms = [
    ...memory.falseAlarms.filter((f) => now - f.at <= THREE_MONTHS_MS),
    { at: now, police },
  ];
  if (memory.yellowCardAt !== null && now - memory.yellowCardAt <= THREE_MONTHS_MS && police) {
    memory.policeBlockedUntil = now + THREE_MONTHS_MS;
    return 'red';
  }
  if (memory.yellowCardAt === null && memory.falseAlarms.length >= 2) {
    memory.yellowCardAt = now;
    return 'yellow';
  }
  return null;
}

/** One more handling against the contract's yearly quota (SPEC §6); the count this year. */
export function countHandling(memory: SiteMemory, site: SiteProfile, now: number): number {
  const year = yearAt(site, now);
  if (memory.handlingsThisYear.year !== year) memory.handlingsThisYear = { year, count: 0 };
  return ++memory.handlingsThisYear.count;
}

export function siteStatusOf(memory: SiteMemory, site: SiteProfile | undefined, now: number): SiteStatus {
  const year = new Date(now).getUTCFullYear();
  return {
    yellowCardAt:
      memory.yellowCardAt && now - memory.yellowCardAt <= THREE_MONTHS_MS ? memory.yellowCardAt : null,
    policeBlockedUntil:
      memory.policeBlockedUntil && memory.policeBlockedUntil > now ? memory.policeBlockedUntil : null,
    falseAlarmsInThreeMonths: memory.falseAlarms.filter((f) => now - f.at <= THREE_MONTHS_MS).length,
    missedTests: memory.missedTests,
    handlingsThisYear: memory.handlingsThisYear.year === year ? memory.handlingsThisYear.count : 0,
    includedHandlings: site?.includedHandlings ?? null,
  };
}

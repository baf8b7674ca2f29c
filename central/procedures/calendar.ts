import { DateTime } from 'luxon';
import type { SiteProfile } from './model.ts';

/** A site's local times: working hours (automatic fire alarms) and the action window (09–22). */
function localMinutes(text: string): number {
  const [h, m] = text.split(':').map(Number);
  return (h ?? 0) * 60 + (m ?? 0);
}

export function inWorkingHours(site: SiteProfile, at: number): boolean {
  const local = DateTime.fromMillis(at, { zone: site.timeZone });
  const minutes = local.hour * 60 + local.minute;
  return (
    site.workingHours.days.includes(local.weekday) &&
    minutes >= localMinutes(site.workingHours.from) &&
    minutes < localMinutes(site.workingHours.to)
  );
}

/** Null when `at` is inside the site's action window; otherwise when the window next opens. */
export function nextWindowStart(site: SiteProfile, at: number): number | null {
  const local = DateTime.fromMillis(at, { zone: site.timeZone });
  const minutes = local.hour * 60 + local.minute;
  const from = localMinutes(site.actWindow.from);
  const to = localMinutes(site.actWindow.to);
  if (minutes >= from && minutes < to) return null;
  const day = minutes >= to ? local.plus({ days: 1 }) : local;
  return day.set({ hour: Math.floor(from / 60), minute: from % 60, second: 0, millisecond: 0 }).toMillis();
}

export function yearAt(site: SiteProfile, at: number): number {
  return DateTime.fromMillis(at, { zone: site.timeZone }).year;
}

import { DateTime } from 'luxon';
import { z } from 'zod';

const HHMM = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'a time of day as HH:MM');

const OpeningHoursSchema = z
  .strictObject({ from: HHMM, to: HHMM })
  .refine((hours) => hours.from < hours.to, 'opening hours must end after they start, on the same day');

/**
 * When a (business) site is open, i.e. may be disarmed (SPEC §7 schedule supervision). Days are ISO
 * weekdays in the site's time zone (1 = Monday); a day that is absent is closed all day. Late
 * arming and disarming outside the hours are judged with `marginMinutes` of tolerance.
 */
export const WeeklyScheduleSchema = z.strictObject({
  marginMinutes: z.number().int().min(0).max(120).default(15),
  open: z.partialRecord(z.enum(['1', '2', '3', '4', '5', '6', '7']), OpeningHoursSchema).default({}),
  /** The optional one-time check, between 22:00 and 24:00, that the site is armed for the night. */
  nightCheck: HHMM.refine((t) => t >= '22:00', 'the night check lies between 22:00 and 24:00')
    .nullable()
    .default(null),
});
export type WeeklySchedule = z.infer<typeof WeeklyScheduleSchema>;

export interface ArmingDeadline {
  readonly at: number;
  readonly reason: string;
}

/** Every instant in (from, to] at which the schedule says the site must be armed, oldest first. */
export function armingDeadlines(
  schedule: WeeklySchedule,
  timeZone: string,
  from: number,
  to: number,
): ArmingDeadline[] {
  const deadlines: ArmingDeadline[] = [];
  const last = DateTime.fromMillis(to, { zone: timeZone }).startOf('day');
  // A deadline (closing + margin) may fall on the day after the closing time's day.
  for (
    let day = DateTime.fromMillis(from, { zone: timeZone }).startOf('day').minus({ days: 1 });
    day <= last;
    day = day.plus({ days: 1 })
  ) {
    const hours = schedule.open[String(day.weekday) as keyof WeeklySchedule['open']];
    if (hours) {
      deadlines.push({
        at: atTime(day, hours.to).plus({ minutes: schedule.marginMinutes }).toMillis(),
        reason: `not armed by ${hours.to} + ${schedule.marginMinutes} min (schedule of ${day.toFormat('ccc d LLL')})`,
      });
    }
    if (schedule.nightCheck) {
      deadlines.push({
        at: atTime(day, schedule.nightCheck).toMillis(),
        reason: `not armed at the ${schedule.nightCheck} night check`,
      });
    }
  }
  return deadlines.filter((d) => d.at > from && d.at <= to).sort((a, b) => a.at - b.at);
}

/** Whether disarming at `at` lies within the day's opening hours, margin included. */
export function disarmAllowed(schedule: WeeklySchedule, timeZone: string, at: number): boolean {
  const local = DateTime.fromMillis(at, { zone: timeZone });
  const hours = schedule.open[String(local.weekday) as keyof WeeklySchedule['open']];
  if (!hours) return false;
  const day = local.startOf('day');
  const opens = atTime(day, hours.from).minus({ minutes: schedule.marginMinutes });
  const closes = atTime(day, hours.to).plus({ minutes: schedule.marginMinutes });
  return local >= opens && local <= closes;
}

/** A one-line summary for operators: "Mon–Fri 07:30–18:00 ±15 min, night check 23:00". */
export function describeSchedule(schedule: WeeklySchedule): string {
  const days = Object.entries(schedule.open)
    .map(([day, hours]) => `${DAY_NAMES[Number(day) - 1]} ${hours.from}–${hours.to}`)
    .join(', ');
  const night = schedule.nightCheck ? `, night check ${schedule.nightCheck}` : '';
  return `${days || 'closed all week'} ±${schedule.marginMinutes} min${night}`;
}

const DAY_NAMES = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

function atTime(day: DateTime, hhmm: string): DateTime {
  const [hour, minute] = hhmm.split(':').map(Number);
  return day.set({ hour: hour!, minute: minute!, second: 0, millisecond: 0 });
}

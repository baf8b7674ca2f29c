import type { SignalKind } from '../device-signal.ts';

/**
 * IAS Zone (cluster 0x0500) zone-status bits (ZCL spec; TI Z-Stack `SS_IAS_ZONE_STATUS_*`) and
 * the normalized signals their changes mean. Pure.
 */
export const ZONE_STATUS = {
  alarm1: 0x0001,
  alarm2: 0x0002,
  tamper: 0x0004,
  battery: 0x0008,
  supervisionReports: 0x0010,
  restoreReports: 0x0020,
  trouble: 0x0040,
  ac: 0x0080,
  test: 0x0100,
  batteryDefect: 0x0200,
} as const;

/** Each condition, the bits that raise it, and the signals for raised / cleared. */
const CONDITIONS: ReadonlyArray<{ bits: number; on: SignalKind; off: SignalKind }> = [
  // alarm2 is the second portal of a contact, the emergency button of a personal device or fob.
  { bits: ZONE_STATUS.alarm1 | ZONE_STATUS.alarm2, on: 'alarm', off: 'restore' },
  { bits: ZONE_STATUS.tamper, on: 'tamper', off: 'tamper-restore' },
  { bits: ZONE_STATUS.battery | ZONE_STATUS.batteryDefect, on: 'battery-low', off: 'battery-ok' },
  { bits: ZONE_STATUS.trouble, on: 'trouble', off: 'trouble-restore' },
  { bits: ZONE_STATUS.ac, on: 'mains-lost', off: 'mains-restored' },
];

/**
 * The signals that take a device from `previous` to `current` zone status. With no previous status
 * (first report since start), only raised conditions are reported.
 */
export function zoneStatusSignals(previous: number | undefined, current: number): SignalKind[] {
  const signals: SignalKind[] = [];
  for (const { bits, on, off } of CONDITIONS) {
    const was = previous === undefined ? false : (previous & bits) !== 0;
    const is = (current & bits) !== 0;
    if (is && !was) signals.push(on);
    else if (was && !is) signals.push(off);
  }
  return signals;
}

/** The zone status carried by a herdsman `message` from the IAS Zone cluster, if any. */
export function zoneStatusOf(type: string, data: Record<string, unknown>): number | null {
  const value =
    type === 'commandStatusChangeNotification'
      ? data.zonestatus
      : type === 'attributeReport' || type === 'readResponse'
        ? data.zoneStatus
        : undefined;
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 0xffff ? value : null;
}

/** Zigbee IEEE addresses as the registry writes them: `0x` and 16 lower-case hex digits. */
export const IEEE_ADDRESS = /^0x[0-9a-f]{16}$/;

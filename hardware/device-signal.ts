/**
 * The one normalized signal every bus driver produces. The gateway never learns which bus a
 * device is on: it sees a device id, what happened, and when.
 */
export const SIGNAL_KINDS = [
  'alarm',
  'restore',
  'tamper',
  'tamper-restore',
  'battery-low',
  'battery-ok',
  'check-in',
  'trouble',
  'trouble-restore',
  'mains-lost',
  'mains-restored',
  // Key fob buttons (Zigbee IAS ACE, 433/868 MHz fobs): the fob itself is the credential.
  'arm-away',
  'arm-home',
  'arm-night',
  'disarm',
] as const;
export type SignalKind = (typeof SIGNAL_KINDS)[number];

export interface DeviceSignal {
  readonly deviceId: string;
  readonly kind: SignalKind;
  /** Epoch milliseconds from the driver's clock when the bus reported it. */
  readonly at: number;
  /** Bus-specific detail for logs and diagnostics (pin level, frame, zone status bits…). */
  readonly detail?: Readonly<Record<string, unknown>>;
}

export type SignalListener = (signal: DeviceSignal) => void;

/** The port every bus driver implements. */
export interface DeviceBus {
  readonly name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  onSignal(listener: SignalListener): void;
}

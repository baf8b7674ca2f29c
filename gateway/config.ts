import { z } from 'zod';
import { DSC_ADDRESS } from '../hardware/serial/dsc-it100.ts';
import { IEEE_ADDRESS } from '../hardware/zigbee/ias-zone.ts';
import { EVENT_TYPE_NAMES } from '../protocols/event-codes.ts';
import { IdentifierSchema, Text } from '../protocols/messages.ts';

export const DEVICE_TYPES = [
  'motion',
  'contact',
  'glassbreak',
  'smoke',
  'heat',
  'gas',
  'water',
  'panic',
  'holdup',
  'medical',
  'tamper',
  'camera',
  'power-supply',
  'keyfob',
] as const;
export type DeviceType = (typeof DEVICE_TYPES)[number];

/** Intrusion detectors; every other type is a 24-hour zone or a supervision source. */
export const INTRUSION_TYPES: readonly DeviceType[] = ['motion', 'contact', 'glassbreak', 'camera'];

/**
 * How an intrusion zone reacts while armed (SIA CP-01 terms):
 * - `delay`: the entry/exit route; opening it starts the entry delay, and it is ignored during exit;
 * - `follower`: ignored during exit and while an entry delay runs, instant otherwise;
 * - `instant`: alarms at once whenever its area is armed in a mode it counts in.
 */
export const ZONE_KINDS = ['delay', 'follower', 'instant'] as const;
export type ZoneKind = (typeof ZONE_KINDS)[number];

export const DeviceConfigSchema = z.strictObject({
  id: IdentifierSchema,
  name: Text(120).min(1),
  bus: z.enum(['simulated', 'gpio', 'serial', 'zigbee', 'camera']),
  type: z.enum(DEVICE_TYPES),
  zone: z.number().int().min(1).max(999),
  area: z.number().int().min(1).max(99),
  /** Intrusion zones only; defaults: contacts are `instant`, motion and cameras `follower`. */
  zoneKind: z.enum(ZONE_KINDS).optional(),
  chime: z.boolean().default(false),
  /** Intrusion zones may be bypassed unless this is false; 24-hour zones never. */
  bypassable: z.boolean().default(true),
  /**
   * Check-in supervision: report the device lost after this much silence. Absent: the default of
   * its bus (DEFAULT_SUPERVISION_SECONDS); null: explicitly not supervised.
   */
  supervisionSeconds: z
    .number()
    .int()
    .min(60)
    .max(7 * 86_400)
    .nullable()
    .optional(),
  /** Bus-specific address (serial `zone:N`, Zigbee IEEE address…), used by the drivers. */
  address: Text(120).optional(),
  /** Wiring of a zone on the `gpio` bus (docs/hardware.md). */
  gpio: z
    .strictObject({
      pin: z.number().int().min(0).max(53),
      tamperPin: z.number().int().min(0).max(53).optional(),
      contact: z.enum(['NC', 'NO']).default('NC'),
      pull: z.enum(['up', 'down']).default('up'),
      debounceMs: z.number().int().min(0).max(2000).default(50),
    })
    .optional(),
});
export type DeviceConfig = z.infer<typeof DeviceConfigSchema>;

/**
 * Default check-in supervision per bus. Zigbee IAS devices report at least hourly, so 70 minutes of
 * silence means lost. Wired GPIO zones are supervised electrically (end-of-line resistors) and
 * serial panels by their link, so they have no check-in timeout; simulated devices neither.
 */
export const DEFAULT_SUPERVISION_SECONDS: Record<DeviceConfig['bus'], number | null> = {
  zigbee: 70 * 60,
  camera: null,
  gpio: null,
  serial: null,
  simulated: null,
};

export function supervisionSeconds(device: DeviceConfig): number | null {
  return device.supervisionSeconds === undefined
    ? DEFAULT_SUPERVISION_SECONDS[device.bus]
    : device.supervisionSeconds;
}

export const AreaConfigSchema = z.strictObject({
  id: z.number().int().min(1).max(99),
  name: Text(120).min(1),
  exitDelaySeconds: z.number().int().min(0).max(600).default(30),
  entryDelaySeconds: z.number().int().min(0).max(600).default(30),
});
export type AreaConfig = z.infer<typeof AreaConfigSchema>;

export const OUTPUT_KINDS = ['siren', 'strobe'] as const;
export type OutputKind = (typeof OUTPUT_KINDS)[number];

export const OutputConfigSchema = z.strictObject({
  id: IdentifierSchema,
  name: Text(120).min(1),
  kind: z.enum(OUTPUT_KINDS),
  bus: z.enum(['simulated', 'gpio']),
  /** For `gpio` outputs: the BCM pin and whether the driver stage is active-low. */
  gpio: z
    .strictObject({ pin: z.number().int().min(0).max(53), activeLow: z.boolean().default(false) })
    .optional(),
  /** Areas whose alarms drive this output. */
  areas: z.array(z.number().int().min(1).max(99)).min(1),
});
export type OutputConfig = z.infer<typeof OutputConfigSchema>;

/** Which event types sound which outputs, after how long, for how long. The first matching rule wins. */
export const OutputRuleSchema = z.strictObject({
  eventTypes: z.array(z.enum(EVENT_TYPE_NAMES)).min(1),
  siren: z.boolean(),
  strobe: z.boolean(),
  delaySeconds: z.number().int().min(0).max(600).default(0),
  durationSeconds: z.number().int().min(10).max(1800).default(180),
  /** Sound only while an area of the event is armed. */
  armedOnly: z.boolean().default(false),
});
export type OutputRule = z.infer<typeof OutputRuleSchema>;

export const UserSchema = z.strictObject({
  id: IdentifierSchema,
  name: Text(120).min(1),
  role: z.enum(['user', 'master', 'installer']),
  /** scrypt hashes (`vigil gateway hash-code`); the codes themselves are never stored. */
  codeHash: z.string().min(20),
  duressCodeHash: z.string().min(20).optional(),
  areas: z.array(z.number().int().min(1).max(99)).min(1),
});
export type UserConfig = z.infer<typeof UserSchema>;

/** Buses whose devices need a configured link and an address in that link's format. */
const BUS_LINKS = {
  zigbee: {
    config: 'zigbee',
    what: 'coordinator',
    address: IEEE_ADDRESS,
    addressHint: 'its IEEE address, 0x and 16 lower-case hex digits',
    uniqueAddresses: false,
  },
  serial: {
    config: 'serial',
    what: 'link',
    address: DSC_ADDRESS,
    addressHint: 'an IT-100 address: zone:N, panel or key:fire|aux|panic|duress|smoke',
    uniqueAddresses: true,
  },
} as const;

export const GatewayConfigSchema = z
  .strictObject({
    siteId: IdentifierSchema,
    gatewayId: IdentifierSchema,
    central: z.strictObject({
      mqttUrl: z.url({ protocol: /^mqtts?$/ }),
      /** The other nodes of a broker cluster, tried in turn after `mqttUrl`. */
      mqttUrls: z
        .array(z.url({ protocol: /^mqtts?$/ }))
        .max(16)
        .default([]),
      /** Per-gateway secret issued by the central at commissioning. */
      secret: z.string().min(16),
      /** PEM of the CA that signed the central's certificate (mqtts); absent: the system's trust store. */
      caCert: z.string().startsWith('-----BEGIN CERTIFICATE-----').optional(),
      /** The central's camera-grant key (Ed25519, base64url), printed with the secret; absent: no camera access. */
      grantKey: z
        .string()
        .regex(/^[A-Za-z0-9_-]{43}$/, 'the 43-character key printed by `vigil central add-gateway`')
        .optional(),
    }),
    heartbeatSeconds: z.number().int().min(5).max(86_400).default(60),
    /** The backup path: SIA DC-09 to the central's receiver, used while the MQTT primary is down. */
    backup: z
      .strictObject({
        dc09: z
          .strictObject({
            host: z.string().min(1),
            port: z.number().int().min(1).max(65_535),
            prefix: z
              .string()
              .regex(/^[0-9A-Fa-f]{1,6}$/)
              .default('0'),
            account: z.string().regex(/^[0-9A-Fa-f]{3,16}$/),
            /** The receiver number (`R…`, hex) some receivers require; absent: none sent. */
            receiver: z
              .string()
              .regex(/^[0-9A-Fa-f]{1,6}$/)
              .optional(),
            /** AES key as issued with the account; absent: unencrypted (not recommended). */
            key: z.string().optional(),
            /** How the key is written: no default, as receivers differ (a 32-character key is either). */
            keyFormat: z.enum(['hex', 'ascii']).optional(),
            /**
             * What the frames carry: `vigil` (SIA-DCS plus the full event, for a Vigil central),
             * `sia-dcs` or `adm-cid` (the standard content only, for any other receiver).
             */
            format: z.enum(['vigil', 'sia-dcs', 'adm-cid']).default('vigil'),
            /** TCP or UDP, as the receiver offers. */
            transport: z.enum(['tcp', 'udp']).default('tcp'),
            /** Refusals (NAK/DUH) of one event before this path leaves it to the primary and goes on. */
            maxRefusals: z.number().int().min(1).max(20).default(4),
            nullIntervalSeconds: z.number().int().min(10).max(86_400).default(60),
          })
          .refine((dc09) => !dc09.key || dc09.keyFormat, {
            message: 'keyFormat is required with a key ("hex" or "ascii": receivers differ)',
            path: ['keyFormat'],
          }),
      })
      .optional(),
    /** How long to wait for the central's ack before publishing an event again. */
    ackTimeoutSeconds: z.number().int().min(1).max(3600).default(10),
    /** Events published and not yet acked at most (flow control after an outage). */
    uplinkWindow: z.number().int().min(1).max(1000).default(64),
    http: z
      .strictObject({
        host: z.string().default('127.0.0.1'),
        port: z.number().int().min(0).max(65_535).default(8081),
      })
      .prefault({}),
    areas: z.array(AreaConfigSchema).min(1),
    devices: z.array(DeviceConfigSchema),
    outputs: z.array(OutputConfigSchema).default([]),
    outputRules: z.array(OutputRuleSchema).optional(),
    users: z.array(UserSchema).default([]),
    verification: z
      .strictObject({
        /** Two alarms further apart than this do not confirm each other. */
        windowSeconds: z.number().int().min(10).max(7200).default(1800),
        /** Pairs of zones that count as consecutive; when absent, zones n and n+1 of one area do. */
        adjacentZones: z.array(z.tuple([z.number().int(), z.number().int()])).optional(),
      })
      .prefault({}),
    supervision: z
      .strictObject({
        /** Mains loss is reported only if it lasts this long (SPEC §5: a per-contract setting). */
        mainsDelaySeconds: z.number().int().min(0).max(7200).default(900),
        periodicTestHours: z.number().int().min(1).max(168).default(24),
      })
      .prefault({}),
    keypad: z
      .strictObject({
        maxFailures: z.number().int().min(3).max(10).default(5),
        lockoutSeconds: z.number().int().min(30).max(3600).default(90),
      })
      .prefault({}),
    walkTestMinutes: z.number().int().min(5).max(240).default(30),
    /** The Zigbee coordinator, for devices on bus `zigbee` (address: IEEE `0x` + 16 hex digits). */
    zigbee: z
      .strictObject({
        adapter: z.enum(['zstack', 'ember', 'deconz', 'zigate', 'ezsp', 'zboss']),
        path: z.string().min(1),
        baudRate: z.number().int().positive().optional(),
        channel: z.number().int().min(11).max(26).default(15),
      })
      .optional(),
    /** IP cameras: alarm notifications in, snapshots and streams for the central's alarm-bound access. */
    cameras: z
      .array(
        z.strictObject({
          id: IdentifierSchema,
          name: Text(120).min(1),
          area: z.number().int().min(1).max(99),
          /** Secret the camera sends with its HTTP alarm notification (query `token` or header `x-vigil-token`). */
          eventToken: z.string().min(16).max(200).optional(),
          restoreAfterSeconds: z.number().int().min(5).max(3600).default(30),
          snapshotUrl: z.url({ protocol: /^https?$/ }).optional(),
          streamUrl: z.url({ protocol: /^(rtsp|rtsps|https?)$/ }).optional(),
          username: z.string().max(120).optional(),
          password: z.string().max(200).optional(),
        }),
      )
      .default([]),
    /** How GPIO is reached: the character device (libgpiod tools) or sysfs; `auto` picks what exists. */
    gpio: z
      .strictObject({
        backend: z.enum(['auto', 'chardev', 'sysfs']).default('auto'),
        chip: z.string().default('gpiochip0'),
      })
      .prefault({}),
    /** The serial alarm-panel link, for devices on bus `serial` (addresses `zone:N`, `panel`, `key:…`). */
    serial: z
      .strictObject({
        protocol: z.literal('dsc-it100'),
        path: z.string().min(1),
        baudRate: z.number().int().positive().default(9600),
      })
      .optional(),
    homeAssistant: z
      .strictObject({
        mqttUrl: z.url({ protocol: /^mqtts?$/ }),
        username: z.string().optional(),
        password: z.string().optional(),
        discoveryPrefix: z.string().default('homeassistant'),
      })
      .optional(),
  })
  .superRefine((config, ctx) => {
    config.outputs.forEach((output, index) => {
      if (output.bus === 'gpio' && !output.gpio) {
        ctx.addIssue({
          code: 'custom',
          path: ['outputs', index, 'gpio'],
          message: `output "${output.id}" is on gpio but has no pin`,
        });
      }
    });
    const areaIds = new Set(config.areas.map((a) => a.id));
    const seen = new Set<string>();
    const zones = new Map<number, string>();
    const addresses = new Map<string, string>();
    const pins = new Map<number, string>();
    config.devices.forEach((device, index) => {
      const issue = (field: string, message: string) =>
        ctx.addIssue({ code: 'custom', path: ['devices', index, field], message });
      const holder = zones.get(device.zone);
      if (holder !== undefined && device.type !== 'power-supply') {
        issue('zone', `device "${device.id}" uses zone ${device.zone}, already used by "${holder}"`);
      }
      if (device.type !== 'power-supply') zones.set(device.zone, device.id);
      const link = BUS_LINKS[device.bus as keyof typeof BUS_LINKS];
      if (link) {
        if (!config[link.config]) {
          issue(
            'bus',
            `device "${device.id}" is on the ${device.bus} bus, but no "${link.config}" ${link.what} is configured`,
          );
        } else if (!device.address || !link.address.test(device.address)) {
          issue('address', `device "${device.id}" needs ${link.addressHint}`);
        } else if (link.uniqueAddresses && addresses.has(device.address)) {
          issue(
            'address',
            `device "${device.id}" has address ${device.address}, already used by "${addresses.get(device.address)}"`,
          );
        }
        if (link.uniqueAddresses && device.address) addresses.set(device.address, device.id);
      }
      if (device.bus === 'camera') {
        const camera = config.cameras.find((c) => c.id === device.address);
        if (!camera) {
          issue(
            'address',
            `device "${device.id}" is on the camera bus: its address must name a configured camera`,
          );
        } else if (!camera.eventToken) {
          issue('address', `camera "${camera.id}" feeds device "${device.id}" but has no eventToken`);
        }
      }
      if (device.bus === 'gpio') {
        if (!device.gpio) {
          issue(
            'gpio',
            `device "${device.id}" is on the gpio bus but has no "gpio" wiring (pin, contact, pull)`,
          );
        } else {
          for (const pin of [device.gpio.pin, device.gpio.tamperPin]) {
            if (pin === undefined) continue;
            if (pins.has(pin))
              issue('gpio', `device "${device.id}" uses GPIO ${pin}, already used by "${pins.get(pin)}"`);
            pins.set(pin, device.id);
          }
        }
      }
      if (device.zoneKind && !INTRUSION_TYPES.includes(device.type)) {
        ctx.addIssue({
          code: 'custom',
          path: ['devices', index, 'zoneKind'],
          message: `device "${device.id}" is a 24-hour ${device.type}: it has no zone kind`,
        });
      }
      if (seen.has(device.id)) {
        ctx.addIssue({
          code: 'custom',
          path: ['devices', index, 'id'],
          message: `device "${device.id}" is listed twice`,
        });
      }
      seen.add(device.id);
      if (!areaIds.has(device.area)) {
        ctx.addIssue({
          code: 'custom',
          path: ['devices', index, 'area'],
          message: `device "${device.id}" is in area ${device.area}, which is not configured`,
        });
      }
    });
  });
export type GatewayConfig = z.infer<typeof GatewayConfigSchema>;

/** Validate a configuration object; the error names every offending field and device. */
export function parseGatewayConfig(input: unknown, source = 'gateway config'): GatewayConfig {
  const parsed = GatewayConfigSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => {
    const path = issue.path.join('.');
    const deviceIndex = issue.path[0] === 'devices' ? issue.path[1] : undefined;
    const device =
      typeof deviceIndex === 'number' && Array.isArray((input as { devices?: unknown[] })?.devices)
        ? ((input as { devices: { id?: unknown }[] }).devices[deviceIndex]?.id ?? `#${deviceIndex}`)
        : undefined;
    return `  - ${path || '(root)'}${device !== undefined ? ` (device ${String(device)})` : ''}: ${issue.message}`;
  });
  throw new Error(`invalid ${source}:\n${problems.join('\n')}`);
}

import { z } from 'zod';
import { newId } from '../lib/ids.ts';
import { EVENT_CLASSES, EVENT_TYPE_NAMES } from './event-codes.ts';
import { PROTOCOL_VERSION } from './version.ts';

/** Site and gateway ids double as MQTT topic levels and log fields: keep them plain. */
export const IdentifierSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9_-]*$/, 'letters, digits, "-" and "_" only');

// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point.
const CONTROL_CHARACTERS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/;

/** Text PostgreSQL, logs and browsers take as it is: no NUL or other control characters, no unpaired surrogates. */
export function isStorableText(value: string): boolean {
  return value.isWellFormed() && !CONTROL_CHARACTERS.test(value);
}

/** The same text made storable (for what the gateway itself did not write, e.g. a panel's frame). */
export function toStorableText(value: string): string {
  return value.toWellFormed().replace(new RegExp(CONTROL_CHARACTERS.source, 'g'), '\uFFFD');
}

/** Free text in a message or a config file, up to `max` characters, storable. */
export function Text(max: number) {
  return z.string().max(max).refine(isStorableText, 'control characters or unpaired surrogates');
}

const Timestamp = z.iso.datetime({ offset: true });
const Version = z.literal(PROTOCOL_VERSION);

export const VerificationSchema = z.strictObject({
  verified: z.boolean(),
  /** Which SPEC §4 rule verified the alarm; null while unverified. */
  rule: z.enum(['dual-zone', 'tamper-plus-alarm', 'camera', 'person', 'audio']).nullable(),
  supportingEventIds: z.array(z.uuid()).max(32),
});

export const AlarmEventSchema = z.strictObject({
  v: Version,
  type: z.literal('event'),
  id: z.uuid(),
  siteId: IdentifierSchema,
  gatewayId: IdentifierSchema,
  /** Gateway-local sequence number, strictly increasing: delivery order and gap detection. */
  seq: z.number().int().nonnegative(),
  eventType: z.enum(EVENT_TYPE_NAMES),
  qualifier: z.enum(['event', 'restore']),
  code: z.strictObject({
    cid: z.string().regex(/^[0-9A-F]{3}$/),
    sia: z.string().regex(/^[A-Z]{2}$/),
  }),
  class: z.enum(EVENT_CLASSES),
  priority: z.number().int().min(1).max(9),
  device: z.strictObject({ id: IdentifierSchema, name: Text(120) }).nullable(),
  zone: z.number().int().min(0).max(999),
  area: z.number().int().min(0).max(99),
  verification: VerificationSchema,
  /** The earlier event this one restores or verifies. */
  relatesTo: z.uuid().nullable(),
  text: Text(256).default(''),
  /** When the bus reported the signal (the device's or driver's clock). */
  occurredAt: Timestamp,
  /** When the gateway recorded the event in its outbox. */
  recordedAt: Timestamp,
});
export type AlarmEvent = z.infer<typeof AlarmEventSchema>;

export const HeartbeatSchema = z.strictObject({
  v: Version,
  type: z.literal('heartbeat'),
  siteId: IdentifierSchema,
  gatewayId: IdentifierSchema,
  path: z.enum(['primary', 'backup']),
  seq: z.number().int().nonnegative(),
  sentAt: Timestamp,
  /** Events written but not yet acknowledged by the central. */
  outboxDepth: z.number().int().nonnegative(),
  firmware: Text(64),
  /** The gateway's cameras, for the operator's view of an alarm (access still needs a grant). */
  cameras: z
    .array(
      z.strictObject({
        id: IdentifierSchema,
        name: Text(120),
        snapshot: z.boolean(),
        /** The camera has its own (MJPEG) stream for live view. */
        live: z.boolean().optional(),
      }),
    )
    .max(32)
    .optional(),
});
export type Heartbeat = z.infer<typeof HeartbeatSchema>;

/** Central -> gateway: these events are committed; the gateway may drop them from its outbox. */
export const AckSchema = z.strictObject({
  v: Version,
  type: z.literal('ack'),
  eventIds: z.array(z.uuid()).min(1).max(1000),
  storedAt: Timestamp,
});
export type Ack = z.infer<typeof AckSchema>;

/** A premises user's code (4–8 digits), carried only on a gateway's own command topic. */
const UserCode = z.string().regex(/^[0-9]{4,8}$/);

export const CommandSchema = z.strictObject({
  v: Version,
  type: z.literal('command'),
  id: z.uuid(),
  issuedAt: Timestamp,
  /** Who at the central asked for it, for the gateway's own audit log. */
  issuedBy: Text(120).min(1),
  command: z.discriminatedUnion('name', [
    /**
     * Arm or disarm an area. With `code` (a user at the customer's portal), the gateway checks the
     * code as its keypad would and answers on its status (`command`); without, the central acts itself.
     */
    z.strictObject({
      name: z.literal('arm'),
      area: z.number().int().min(0).max(99),
      mode: z.enum(['away', 'home', 'night']),
      code: UserCode.optional(),
    }),
    z.strictObject({
      name: z.literal('disarm'),
      area: z.number().int().min(0).max(99),
      code: UserCode.optional(),
    }),
    z.strictObject({ name: z.literal('request-status') }),
    /** Start or stop a walk test, for an installer working through the central's portal. */
    z.strictObject({ name: z.literal('walk-test'), on: z.boolean() }),
    /** One picture from a camera, under a signed grant (protocols/camera-grant.ts); answered on `media`. */
    z.strictObject({
      name: z.literal('camera-snapshot'),
      cameraId: IdentifierSchema,
      grant: z.string().min(1).max(4096),
    }),
    /** A camera's own stream (MJPEG) for up to `seconds`, frames answered on `media` as they come. */
    z.strictObject({
      name: z.literal('camera-live'),
      cameraId: IdentifierSchema,
      grant: z.string().min(1).max(4096),
      seconds: z.number().int().min(1).max(60),
    }),
    /** End a live view early (the operator closed it). */
    z.strictObject({ name: z.literal('camera-stop'), commandId: z.uuid() }),
  ]),
});
export type Command = z.infer<typeof CommandSchema>;

/** A command as the central sends it: a fresh id, when, and who asked (for the gateway's log). */
export function newCommand(issuedBy: string, command: Command['command'], at: number = Date.now()): Command {
  return {
    v: PROTOCOL_VERSION,
    type: 'command',
    id: newId(),
    issuedAt: new Date(at).toISOString(),
    issuedBy,
    command,
  };
}

/** A snapshot must fit one MQTT message comfortably (the broker's limit is larger). */
export const MAX_MEDIA_BYTES = 4 * 1024 * 1024;

/** Gateway -> central, on `media`: the answer to a `camera-snapshot` command (`commandId`). */
export const MediaSchema = z.strictObject({
  v: Version,
  type: z.literal('media'),
  commandId: z.uuid(),
  cameraId: IdentifierSchema,
  /** For `camera-live`: the frame's number, and whether the stream ended with this message. */
  sequence: z.number().int().nonnegative().optional(),
  final: z.boolean().optional(),
  result: z.discriminatedUnion('ok', [
    z.strictObject({
      ok: z.literal(true),
      grantId: z.uuid(),
      takenAt: Timestamp,
      contentType: z.string().regex(/^image\/[a-z0-9.+-]+$/),
      data: z.base64().max(Math.ceil(MAX_MEDIA_BYTES / 3) * 4),
    }),
    z.strictObject({ ok: z.literal(false), error: Text(300) }),
  ]),
});
export type Media = z.infer<typeof MediaSchema>;

/** Retained on the status topic; the broker publishes the `offline` form as the gateway's last will. */
export const GatewayStatusSchema = z.strictObject({
  v: Version,
  type: z.literal('status'),
  state: z.enum(['online', 'offline']),
  at: Timestamp.nullable(),
  /** With `online`: the devices and their zones, for the operators' site card. */
  devices: z
    .array(
      z.strictObject({
        id: IdentifierSchema,
        name: Text(120),
        type: Text(40),
        zone: z.number().int().min(0).max(999),
        area: z.number().int().min(0).max(99),
      }),
    )
    .max(512)
    .optional(),
  /** With `online`: each area's arming now (sent again whenever it changes), for the customer's portal. */
  areas: z
    .array(
      z.strictObject({
        id: z.number().int().min(0).max(99),
        name: Text(120),
        mode: z.enum(['disarmed', 'away', 'home', 'night']),
        phase: z.enum(['disarmed', 'exit', 'armed', 'entry']),
        /** When an exit or entry delay ends. */
        until: Timestamp.nullable(),
      }),
    )
    .max(99)
    .optional(),
  /** The answer to the last command that asked for one (an arming with a user's code). */
  command: z.strictObject({ id: z.uuid(), ok: z.boolean(), error: Text(300).optional() }).optional(),
});
export type GatewayStatus = z.infer<typeof GatewayStatusSchema>;

/** `json`: the payload as JSON.parse read it, before the schema (which may fill in defaults). */
export type ParseResult<T> = { ok: true; value: T; json: unknown } | { ok: false; reason: string };

/** Decode one wire payload: JSON first, then the schema; the reason names the offending field. */
export function decode<T>(schema: z.ZodType<T>, payload: Buffer | string): ParseResult<T> {
  let json: unknown;
  try {
    json = JSON.parse(typeof payload === 'string' ? payload : payload.toString('utf8'));
  } catch {
    return { ok: false, reason: 'payload is not valid JSON' };
  }
  const parsed = schema.safeParse(json);
  if (parsed.success) return { ok: true, value: parsed.data, json };
  const issue = parsed.error.issues[0];
  const where = issue?.path.length ? issue.path.join('.') : '(root)';
  return { ok: false, reason: `${where}: ${issue?.message ?? 'invalid'}` };
}

export function encode(message: AlarmEvent | Heartbeat | Ack | Command | GatewayStatus | Media): Buffer {
  return Buffer.from(JSON.stringify(message));
}

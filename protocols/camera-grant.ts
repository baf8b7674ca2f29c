import { createPublicKey, type KeyObject, sign, verify } from 'node:crypto';
import { z } from 'zod';
import type { EVENT_CLASSES } from './event-codes.ts';
import { IdentifierSchema } from './messages.ts';

/** SPEC §8: operators may look from an alarm event's start, for 15 minutes, never outside one. */
export const CAMERA_ACCESS_MS = 15 * 60_000;

/** The event classes whose alarms open camera access (a technical fault does not). */
export const CAMERA_EVENT_CLASSES: ReadonlySet<(typeof EVENT_CLASSES)[number]> = new Set([
  'security',
  'safety',
]);

/**
 * What the central signs and the gateway checks before it touches a camera: this site, this
 * gateway, this alarm event (whose start the gateway itself recorded), these cameras, this window.
 */
export const CameraGrantSchema = z.strictObject({
  id: z.uuid(),
  siteId: IdentifierSchema,
  gatewayId: IdentifierSchema,
  eventId: z.uuid(),
  cameras: z.array(IdentifierSchema).min(1).max(32),
  /** The alarm event's start (its `occurredAt`) and that plus 15 minutes, in ms since the epoch. */
  notBefore: z.number().int(),
  notAfter: z.number().int(),
  operator: z.string().min(1).max(120),
});
export type CameraGrant = z.infer<typeof CameraGrantSchema>;

/** `base64url(JSON) "." base64url(Ed25519 signature over the first part)`. */
export function signGrant(grant: CameraGrant, privateKey: KeyObject): string {
  const body = Buffer.from(JSON.stringify(CameraGrantSchema.parse(grant))).toString('base64url');
  return `${body}.${sign(null, Buffer.from(body), privateKey).toString('base64url')}`;
}

/** The central's grant-signing key as gateways are configured with it: base64url of the raw 32 bytes. */
export function grantKeyFromRaw(raw: string): KeyObject {
  const bytes = Buffer.from(raw, 'base64url');
  if (bytes.length !== 32) throw new Error('a grant key is 32 bytes (Ed25519), base64url');
  return createPublicKey({
    key: { kty: 'OKP', crv: 'Ed25519', x: bytes.toString('base64url') },
    format: 'jwk',
  });
}

export function rawGrantKey(publicKey: KeyObject): string {
  const jwk = publicKey.export({ format: 'jwk' });
  if (jwk.crv !== 'Ed25519' || !jwk.x) throw new Error('not an Ed25519 key');
  return jwk.x;
}

export type GrantRefusal =
  | 'malformed'
  | 'bad-signature'
  | 'other-site'
  | 'other-gateway'
  | 'camera-not-granted'
  | 'not-yet-valid'
  | 'expired'
  | 'too-long';

export type GrantCheck = { ok: true; grant: CameraGrant } | { ok: false; reason: GrantRefusal };

/** Check a grant for one camera of this gateway at `now` (the gateway's clock). */
export function checkGrant(
  token: string,
  publicKey: KeyObject,
  expected: { siteId: string; gatewayId: string; cameraId: string; now: number },
): GrantCheck {
  const [body, signature, extra] = token.split('.');
  if (!body || !signature || extra !== undefined) return { ok: false, reason: 'malformed' };
  let valid = false;
  try {
    valid = verify(null, Buffer.from(body), publicKey, Buffer.from(signature, 'base64url'));
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  if (!valid) return { ok: false, reason: 'bad-signature' };
  let grant: CameraGrant;
  try {
    grant = CameraGrantSchema.parse(JSON.parse(Buffer.from(body, 'base64url').toString('utf8')));
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  if (grant.siteId !== expected.siteId) return { ok: false, reason: 'other-site' };
  if (grant.gatewayId !== expected.gatewayId) return { ok: false, reason: 'other-gateway' };
  if (!grant.cameras.includes(expected.cameraId)) return { ok: false, reason: 'camera-not-granted' };
  if (grant.notAfter - grant.notBefore > CAMERA_ACCESS_MS) return { ok: false, reason: 'too-long' };
  if (expected.now < grant.notBefore) return { ok: false, reason: 'not-yet-valid' };
  if (expected.now >= grant.notAfter) return { ok: false, reason: 'expired' };
  return { ok: true, grant };
}

import { generateKeyPairSync, randomUUID } from 'node:crypto';
import test from 'ava';
import { centralEvent } from '../central/supervision/central-event.ts';
import { CameraAccess } from '../gateway/camera-access.ts';
import { testCard } from '../hardware/camera/simulated-camera.ts';
import { ManualClock } from '../lib/clock.ts';
import { silentLogger } from '../lib/logger.ts';
import { Metrics } from '../lib/metrics.ts';
import {
  CAMERA_ACCESS_MS,
  type CameraGrant,
  checkGrant,
  grantKeyFromRaw,
  rawGrantKey,
  signGrant,
} from '../protocols/camera-grant.ts';
import type { Command } from '../protocols/messages.ts';

const central = generateKeyPairSync('ed25519');
const intruder = generateKeyPairSync('ed25519');
const START = Date.UTC(2026, 10, 21, 2, 0, 0);
const grant = (overrides: Partial<CameraGrant> = {}): CameraGrant => ({
  id: randomUUID(),
  siteId: 'site-a',
  gatewayId: 'gw-a',
  eventId: randomUUID(),
  cameras: ['garden', 'hall'],
  notBefore: START,
  notAfter: START + CAMERA_ACCESS_MS,
  operator: 'operator:alice',
  ...overrides,
});
const expect = (now: number, cameraId = 'garden') => ({ siteId: 'site-a', gatewayId: 'gw-a', cameraId, now });
// Gateways are configured with the raw key: check through that form, as they do.
const gatewayKey = grantKeyFromRaw(rawGrantKey(central.publicKey));

test('a grant is valid from the alarm event start for 15 minutes, never before or after', (t) => {
  const token = signGrant(grant(), central.privateKey);
  t.deepEqual(checkGrant(token, gatewayKey, expect(START - 1)), { ok: false, reason: 'not-yet-valid' });
  t.true(checkGrant(token, gatewayKey, expect(START)).ok);
  t.true(checkGrant(token, gatewayKey, expect(START + 14 * 60_000 + 59_999)).ok);
  t.deepEqual(checkGrant(token, gatewayKey, expect(START + CAMERA_ACCESS_MS)), {
    ok: false,
    reason: 'expired',
  });
  t.deepEqual(checkGrant(token, gatewayKey, expect(START + 3_600_000)), { ok: false, reason: 'expired' });
});

test('a grant opens only its site, its gateway and its cameras', (t) => {
  const token = signGrant(grant(), central.privateKey);
  const at = START + 60_000;
  t.deepEqual(checkGrant(token, gatewayKey, { ...expect(at), siteId: 'site-b' }), {
    ok: false,
    reason: 'other-site',
  });
  t.deepEqual(checkGrant(token, gatewayKey, { ...expect(at), gatewayId: 'gw-b' }), {
    ok: false,
    reason: 'other-gateway',
  });
  t.deepEqual(checkGrant(token, gatewayKey, expect(at, 'bedroom')), {
    ok: false,
    reason: 'camera-not-granted',
  });
  t.true(checkGrant(token, gatewayKey, expect(at, 'hall')).ok);
});

test('forged, altered, stretched or garbled grants are refused', (t) => {
  const at = START + 60_000;
  const forged = signGrant(grant(), intruder.privateKey);
  t.deepEqual(checkGrant(forged, gatewayKey, expect(at)), { ok: false, reason: 'bad-signature' });

  const [body, signature] = signGrant(grant(), central.privateKey).split('.') as [string, string];
  const widened = {
    ...JSON.parse(Buffer.from(body, 'base64url').toString()),
    cameras: ['garden', 'bedroom'],
  };
  const altered = `${Buffer.from(JSON.stringify(widened)).toString('base64url')}.${signature}`;
  t.deepEqual(checkGrant(altered, gatewayKey, expect(at, 'bedroom')), { ok: false, reason: 'bad-signature' });

  const stretched = signGrant(grant({ notAfter: START + CAMERA_ACCESS_MS + 1 }), central.privateKey);
  t.deepEqual(checkGrant(stretched, gatewayKey, expect(at)), { ok: false, reason: 'too-long' });

  for (const garbage of ['', 'abc', 'a.b.c', `${body}.`, `.${signature}`, `${body}.!!!`]) {
    t.false(checkGrant(garbage, gatewayKey, expect(at)).ok, garbage);
  }
  t.throws(() => grantKeyFromRaw('short'), { message: /32 bytes/ });
});

function gatewaySide(options: { key?: boolean } = {}) {
  const clock = new ManualClock(START);
  const metrics = new Metrics();
  const asked: string[] = [];
  const access = new CameraAccess({
    siteId: 'site-a',
    gatewayId: 'gw-a',
    grantKey: options.key === false ? null : gatewayKey,
    clock,
    logger: silentLogger,
    metrics,
    snapshot: (cameraId) => {
      if (cameraId !== 'garden') return null;
      asked.push(cameraId);
      return Promise.resolve({ contentType: 'image/png', body: testCard(clock.now()), takenAt: clock.now() });
    },
  });
  const burglary = {
    ...centralEvent('burglary', 'event', { siteId: 'site-a', gatewayId: 'gw-a' }, START, null, 'hall PIR'),
    seq: 1,
  };
  const command = (token: string, cameraId = 'garden') =>
    ({
      v: 1,
      type: 'command',
      id: randomUUID(),
      issuedAt: new Date(clock.now()).toISOString(),
      issuedBy: 'operator:alice',
      command: { name: 'camera-snapshot', cameraId, grant: token },
    }) as Command & { command: { name: 'camera-snapshot' } };
  return { clock, metrics, asked, access, burglary, command };
}

test('the gateway answers a valid grant for an alarm event it raised itself, and logs it', async (t) => {
  const g = gatewaySide();
  g.access.noteEvent(g.burglary);
  g.clock.advance(5 * 60_000);
  const token = signGrant(grant({ eventId: g.burglary.id }), central.privateKey);
  const media = await g.access.snapshot(g.command(token));
  t.true(media.result.ok);
  if (media.result.ok) {
    t.is(media.result.contentType, 'image/png');
    t.deepEqual(Buffer.from(media.result.data, 'base64').subarray(1, 4).toString(), 'PNG');
  }
  t.deepEqual(g.asked, ['garden']);
  t.like(g.access.log[0], {
    granted: true,
    operator: 'operator:alice',
    eventId: g.burglary.id,
    cameraId: 'garden',
  });

  g.clock.advance(10 * 60_000);
  const late = await g.access.snapshot(g.command(token));
  t.deepEqual(late.result, { ok: false, error: 'refused: expired' });
  t.is(g.asked.length, 1, 'the camera was not touched');
  t.is(g.metrics.get('camera_access_refused_total', { reason: 'expired' }), 1);
});

test('the gateway refuses grants for events it never raised, technical events, or without a key', async (t) => {
  const g = gatewaySide();
  // A central (or a stolen signing key) cannot invent an alarm event to look in.
  const invented = await g.access.snapshot(g.command(signGrant(grant(), central.privateKey)));
  t.deepEqual(invented.result, { ok: false, error: 'refused: unknown-event' });

  // Its own event, but a grant that moves its start earlier to stretch the window.
  g.access.noteEvent(g.burglary);
  const shifted = signGrant(
    grant({ eventId: g.burglary.id, notBefore: START - 60_000, notAfter: START + CAMERA_ACCESS_MS - 60_000 }),
    central.privateKey,
  );
  t.deepEqual((await g.access.snapshot(g.command(shifted))).result, {
    ok: false,
    error: 'refused: unknown-event',
  });

  const mains = {
    ...centralEvent('mains-loss', 'event', { siteId: 'site-a', gatewayId: 'gw-a' }, START, null, ''),
    seq: 2,
  };
  g.access.noteEvent(mains);
  const technical = signGrant(grant({ eventId: mains.id }), central.privateKey);
  t.deepEqual((await g.access.snapshot(g.command(technical))).result, {
    ok: false,
    error: 'refused: unknown-event',
  });

  const noSnapshot = signGrant(grant({ eventId: g.burglary.id }), central.privateKey);
  t.deepEqual((await g.access.snapshot(g.command(noSnapshot, 'hall'))).result, {
    ok: false,
    error: 'refused: no-snapshot-camera',
  });
  t.deepEqual(g.asked, []);
  t.is(g.access.log.length, 4);
  t.true(g.access.log.every((entry) => !entry.granted));

  const keyless = gatewaySide({ key: false });
  keyless.access.noteEvent(keyless.burglary);
  const refused = await keyless.access.snapshot(
    keyless.command(signGrant(grant({ eventId: keyless.burglary.id }), central.privateKey)),
  );
  t.deepEqual(refused.result, { ok: false, error: 'refused: no grant key configured' });
});

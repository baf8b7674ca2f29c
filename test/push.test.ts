import { createECDH, createPublicKey, randomBytes, verify } from 'node:crypto';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import test from 'ava';
import { decrypt } from 'http_ece';
import { changePin, createContact } from '../central/contacts.ts';
import { centralEvent } from '../central/supervision/central-event.ts';
import { ensureTlsMaterial } from '../central/tls/certificates.ts';
import { encode } from '../protocols/messages.ts';
import { topicFor } from '../protocols/topics.ts';
import { apiClient, connectAsGateway, eventually, startTestCentral, tempDir } from './helpers/central.ts';

interface Received {
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** A push service (as run by browser vendors): HTTPS, answers 201, or 410 for a device that unsubscribed. */
async function startPushService(gonePaths: ReadonlySet<string>) {
  const tls = await ensureTlsMaterial(path.join(tempDir('push'), 'tls'), []);
  const received: Received[] = [];
  const server = https.createServer({ key: tls.key, cert: tls.cert }, (request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({ path: request.url ?? '', headers: request.headers, body: Buffer.concat(chunks) });
      response.writeHead(gonePaths.has(request.url ?? '') ? 410 : 201).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `https://localhost:${(server.address() as AddressInfo).port}`;
  return { ca: tls.ca, origin, received, close: () => new Promise((resolve) => server.close(resolve)) };
}

/** What a browser's PushManager.subscribe() yields: an endpoint and the keys to encrypt to it. */
function browserSubscription(endpoint: string) {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  const auth = randomBytes(16).toString('base64url');
  return {
    ecdh,
    auth,
    json: { endpoint, keys: { p256dh: ecdh.getPublicKey().toString('base64url'), auth } },
  };
}

/** Check a VAPID JWT (ES256) against the raw P-256 public key the central publishes. */
function verifyVapid(authorization: string, publicKey: string) {
  const match = /^vapid t=([\w-]+\.[\w-]+\.[\w-]+), k=([\w-]+)$/.exec(authorization);
  if (!match) throw new Error(`not a VAPID authorization: ${authorization}`);
  const [header, claims, signature] = match[1]!.split('.') as [string, string, string];
  const raw = Buffer.from(publicKey, 'base64url');
  const key = createPublicKey({
    key: {
      kty: 'EC',
      crv: 'P-256',
      x: raw.subarray(1, 33).toString('base64url'),
      y: raw.subarray(33, 65).toString('base64url'),
    },
    format: 'jwk',
  });
  const valid = verify(
    'sha256',
    Buffer.from(`${header}.${claims}`),
    { key, dsaEncoding: 'ieee-p1363' },
    Buffer.from(signature, 'base64url'),
  );
  return {
    k: match[2],
    valid,
    header: JSON.parse(Buffer.from(header, 'base64url').toString()),
    claims: JSON.parse(Buffer.from(claims, 'base64url').toString()),
  };
}

test('formula APP: a technical alarm reaches the customer app over Web Push, encrypted and VAPID-signed', async (t) => {
  const pushService = await startPushService(new Set(['/push/old-phone']));
  t.teardown(() => pushService.close());
  const env = await startTestCentral({
    notify: { pushCa: pushService.ca, pushSubject: 'mailto:arc@example.test' },
  });
  t.teardown(() => env.stop());
  const pool = env.central.pool;
  const gw = await connectAsGateway(env, 'site-app', 'gw-app');
  t.teardown(() => gw.endAsync());
  await pool.query(`UPDATE sites SET formula = 'APP' WHERE id = 'site-app'`);
  const anna = await createContact(pool, { siteId: 'site-app', name: 'Anna', role: 'authorised' }, 'test');
  await changePin(pool, 'site-app', anna.idCode, anna.defaultPin, '2468', 'test');
  const app = apiClient(env.central.httpUrl, '');

  const { publicKey } = (await app('GET', '/api/push/key')).body;
  t.is(Buffer.from(publicKey, 'base64url').length, 65, 'an uncompressed P-256 point');
  const phone = browserSubscription(`${pushService.origin}/push/anna-phone`);
  const oldPhone = browserSubscription(`${pushService.origin}/push/old-phone`);
  const subscribe = (subscription: object, pin = '2468') =>
    app('POST', '/api/push/subscriptions', { siteId: 'site-app', idCode: anna.idCode, pin, subscription });

  t.deepEqual(await subscribe(phone.json, '1357'), { status: 403, body: { error: 'code not accepted' } });
  const plainHttp = await subscribe({ ...phone.json, endpoint: 'http://push.example/x' });
  t.is(plainHttp.status, 400);
  t.regex(plainHttp.body.error, /endpoint/);
  t.is((await subscribe(phone.json)).status, 201);
  t.is((await subscribe(oldPhone.json)).status, 201);

  const water = {
    ...centralEvent(
      'water',
      'event',
      { siteId: 'site-app', gatewayId: 'gw-app' },
      Date.now(),
      null,
      'kitchen',
    ),
    seq: 1,
  };
  await gw.publishAsync(topicFor('site-app', 'gw-app', 'event'), encode(water), { qos: 1 });

  const delivery = await eventually(async () => {
    const { rows } = await pool.query(
      `SELECT x.reason FROM alarm_actions x JOIN alarms a ON a.id = x.alarm_id
        WHERE a.event_id = $1 AND x.action = 'delivery'`,
      [water.id],
    );
    return rows[0];
  }, 'the push delivery in the trail');
  t.is(delivery.reason, 'pushed to 1 device(s), 1 unsubscribed device(s) removed');

  const message = pushService.received.find((r) => r.path === '/push/anna-phone');
  t.truthy(message);
  t.is(message!.headers['content-encoding'], 'aes128gcm');
  t.is(message!.headers.ttl, '3600');
  t.is(message!.headers.urgency, 'high');
  const vapid = verifyVapid(String(message!.headers.authorization), publicKey);
  t.true(vapid.valid, 'signed with the central VAPID key');
  t.is(vapid.k, publicKey);
  t.is(vapid.header.alg, 'ES256');
  t.is(vapid.claims.aud, pushService.origin);
  t.is(vapid.claims.sub, 'mailto:arc@example.test');
  t.true(vapid.claims.exp * 1000 > Date.now() && vapid.claims.exp * 1000 <= Date.now() + 24 * 3_600_000);

  const payload = JSON.parse(
    decrypt(message!.body, {
      version: 'aes128gcm',
      privateKey: phone.ecdh,
      authSecret: phone.auth,
    }).toString(),
  );
  t.like(payload, { title: 'Vigil — site-app' });
  t.regex(payload.body, /Water.*handled in the app/i);
  t.throws(() =>
    decrypt(message!.body, { version: 'aes128gcm', privateKey: oldPhone.ecdh, authSecret: oldPhone.auth }),
  );

  const { rows } = await pool.query(
    'SELECT endpoint, last_sent_at FROM push_subscriptions WHERE site_id = $1',
    ['site-app'],
  );
  t.deepEqual(
    rows.map((r) => r.endpoint),
    [phone.json.endpoint],
    'the push service said the old phone is gone',
  );
  t.truthy(rows[0].last_sent_at);

  t.is(
    (await app('DELETE', '/api/push/subscriptions', { endpoint: phone.json.endpoint, auth: 'x' })).status,
    404,
  );
  t.deepEqual(
    await app('DELETE', '/api/push/subscriptions', { endpoint: phone.json.endpoint, auth: phone.auth }),
    {
      status: 200,
      body: { subscribed: false },
    },
  );
  t.is(env.metrics.get('pushes_sent_total'), 1);
});

test('every formula: alarms the operators handle and each arm or disarm reach the phone in words; a duress never', async (t) => {
  const pushService = await startPushService(new Set());
  t.teardown(() => pushService.close());
  const env = await startTestCentral({ notify: { pushCa: pushService.ca } });
  t.teardown(() => env.stop());
  const pool = env.central.pool;
  const gw = await connectAsGateway(env, 'site-full', 'gw-full');
  t.teardown(() => gw.endAsync());
  await pool.query(`UPDATE sites SET name = 'Villa Zon', formula = 'FULL' WHERE id = 'site-full'`);
  const bo = await createContact(pool, { siteId: 'site-full', name: 'Bo', role: 'authorised' }, 'test');
  await changePin(pool, 'site-full', bo.idCode, bo.defaultPin, '2468', 'test');
  const app = apiClient(env.central.httpUrl, '');
  const phone = browserSubscription(`${pushService.origin}/push/bo-phone`);
  t.is(
    (
      await app('POST', '/api/push/subscriptions', {
        siteId: 'site-full',
        idCode: bo.idCode,
        pin: '2468',
        subscription: phone.json,
      })
    ).status,
    201,
  );
  const source = { siteId: 'site-full', gatewayId: 'gw-full' };
  const send = (event: object) =>
    gw.publishAsync(topicFor('site-full', 'gw-full', 'event'), encode(event as never), { qos: 1 });
  const at = Date.now();
  await send({ ...centralEvent('duress', 'event', source, at, null, 'disarmed by Bo'), seq: 1 });
  await send({
    ...centralEvent('opening-closing', 'restore', source, at + 1, null, 'armed away by Bo'),
    seq: 2,
  });
  await send({
    ...centralEvent('burglary', 'event', source, at + 2, null, 'hall', { id: 'hall', name: 'Hall motion' }),
    seq: 3,
  });
  const read = (message: Received) =>
    JSON.parse(
      decrypt(message.body, {
        version: 'aes128gcm',
        privateKey: phone.ecdh,
        authSecret: phone.auth,
      }).toString(),
    );
  const messages = await eventually(async () => {
    await env.central.settled();
    return pushService.received.length >= 2 ? pushService.received.map(read) : null;
  }, 'two pushes');
  t.deepEqual(messages.map((m: { title: string; body: string }) => `${m.title} | ${m.body}`).sort(), [
    'Villa Zon: Burglary | Hall motion. The alarm centre is handling it.',
    'Villa Zon: armed | armed away by Bo',
  ]);
  t.false(JSON.stringify(messages).includes('Duress'), 'a duress alarm is silent towards the premises');
});

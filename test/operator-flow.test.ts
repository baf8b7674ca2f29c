import fs from 'node:fs';
import test from 'ava';
import mqtt from 'mqtt';
import { Central } from '../central/central.ts';
import { changePin, createContact } from '../central/contacts.ts';
import { upsertOperator, upsertSite } from '../central/records.ts';
import { createLogger } from '../lib/logger.ts';
import { Metrics } from '../lib/metrics.ts';
import { encode } from '../protocols/messages.ts';
import { gatewayClientId, topicFor } from '../protocols/topics.ts';
import { apiClient, eventually, loginCookie, OPERATOR, tempDir } from './helpers/central.ts';
import { sampleEvent } from './helpers/events.ts';

function central(dataDir: string, metrics = new Metrics()) {
  return new Central({
    dataDir,
    httpHost: '127.0.0.1',
    httpPort: 0,
    mqttHost: '127.0.0.1',
    mqttPort: 0,
    dc09Host: '127.0.0.1',
    dc09Port: 0,
    logger: createLogger('test-central', process.env.VIGIL_LOG_LEVEL ?? 'silent'),
    metrics,
  });
}

test('an operator works an alarm: proposed calls, outcomes, ID code + PIN, close with a reason; a restart resumes it', async (t) => {
  const dataDir = tempDir('operator-flow');
  let c = central(dataDir);
  await c.start();
  t.teardown(async () => {
    await c.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
  const pool = c.pool;
  await upsertSite(pool, { id: 'site-op', name: 'Bakker', address: 'Dorpsstraat 2' }, 'test');
  await pool.query(
    `UPDATE sites SET premises_phone = '+31201112222', activated_at = now() - interval '60 days' WHERE id = 'site-op'`,
  );
  const kees = await createContact(
    pool,
    { siteId: 'site-op', name: 'Kees', role: 'keyholder', order: 1, phone: '+31611111111' },
    'test',
  );
  await createContact(
    pool,
    { siteId: 'site-op', name: 'Karin', role: 'keyholder', order: 2, phone: '+31622222222' },
    'test',
  );
  await changePin(pool, 'site-op', kees.idCode, kees.defaultPin, '8642', 'test');
  await upsertOperator(
    pool,
    { username: OPERATOR.username, displayName: 'Alice', password: OPERATOR.password, role: 'operator' },
    'test',
  );

  const secret = await c.issueGatewaySecret('site-op', 'gw-op', 'test');
  const gw = await mqtt.connectAsync(c.mqttUrl, {
    username: 'gw-op',
    password: secret,
    clientId: gatewayClientId('gw-op'),
    reconnectPeriod: 0,
  });
  const event = sampleEvent({ siteId: 'site-op', gatewayId: 'gw-op' });
  await gw.publishAsync(topicFor('site-op', 'gw-op', 'event'), encode(event), { qos: 1 });
  await gw.endAsync();

  const url = () => c.httpUrl;
  let api = apiClient(url(), await loginCookie(url()));
  const upsertAndLogin = async (username: string) => {
    await upsertOperator(
      pool,
      { username, displayName: username, password: 'another password 1', role: 'operator' },
      'test',
    );
    return apiClient(url(), await loginCookie(url(), username, 'another password 1'));
  };
  const queue = await eventually(async () => {
    const { body } = await api('GET', '/api/alarms');
    return body.alarms.find(
      (a: { eventId: string; proposal: unknown }) => a.eventId === event.id && a.proposal,
    );
  }, 'the alarm with its proposed step');
  const alarmId = queue.alarmId as string;
  const other = await upsertAndLogin('bob');
  t.like((await api('POST', `/api/alarms/${alarmId}/outcome`, { outcome: 'no-answer' })).body, {
    error: 'claim the alarm first',
  });
  t.is((await api('POST', `/api/alarms/${alarmId}/claim`)).status, 200);
  t.like((await other('POST', `/api/alarms/${alarmId}/claim`)).body, { error: 'claimed by Alice' });
  t.like((await other('POST', `/api/alarms/${alarmId}/outcome`, { outcome: 'no-answer' })).body, {
    error: 'claimed by Alice',
  });
  t.like(queue.proposal, { kind: 'call', startedAt: null });
  t.regex(queue.proposal.label, /^call premises/);

  // The answer time starts when the operator starts the call.
  const ringing = await api('POST', `/api/alarms/${alarmId}/outcome`, { outcome: 'call-started' });
  t.truthy(ringing.body.proposal.startedAt);
  t.true(Date.parse(ringing.body.proposal.until) - Date.parse(ringing.body.proposal.startedAt) === 30_000);
  t.like((await api('POST', `/api/alarms/${alarmId}/outcome`, { outcome: 'no-answer' })).body.proposal, {
    kind: 'call',
  });
  let detail = await api('GET', `/api/alarms/${alarmId}`);
  t.regex(detail.body.proposal.label, /^call keyholder 1 Kees/);
  // A step that is not proposed is refused with the reason, and nothing is recorded.
  const refused = await api('POST', `/api/alarms/${alarmId}/outcome`, { outcome: 'consulted' });
  t.is(refused.status, 409);
  t.regex(refused.body.error, /no consultation is proposed/);

  // Kees gives a wrong PIN: no information, the procedure goes on to the next keyholder.
  const wrong = await api('POST', `/api/alarms/${alarmId}/code-check`, { idCode: kees.idCode, pin: '0000' });
  t.deepEqual(wrong.body.result, 'not-accepted');
  detail = await api('GET', `/api/alarms/${alarmId}`);
  t.regex(detail.body.proposal.label, /keyholder 2 Karin/);

  // Restart the central in the middle of the handling: the same step is proposed again.
  const before = detail.body.proposal;
  /** Stops the central, starts it again on the same data and returns its metrics and the step it proposes. */
  const restart = async () => {
    await c.stop();
    const metrics = new Metrics();
    c = central(dataDir, metrics);
    await c.start();
    api = apiClient(url(), await loginCookie(url()));
    detail = await api('GET', `/api/alarms/${alarmId}`);
    return { metrics, proposal: detail.body.proposal };
  };
  const restarted = await restart();
  t.deepEqual(restarted.proposal, before, 'rebuilt from the snapshot taken at the stop');
  t.is(restarted.metrics.get('procedure_inputs_replayed_total'), 0, 'nothing to replay after the snapshot');
  const { rows: snapshots } = await c.pool.query<{ n: number; compressed: boolean }>(
    `SELECT count(*)::int AS n, bool_and(state IS NULL AND state_gzip IS NOT NULL) AS compressed
       FROM procedure_snapshots`,
  );
  t.true(snapshots[0]!.n >= 1);
  t.true(snapshots[0]!.compressed, 'snapshots are stored compressed');

  // A damaged snapshot: counted, and the partition rebuilt from its inputs to the same step. (Nothing
  // happened since the restart, so the stop takes no new snapshot over it.)
  const damaged = await c.pool.query(`UPDATE procedure_snapshots SET state_gzip = '\\x1f8b0800'::bytea`);
  t.true((damaged.rowCount ?? 0) >= 1);
  const rebuilt = await restart();
  t.deepEqual(rebuilt.proposal, before, 'rebuilt from the inputs');
  t.true(rebuilt.metrics.get('procedure_snapshots_unreadable_total') >= 1);
  t.true(rebuilt.metrics.get('procedure_inputs_replayed_total') > 0);

  await api('POST', `/api/alarms/${alarmId}/outcome`, { outcome: 'no-answer' });
  const valid = await api('POST', `/api/alarms/${alarmId}/code-check`, { idCode: kees.idCode, pin: '8642' });
  t.is(valid.body.result, 'valid');
  t.like(valid.body.proposal, { kind: 'close' });
  const closed = await api('POST', `/api/alarms/${alarmId}/outcome`, { outcome: 'close-false' });
  t.is(closed.body.alarm.status, 'closed');
  t.is(closed.body.alarm.closeReason, 'closed by operator: false alarm');

  const trail = (await api('GET', `/api/alarms/${alarmId}`)).body.actions as Array<{
    actor: string;
    sort: string;
    action: string;
    target: string;
  }>;
  // The trail says what the engine proposed and what the operator did — no call by "(engine)".
  t.deepEqual(
    trail.map(
      (a) =>
        `${a.sort} ${a.action}${a.sort === 'outcome' && a.action === 'recorded' ? ` ${a.target}` : ''} ${a.actor}`,
    ),
    [
      'fact start system',
      'proposal call engine',
      'outcome claim operator:alice',
      'outcome recorded call-started operator:alice',
      'outcome recorded no-answer operator:alice',
      'proposal call engine',
      'outcome recorded answered-invalid-code operator:alice',
      'proposal call engine',
      'outcome recorded no-answer operator:alice',
      'proposal call engine',
      'outcome recorded answered-valid-code operator:alice',
      'proposal present engine',
      'outcome recorded close-false operator:alice',
      'fact count-handling system',
      'fact close system',
    ],
  );
  t.false(
    trail.some((a) => a.actor === 'engine' && a.sort !== 'proposal'),
    'the engine only proposes',
  );
  await t.throwsAsync(c.pool.query('UPDATE alarm_actions SET reason = $1', ['x']), {
    message: /append-only/,
  });
  t.is((await api('POST', `/api/alarms/${alarmId}/outcome`, { outcome: 'bogus' })).status, 400);
  t.is((await api('GET', '/api/alarms/99999999')).status, 404);
});

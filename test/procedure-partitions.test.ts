import { writeFileSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import mqtt, { type MqttClient } from 'mqtt';
import pg from 'pg';
import { createContact } from '../central/contacts.ts';
import {
  DEFAULT_ESCALATION,
  type EscalationTable,
  readEscalationFile,
} from '../central/incidents/escalation.ts';
import { ProcedureInbox } from '../central/procedures/inbox.ts';
import { NotOwner, PartitionRunner } from '../central/procedures/partition-runner.ts';
import {
  claimPartition,
  holdsPartition,
  PARTITIONS,
  partitionOf,
  partitionSql,
} from '../central/procedures/partitions.ts';
import { silentLogger } from '../lib/logger.ts';
import { Metrics } from '../lib/metrics.ts';
import { encode } from '../protocols/messages.ts';
import { gatewayClientId, topicFor } from '../protocols/topics.ts';
import {
  apiClient,
  eventually,
  loginCookie,
  startTestCentral,
  type TestCentral,
  tempDir,
} from './helpers/central.ts';
import { startCentralWorker } from './helpers/central-worker.ts';
import { sampleEvent } from './helpers/events.ts';

// An unattended burglary reaches "attention" after 5 s (30 s by default).
const ESCALATION: EscalationTable = {
  ...DEFAULT_ESCALATION,
  security: { attention: 5, urgent: 600, supervisor: 1200 },
};

function databaseUrlOf(pool: pg.Pool): string {
  return (pool as unknown as { options: { connectionString: string } }).options.connectionString;
}

interface Site {
  readonly siteId: string;
  readonly gatewayId: string;
  readonly client: MqttClient;
  seq: number;
}

async function addSite(env: TestCentral, siteId: string): Promise<Site> {
  const gatewayId = `gw-${siteId}`;
  const secret = await env.addGateway(siteId, gatewayId);
  const pool = env.central.pool;
  await pool.query(
    `UPDATE sites SET premises_phone = '+31201112222', activated_at = now() - interval '60 days' WHERE id = $1`,
    [siteId],
  );
  await createContact(
    pool,
    { siteId, name: 'Kees', role: 'keyholder', order: 1, phone: '+31611111111' },
    'test',
  );
  const client = await mqtt.connectAsync(env.central.mqttUrl, {
    username: gatewayId,
    password: secret,
    clientId: gatewayClientId(gatewayId),
    reconnectPeriod: 0,
  });
  return { siteId, gatewayId, client, seq: 0 };
}

function alarm(site: Site, zone: number): Promise<unknown> {
  const event = sampleEvent({
    siteId: site.siteId,
    gatewayId: site.gatewayId,
    seq: site.seq++,
    zone,
    device: null,
  });
  return site.client.publishAsync(topicFor(site.siteId, site.gatewayId, 'event'), encode(event), { qos: 1 });
}

/** Site ids whose partitions the given test picks, `count` of each. */
function sitesIn(prefix: string, partitions: ReadonlySet<number>, count: number, inside: boolean): string[] {
  const ids: string[] = [];
  for (let i = 0; ids.length < count; i++) {
    const id = `${prefix}${i}`;
    if (partitions.has(partitionOf(id)) === inside) ids.push(id);
  }
  return ids;
}

test('procedures on two workers: each site run by one, outcomes through either; one killed mid-burst, the other takes over', async (t) => {
  // Two centrals, one a process of its own, and a takeover: longer than ava's idle limit on a busy machine.
  t.timeout(300_000);
  const env = await startTestCentral({ escalation: ESCALATION });
  t.teardown(() => env.stop());
  const pool = env.central.pool;
  const procedures = env.central.procedures;
  t.is(procedures.ownedPartitions.length, PARTITIONS, 'alone, a worker runs every partition');
  // The replay selects a partition's inputs in SQL: the same partition as the code computes.
  const ids = Array.from({ length: 500 }, (_, i) => `site-${i}-${'x'.repeat(i % 7)}`);
  const { rows: inSql } = await pool.query<{ id: string; partition: number }>(
    `SELECT id, ${partitionSql('id')} AS partition FROM unnest($1::text[]) AS id`,
    [ids],
  );
  t.deepEqual(
    inSql.map((r) => r.partition),
    ids.map((id) => partitionOf(id)),
  );
  t.is(new Set(ids.map((id) => partitionOf(id))).size, PARTITIONS, 'sites spread over every partition');

  const databaseUrl = databaseUrlOf(pool);
  // The same escalation table on both workers (a worker configured otherwise would take no partition).
  const escalationFile = path.join(tempDir('escalation'), 'escalation.json');
  writeFileSync(escalationFile, JSON.stringify(ESCALATION));
  const b = await startCentralWorker({ databaseUrl, escalationFile });
  t.teardown(() => b.process.kill('SIGKILL'));
  const partitionLocks = async () =>
    (
      await pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND classid = $1::oid AND granted`,
        [0x76_69_67_02],
      )
    ).rows[0]!.n;
  await eventually(
    async () =>
      procedures.ownedPartitions.length === PARTITIONS / 2 && (await partitionLocks()) === PARTITIONS,
    'the partitions shared half and half',
    30_000,
  );
  const onA = new Set(procedures.ownedPartitions);

  // One alarm at each of 8 sites run by A and 8 run by B; every one is stored (and its incident
  // opened) by A, which takes all the gateways' connections.
  const sites: Site[] = [];
  for (const id of [...sitesIn('site-a', onA, 8, true), ...sitesIn('site-b', onA, 8, false)])
    sites.push(await addSite(env, id));
  t.teardown(() => Promise.all(sites.map((s) => s.client.endAsync(true))));
  await Promise.all(sites.map((site) => alarm(site, 1)));

  const apiA = apiClient(env.central.httpUrl, await loginCookie(env.central.httpUrl));
  const apiB = apiClient(b.httpUrl, await loginCookie(b.httpUrl));
  const queueOf = async (api: typeof apiA) =>
    (await api('GET', '/api/alarms')).body.alarms as Array<{
      alarmId: string;
      siteId: string;
      proposal: { kind: string; label: string; startedAt: string | null } | null;
    }>;
  const first = await eventually(async () => {
    const queue = await queueOf(apiB);
    return queue.length === sites.length && queue.every((a) => a.proposal?.kind === 'call') ? queue : null;
  }, 'every incident with its first step, shown by either worker');
  t.deepEqual(
    (await queueOf(apiA)).map((a) => [a.alarmId, a.proposal]),
    first.map((a) => [a.alarmId, a.proposal]),
  );

  // Through B, on a site A runs: the claim and the call reach A's engine; a step it does not
  // propose is refused there and answered 409 here.
  const onASite = first.find((a) => onA.has(partitionOf(a.siteId)))!;
  t.is((await apiB('POST', `/api/alarms/${onASite.alarmId}/claim`)).status, 200);
  const refused = await apiB('POST', `/api/alarms/${onASite.alarmId}/outcome`, { outcome: 'consulted' });
  t.is(refused.status, 409);
  t.regex(refused.body.error, /no consultation is proposed/);
  const ringing = await apiB('POST', `/api/alarms/${onASite.alarmId}/outcome`, { outcome: 'call-started' });
  t.is(ringing.status, 200);
  t.truthy(ringing.body.proposal.startedAt, 'the answer time runs, as A recorded it');
  // Through A, on a site B runs: its card carries B's memory of the site.
  const onBSites = first.filter((a) => !onA.has(partitionOf(a.siteId)));
  const claimedOnB = onBSites[0]!;
  const card = await apiA('GET', `/api/alarms/${claimedOnB.alarmId}`);
  t.is(card.status, 200);
  t.is(card.body.site.status.falseAlarmsInThreeMonths, 0);
  t.is((await apiA('POST', `/api/alarms/${claimedOnB.alarmId}/claim`)).status, 200);
  t.is(
    (await apiA('POST', `/api/alarms/${claimedOnB.alarmId}/outcome`, { outcome: 'call-started' })).status,
    200,
  );

  // A burst at 24 more sites, B killed (-9) while it is under way.
  const burst: Site[] = [];
  for (let i = 0; i < 24; i++) burst.push(await addSite(env, `site-burst${i}`));
  // … and one more alarm, at a site B runs, whose escalation falls due only after the kill.
  const late = await addSite(env, sitesIn('site-late', onA, 1, false)[0]!);
  t.teardown(() => late.client.endAsync(true));
  t.teardown(() => Promise.all(burst.map((s) => s.client.endAsync(true))));
  const EVENTS = 3;
  const publishing = Promise.all(
    burst.map(async (site) => {
      for (let zone = 1; zone <= EVENTS; zone++) await alarm(site, zone);
    }),
  );
  const burstStored = async () =>
    (
      await pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM events WHERE site_id LIKE 'site-burst%'`,
      )
    ).rows[0]!.n;
  await eventually(async () => (await burstStored()) >= (burst.length * EVENTS) / 3, 'the burst under way');
  await alarm(late, 1);
  const unattended = await eventually(async () => {
    const { rows } = await pool.query<{ id: string; proposal: unknown }>(
      'SELECT id::text, proposal FROM alarms WHERE site_id = $1',
      [late.siteId],
    );
    return rows[0]?.proposal ? rows[0].id : null;
  }, 'the late alarm proposed by B');
  b.process.kill('SIGKILL');
  const escalatedBefore = env.metrics.get('procedure_actions_total', { action: 'escalate', sort: 'fact' });
  const killedAt = Date.now();
  await eventually(() => procedures.ownedPartitions.length === PARTITIONS, 'A runs every partition', 30_000);
  const takeover = Date.now() - killedAt;
  t.log(`takeover: every partition on the survivor ${takeover} ms after the kill`);
  t.true(takeover < 30_000);
  await publishing;

  // Counted at the operator: every burst incident once, each with its first step.
  const all = await eventually(
    async () => {
      const queue = await queueOf(apiA);
      const fromBurst = queue.filter((a) => a.siteId.startsWith('site-burst'));
      return fromBurst.length === burst.length && fromBurst.every((a) => a.proposal?.kind === 'call')
        ? queue
        : null;
    },
    'every burst incident handled',
    30_000,
  );
  t.is(new Set(all.map((a) => a.siteId)).size, all.length, 'one incident per site');
  await eventually(
    async () => (await pool.query('SELECT 1 FROM procedure_inbox LIMIT 1')).rows.length === 0,
    'nothing left waiting for an owner',
    30_000,
  );
  // Every event reached the engine of its site exactly once, whichever worker applied it.
  const applied = async () =>
    (
      await pool.query<{ inputs: number; events: number }>(
        `SELECT count(*)::int AS inputs, count(DISTINCT payload->'event'->>'id')::int AS events
           FROM procedure_inputs WHERE kind = 'event' AND site_id LIKE 'site-burst%'`,
      )
    ).rows[0]!;
  await eventually(
    async () => (await applied()).inputs >= burst.length * EVENTS,
    'every burst event applied',
    30_000,
  );
  t.deepEqual(await applied(), { inputs: burst.length * EVENTS, events: burst.length * EVENTS });
  // No step proposed twice and no escalation raised twice, whichever worker did it and whoever
  // took over (the escalations B raised before it died are replayed, not raised again).
  const { rows: repeated } = await pool.query(
    `SELECT alarm_id, action, target, count(*)::int AS n FROM alarm_actions
      WHERE sort = 'proposal' OR action = 'escalate' GROUP BY alarm_id, action, target, reason HAVING count(*) > 1`,
  );
  t.deepEqual(repeated, []);

  // The timers of B's partitions run on A: the incident nobody attended to escalates, once, there.
  await eventually(async () => {
    const { rows } = await pool.query<{ escalation: string | null }>(
      'SELECT escalation FROM alarms WHERE id = $1',
      [unattended],
    );
    return rows[0]?.escalation === 'attention';
  }, 'the unattended incident escalated by the survivor');
  const { rows: escalations } = await pool.query(
    `SELECT target FROM alarm_actions WHERE alarm_id = $1 AND action = 'escalate'`,
    [unattended],
  );
  t.deepEqual(escalations, [{ target: 'attention' }]);
  t.true(
    env.metrics.get('procedure_actions_total', { action: 'escalate', sort: 'fact' }) > escalatedBefore,
    'escalated by the survivor',
  );
  // And the claimed one B ran keeps its running call: the outcome goes on from where B left it.
  const noAnswer = await apiA('POST', `/api/alarms/${claimedOnB.alarmId}/outcome`, { outcome: 'no-answer' });
  t.is(noAnswer.status, 200);
  t.regex(noAnswer.body.proposal.label, /^call keyholder 1 Kees/);
});

test('an escalation table file is validated on load: each bad field named', (t) => {
  const dir = tempDir('escalation');
  const file = path.join(dir, 'escalation.json');
  writeFileSync(file, JSON.stringify(ESCALATION));
  t.deepEqual(readEscalationFile(file), ESCALATION);
  writeFileSync(
    file,
    JSON.stringify({
      ...ESCALATION,
      safety: { attention: 60, urgent: 30, supervisor: 90 },
      technical: undefined,
    }),
  );
  const error = t.throws(() => readEscalationFile(file));
  t.regex(error.message, /safety: ages must rise/);
  t.regex(error.message, /technical: /);
  writeFileSync(file, '{ not json');
  t.regex(t.throws(() => readEscalationFile(file)).message, /escalation table .*escalation\.json: /);
});

test('a step whose lease no longer holds its partition (another token written) commits nothing; the runner stops', async (t) => {
  const env = await startTestCentral();
  t.teardown(() => env.stop());
  const pool = env.central.pool;
  const siteId = 'site-fenced';
  await addSite(env, siteId).then((site) => site.client.endAsync(true));
  const partition = partitionOf(siteId);
  const inbox = new ProcedureInbox({
    pool,
    connect: () => new pg.Client({ connectionString: databaseUrlOf(pool) }),
    logger: silentLogger,
    metrics: new Metrics(),
    onWork: () => undefined,
  });
  let fenced = null as PartitionRunner | null;
  const metrics = new Metrics();
  // The central's own lease holds the partition: a fence with another token is a lease that lost it.
  const holder = await pool.query<{ holder: string }>(
    'SELECT holder FROM procedure_partition_holders WHERE partition = $1',
    [partition],
  );
  t.is(holder.rows.length, 1, "the central's lease wrote its token when it took the partition");
  const runner = new PartitionRunner({
    partition,
    pool,
    inbox,
    logger: silentLogger,
    metrics,
    notifier: null,
    escalation: undefined,
    partitions: PARTITIONS,
    fence: () => ({ partition, holder: 'a-lease-that-lost-it' }),
    onFenced: (r) => {
      fenced = r;
    },
  });
  const before = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM procedure_inputs');
  const event = sampleEvent({ siteId, gatewayId: `gw-${siteId}` });
  // An event the engine keeps nothing of writes nothing, fenced or not.
  await runner.input(siteId, { kind: 'event', event, alarmId: null }, 'system');
  t.true(runner.active);
  // A mains loss is always kept by the engine: it would have been recorded.
  await t.throwsAsync(
    () =>
      runner.input(
        siteId,
        { kind: 'event', event: { ...event, eventType: 'mains-loss' }, alarmId: null },
        'system',
      ),
    { instanceOf: NotOwner },
  );
  const after = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM procedure_inputs');
  t.is(after.rows[0]!.n, before.rows[0]!.n, 'nothing recorded');
  t.false(runner.active);
  t.is(fenced, runner);
  t.is(metrics.get('procedure_steps_fenced_total'), 1);
});

test("taking a partition over waits for the old holder's step in flight; after it, the old holder's steps are fenced", async (t) => {
  const env = await startTestCentral();
  t.teardown(() => env.stop());
  const url = databaseUrlOf(env.central.pool);
  const connect = async () => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    t.teardown(() => client.end());
    return client;
  };
  const [oldStep, newLease, laterStep] = await Promise.all([connect(), connect(), connect()]);
  // A partition number no worker runs, so that only this test writes its holder.
  const partition = 10_000;
  t.true(await claimPartition(newLease, partition, 'old-lease'));
  await oldStep.query('BEGIN');
  t.true(await holdsPartition(oldStep, { partition, holder: 'old-lease' }), 'the old holder steps');

  // The new holder's claim waits behind the step; the step commits; the claim goes through.
  const claimed = claimPartition(newLease, partition, 'new-lease');
  const newPid = (newLease as unknown as { processID: number }).processID;
  await eventually(async () => {
    const { rows } = await laterStep.query<{ waiting: boolean }>(
      `SELECT wait_event_type = 'Lock' AS waiting FROM pg_stat_activity WHERE pid = $1`,
      [newPid],
    );
    return rows[0]?.waiting === true;
  }, 'the claim waiting for the step in flight');
  await oldStep.query('COMMIT');
  t.true(await claimed);

  await laterStep.query('BEGIN');
  t.false(
    await holdsPartition(laterStep, { partition, holder: 'old-lease' }),
    'a later step of the old holder',
  );
  t.true(await holdsPartition(laterStep, { partition, holder: 'new-lease' }));
  // A step that does not end in time: the claim gives up (the lease tries again at a later pass).
  t.false(await claimPartition(newLease, partition, 'third-lease', 100));
  await laterStep.query('COMMIT');
  const { rows } = await laterStep.query<{ holder: string }>(
    'SELECT holder FROM procedure_partition_holders WHERE partition = $1',
    [partition],
  );
  t.deepEqual(rows, [{ holder: 'new-lease' }]);
});

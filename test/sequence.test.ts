import test from 'ava';
import { encode } from '../protocols/messages.ts';
import { topicFor } from '../protocols/topics.ts';
import { connectAsGateway, eventually, startTestCentral } from './helpers/central.ts';
import { sampleEvent } from './helpers/events.ts';

test('a hole in a gateway\u2019s sequence that stays open, and a number used twice, raise a trouble', async (t) => {
  const env = await startTestCentral();
  t.teardown(() => env.stop());
  const pool = env.central.pool;
  const send = async (siteId: string, gatewayId: string, seqs: number[]) => {
    const client = await connectAsGateway(env, siteId, gatewayId);
    for (const seq of seqs)
      await client.publishAsync(
        topicFor(siteId, gatewayId, 'event'),
        encode(
          sampleEvent({
            siteId,
            gatewayId,
            seq,
            eventType: 'periodic-test',
            code: { cid: '602', sia: 'RP' },
            class: 'technical',
            priority: 3,
          }),
        ),
        { qos: 1 },
      );
    await env.central.ingest.idle();
    await client.endAsync();
  };
  const troubles = async (siteId: string) =>
    (
      await pool.query<{ text: string }>(
        `SELECT text FROM events WHERE site_id = $1 AND event_type = 'system-trouble' ORDER BY received_at`,
        [siteId],
      )
    ).rows.map((r) => r.text);

  await send('site-gap', 'gw-gap', [0, 1, 2, 5, 6]);
  await send('site-late', 'gw-late', [0, 1, 4, 2, 3]);
  await env.central.superviseOnce(Date.now());
  t.deepEqual(await troubles('site-gap'), [], 'a hole gets time to fill (events come by priority)');
  await env.central.superviseOnce(Date.now() + 11 * 60_000);
  await env.central.settled();
  const gap = await eventually(async () => (await troubles('site-gap'))[0], 'the gap trouble');
  t.regex(gap, /Events 3–4 of gateway gw-gap never arrived \(2 missing\)/);
  t.deepEqual(await troubles('site-late'), [], 'a hole that filled raises nothing');

  await send('site-back', 'gw-back', [0, 1, 2, 3]);
  await send('site-back', 'gw-back', [0]);
  const reused = await eventually(async () => (await troubles('site-back'))[0], 'the reuse trouble');
  t.regex(reused, /sent sequence number 0 again for another event \(highest 3\)/);
  t.is(env.metrics.get('ingest_sequence_troubles_total', { kind: 'gap' }), 1);
  t.is(env.metrics.get('ingest_sequence_troubles_total', { kind: 'reused' }), 1);
});

import type { AddressInfo } from 'node:net';
import test from 'ava';
import smpp from 'smpp';
import { SMTPServer } from 'smtp-server';
import { createContact } from '../central/contacts.ts';
import { messageText } from '../central/notify/smpp-client.ts';
import { createInstaller, updateSiteSettings } from '../central/site-settings.ts';
import { encode } from '../protocols/messages.ts';
import { topicFor } from '../protocols/topics.ts';
import { connectAsGateway, eventually, startTestCentral } from './helpers/central.ts';
import { sampleEvent } from './helpers/events.ts';

/** A local SMSC: accepts one bind, records submitted messages, can send replies (MO SMS). */
async function startSmsc() {
  const submitted: Array<{ to: string; text: string }> = [];
  let bound: smpp.Session | null = null;
  const server = smpp.createServer({}, (session) => {
    session.on('error', () => undefined);
    session.on('bind_transceiver', (pdu) => {
      if (pdu.system_id !== 'vigil' || pdu.password !== 'smpp-secret') {
        session.send(pdu.response({ command_status: smpp.ESME_RBINDFAIL }));
        return;
      }
      bound = session;
      session.send(pdu.response());
    });
    session.on('submit_sm', (pdu) => {
      submitted.push({ to: pdu.destination_addr ?? '', text: messageText(pdu.short_message) });
      session.send(pdu.response({ message_id: `m${submitted.length}` }));
    });
    session.on('enquire_link', (pdu) => session.send(pdu.response()));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: server.address().port,
    submitted,
    reply: (from: string, text: string) =>
      bound?.deliver_sm({
        source_addr: from.replace(/^\+/, ''),
        destination_addr: 'Vigil',
        short_message: text,
      }),
    isBound: () => bound !== null,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function startSmtp() {
  const mails: Array<{ to: string[]; body: string }> = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    onData(stream, session, callback) {
      let body = '';
      stream.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      stream.on('end', () => {
        mails.push({ to: session.envelope.rcptTo.map((r) => r.address), body });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.server.address() as AddressInfo).port,
    mails,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

test('SMS escalation over a real SMPP link: "ok" closes, anything else goes to an operator; the installer gets e-mail', async (t) => {
  const smsc = await startSmsc();
  const smtp = await startSmtp();
  t.teardown(async () => {
    await smsc.close();
    await smtp.close();
  });
  const env = await startTestCentral({
    notify: {
      smppUrl: `smpp://vigil:smpp-secret@127.0.0.1:${smsc.port}`,
      smtpUrl: `smtp://127.0.0.1:${smtp.port}`,
    },
  });
  t.teardown(() => env.stop());
  const client = await connectAsGateway(env, 'site-sms', 'gw-sms');
  t.teardown(() => client.endAsync(true));
  const pool = env.central.pool;
  await pool.query(`UPDATE sites SET formula = 'MIX', premises_phone = '+31201113333' WHERE id = 'site-sms'`);
  const installerId = await createInstaller(
    pool,
    { company: 'Alarmtechniek BV', name: 'Ivo', email: 'install@example.test' },
    'test',
  );
  await updateSiteSettings(pool, 'site-sms', { installerId: Number(installerId) }, 'test');
  await createContact(
    pool,
    { siteId: 'site-sms', name: 'Kees', role: 'keyholder', order: 1, mobile: '+31611111111' },
    'test',
  );
  await createContact(
    pool,
    { siteId: 'site-sms', name: 'Karin', role: 'keyholder', order: 2, mobile: '+31622222222' },
    'test',
  );
  await env.central.procedures.reloadSite('site-sms');
  await eventually(() => smsc.isBound(), 'the SMPP bind');

  const publish = (event: ReturnType<typeof sampleEvent>) =>
    client.publishAsync(topicFor('site-sms', 'gw-sms', 'event'), encode(event), { qos: 1 });
  const water = {
    eventType: 'water',
    code: { cid: '113', sia: 'WA' },
    class: 'technical',
    priority: 3,
    zone: 2,
  } as const;
  const first = sampleEvent({ siteId: 'site-sms', gatewayId: 'gw-sms', ...water });
  await publish(first);
  await eventually(() => smsc.submitted.length === 1, 'the first escalation SMS');
  t.is(smsc.submitted[0]!.to, '31611111111');
  t.regex(smsc.submitted[0]!.text, /Water leak, zone 2, Site site-sms: reply "ok" within 90 s/);

  smsc.reply('+31611111111', 'OK');
  const status = async (eventId: string) =>
    (
      await pool.query<{ status: string; close_reason: string }>(
        'SELECT status, close_reason FROM alarms WHERE event_id = $1',
        [eventId],
      )
    ).rows[0];
  await eventually(async () => (await status(first.id))?.status === 'closed', 'the alarm closed by the "ok"');
  t.regex((await status(first.id))!.close_reason, /"ok" from Kees \+31611111111/);

  const second = sampleEvent({ siteId: 'site-sms', gatewayId: 'gw-sms', ...water });
  await publish(second);
  await eventually(() => smsc.submitted.length === 2, 'the second escalation SMS');
  smsc.reply('+31611111111', 'what is this?');
  await eventually(async () => {
    const { rows } = await pool.query(
      `SELECT 1 FROM alarm_actions x JOIN alarms a ON a.id = x.alarm_id WHERE a.event_id = $1 AND x.action = 'present'`,
      [second.id],
    );
    return rows.length > 0;
  }, 'the operator asked to act');
  t.is((await status(second.id))!.status, 'open');

  const unknown = sampleEvent({
    siteId: 'site-sms',
    gatewayId: 'gw-sms',
    eventType: 'undefined-alarm',
    code: { cid: '000', sia: 'UX' },
    class: 'technical',
    priority: 3,
  });
  await publish(unknown);
  await eventually(() => smtp.mails.length === 1, 'the installer e-mail');
  t.deepEqual(smtp.mails[0]!.to, ['install@example.test']);
  t.regex(smtp.mails[0]!.body, /told once/);
  const deliveries = await pool.query(
    `SELECT reason FROM alarm_actions WHERE action = 'delivery' ORDER BY id`,
  );
  t.true(
    deliveries.rows.some((r) => /sent to \+31611111111/.test(r.reason)),
    'deliveries are in the action trail',
  );
});

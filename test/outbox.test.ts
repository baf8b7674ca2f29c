import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { JournalOutbox } from '../gateway/outbox/journal-outbox.ts';
import { silentLogger } from '../lib/logger.ts';
import { Metrics } from '../lib/metrics.ts';
import type { AlarmEvent } from '../protocols/messages.ts';
import { sampleEvent } from './helpers/events.ts';
import { smallDisk } from './helpers/small-disk.ts';

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-outbox-'));
}

/** Append a sample event, which the policy never coalesces below the limit. */
async function add(outbox: JournalOutbox): Promise<AlarmEvent> {
  const event = await outbox.append((seq) => sampleEvent({ seq }));
  if (!event) throw new Error('unexpectedly coalesced');
  return event;
}

function open(dir: string, segmentBytes?: number, metrics = new Metrics()): JournalOutbox {
  return JournalOutbox.open({
    dir,
    logger: silentLogger,
    metrics,
    ...(segmentBytes ? { segmentBytes } : {}),
  });
}

test('appended events are pending in order until acked, and survive a reopen', async (t) => {
  const dir = tempDir();
  const outbox = open(dir);
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) ids.push((await add(outbox)).id);
  t.deepEqual(
    outbox.pending().map((e) => e.seq),
    [0, 1, 2, 3, 4],
  );
  t.is(await outbox.ack([ids[1]!, ids[3]!, 'not-pending']), 2);
  await outbox.close();

  const reopened = open(dir);
  t.deepEqual(
    reopened.pending().map((e) => e.id),
    [ids[0], ids[2], ids[4]],
  );
  t.is(reopened.nextSeq, 5, 'sequence numbers continue after a restart');
  await reopened.close();
});

test('concurrent appends share one fdatasync and keep their order', async (t) => {
  const metrics = new Metrics();
  const outbox = open(tempDir(), undefined, metrics);
  await Promise.all(Array.from({ length: 50 }, () => add(outbox)));
  t.is(metrics.get('outbox_fsyncs_total'), 1, 'one group commit for the whole burst');
  t.deepEqual(
    outbox.pending().map((e) => e.seq),
    Array.from({ length: 50 }, (_, i) => i),
  );
  await outbox.close();
});

test('an event is not offered for sending before it is on disk', async (t) => {
  const outbox = open(tempDir());
  const appending = add(outbox);
  t.is(outbox.pending().length, 0);
  await appending;
  t.is(outbox.pending().length, 1);
  await outbox.close();
});

test('a torn record at the end (power cut mid-write) is cut off; everything before it is kept', async (t) => {
  const dir = tempDir();
  const metrics = new Metrics();
  const outbox = open(dir);
  const kept = await add(outbox);
  await outbox.close();
  const [segment] = fs.readdirSync(dir);
  fs.appendFileSync(path.join(dir, segment!), '1234abcd {"k":"e","event":{"v":1,"ty');

  const reopened = open(dir, undefined, metrics);
  t.deepEqual(
    reopened.pending().map((e) => e.id),
    [kept.id],
  );
  t.is(metrics.get('outbox_torn_records_total'), 1);
  const next = await add(reopened);
  await reopened.close();
  t.deepEqual(
    open(dir)
      .pending()
      .map((e) => e.id),
    [kept.id, next.id],
    'appends after the cut are readable',
  );
});

test('a record with a bad checksum is skipped and counted, not fatal', async (t) => {
  const dir = tempDir();
  const outbox = open(dir);
  const a = await add(outbox);
  const b = await add(outbox);
  await outbox.close();
  const file = path.join(dir, fs.readdirSync(dir)[0]!);
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  lines[1] = lines[1]!.replace(
    a.id,
    a.id.replace(/.$/, (c) => (c === '0' ? '1' : '0')),
  );
  fs.writeFileSync(file, lines.join('\n'));

  const metrics = new Metrics();
  const reopened = open(dir, undefined, metrics);
  t.deepEqual(
    reopened.pending().map((e) => e.id),
    [b.id],
  );
  t.is(metrics.get('outbox_corrupt_records_total'), 1);
  await reopened.close();
});

test('segments rotate when full and are deleted once fully acked, oldest first', async (t) => {
  const dir = tempDir();
  const outbox = open(dir, 2048);
  const events = [];
  for (let i = 0; i < 20; i++) events.push(await add(outbox));
  const segments = outbox.segmentCount;
  t.true(segments > 3, `expected several segments, got ${segments}`);

  // Acking everything but the first event keeps every segment: deletion goes oldest first.
  await outbox.ack(events.slice(1).map((e) => e.id));
  t.is(outbox.segmentCount, segments);
  await outbox.ack([events[0]!.id]);
  t.is(outbox.segmentCount, 1, 'only the active segment remains');
  t.is(fs.readdirSync(dir).filter((f) => f.endsWith('.jrnl')).length, 1);
  await outbox.close();

  const reopened = open(dir, 2048);
  t.is(reopened.depth, 0);
  t.is(reopened.nextSeq, 20, 'the segment header carries the sequence across deleted segments');
  await reopened.close();
});

const CHILD = `
import { JournalOutbox } from ${JSON.stringify(new URL('../gateway/outbox/journal-outbox.ts', import.meta.url).href)};
import { silentLogger } from ${JSON.stringify(new URL('../lib/logger.ts', import.meta.url).href)};
import { Metrics } from ${JSON.stringify(new URL('../lib/metrics.ts', import.meta.url).href)};
import { sampleEvent } from ${JSON.stringify(new URL('./helpers/events.ts', import.meta.url).href)};
import { writeSync } from 'node:fs';
// Synchronous writes: a line is in the pipe before the next step, so a SIGKILL cannot swallow it.
const say = (line) => {
  const bytes = Buffer.from(line + '\\n');
  // The pipe is non-blocking: when the reader is behind, wait for room rather than drop the line.
  for (let offset = 0; offset < bytes.length; ) {
    try {
      offset += writeSync(1, bytes, offset);
    } catch (error) {
      if (error.code !== 'EAGAIN') throw error;
    }
  }
};
const outbox = JournalOutbox.open({ dir: process.argv[2], logger: silentLogger, metrics: new Metrics(), segmentBytes: 8192 });
for (let i = 0; ; i++) {
  const event = await outbox.append((seq) => sampleEvent({ seq }));
  say('E ' + event.id);
  if (i % 7 === 3) {
    const ids = outbox.pending().slice(0, 2).map((e) => e.id);
    for (const id of ids) say('a ' + id);
    await outbox.ack(ids);
    for (const id of ids) say('A ' + id);
  }
}
`;

test('SIGKILL mid-burst loses no durable event, keeps order and resurrects no acked one', async (t) => {
  const dir = tempDir();
  const script = path.join(dir, '..', `${path.basename(dir)}-child.ts`);
  fs.writeFileSync(script, CHILD);
  const child = spawn(process.execPath, [script, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  const appended: string[] = [];
  // Acks about to be written (a kill may land before or after they are durable) and acks written.
  const acking = new Set<string>();
  const acked = new Set<string>();
  let buffer = '';
  await new Promise<void>((resolve) => {
    child.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const lines = buffer.split('\n');
      buffer = lines.pop()!;
      for (const line of lines) {
        if (line.startsWith('E ')) appended.push(line.slice(2));
        else if (line.startsWith('a ')) acking.add(line.slice(2));
        else if (line.startsWith('A ')) acked.add(line.slice(2));
      }
      if (appended.length >= 400 && !child.killed) {
        child.kill('SIGKILL');
        resolve();
      }
    });
  });
  // 'close', not 'exit': every line the child wrote before the kill (acks included) is read first.
  await new Promise((resolve) => child.once('close', resolve));

  const outbox = open(dir, 8192);
  const pending = outbox.pending();
  const pendingIds = new Set(pending.map((e) => e.id));
  t.true(acked.size > 50, 'the burst acked events along the way');
  t.true(fs.readdirSync(dir).length < 400 / 10, 'acked segments were removed during the burst');
  t.deepEqual(
    appended.filter((id) => !pendingIds.has(id) && !acking.has(id)),
    [],
    'every event reported durable and not acked is still pending',
  );
  t.deepEqual(
    [...acked].filter((id) => pendingIds.has(id)),
    [],
    'no durably acked event comes back',
  );
  const seqs = pending.map((e) => e.seq);
  t.deepEqual(
    seqs,
    [...seqs].sort((a, b) => a - b),
    'pending events come back in sequence order',
  );
  t.true(outbox.nextSeq >= appended.length, 'the sequence continues past every durable event');
  await outbox.close();
});

test('past its limit the outbox keeps every alarm and coalesces only repeated technical log events', async (t) => {
  const metrics = new Metrics();
  const outbox = JournalOutbox.open({ dir: tempDir(), logger: silentLogger, metrics, limit: 3 });
  const periodic = (seq: number) =>
    sampleEvent({
      seq,
      eventType: 'periodic-test',
      code: { cid: '602', sia: 'RP' },
      class: 'technical',
      priority: 3,
      zone: 0,
    });
  for (let i = 0; i < 3; i++) await add(outbox);
  t.truthy(await outbox.append(periodic), 'the first test report past the limit is kept');
  t.is(await outbox.append(periodic), null, 'a repeat is coalesced');
  t.truthy(await add(outbox), 'an alarm is never dropped');
  t.is(outbox.depth, 5);
  t.is(metrics.get('outbox_coalesced_total', { eventType: 'periodic-test' }), 1);
  t.is(outbox.nextSeq, 5, 'a coalesced event takes no sequence number, so the central sees no gap');
  await outbox.close();
});

test('a full card: events are held in memory and offered for sending, then written when space returns', async (t) => {
  const disk = smallDisk(256);
  t.teardown(() => disk.unmount());
  const metrics = new Metrics();
  const outbox = open(disk.dir, undefined, metrics);
  const changes: boolean[] = [];
  outbox.onHealthChange((health) => changes.push(health.failing !== null));
  const before = await add(outbox);
  disk.fill();
  const held: AlarmEvent[] = [];
  for (let i = 0; i < 30; i++) held.push(await add(outbox));
  // The last page of the segment may still take a few; the rest are held.
  const inMemory = held.filter((e) => !outbox.isDurable(e.id));
  t.true(inMemory.length >= 20, `${inMemory.length} held`);
  t.like(outbox.health.failing, { reason: 'ENOSPC', heldInMemory: inMemory.length });
  t.deepEqual(
    outbox.pending().map((e) => e.id),
    [before.id, ...held.map((e) => e.id)],
    'nothing is lost: every event is offered for sending, in order',
  );
  await outbox.ack([held[0]!.id]);
  t.is(outbox.depth, 30, 'an ack still applies, even when it cannot be written');
  disk.free();
  t.true(await outbox.retryHeld());
  t.is(outbox.health.failing, null);
  t.true(inMemory.slice(1).every((e) => outbox.isDurable(e.id)));
  t.deepEqual(changes, [true, false]);
  t.true(metrics.get('outbox_held_in_memory_total') >= inMemory.length);
  await outbox.close();

  const reopened = open(disk.dir);
  t.deepEqual(
    reopened.pending().map((e) => e.id),
    [before.id, ...held.slice(1).map((e) => e.id)],
    'what was held is on disk now',
  );
  await reopened.close();
});

test('a zero-length newest segment is detected, counted and reported; sequence numbers are never reused', async (t) => {
  const dir = tempDir();
  const outbox = open(dir, 4096);
  for (let i = 0; i < 100; i++) await add(outbox);
  const lastSeq = outbox.nextSeq - 1;
  await outbox.close();
  const segments = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.jrnl'))
    .sort();
  // What a power cut can leave of a file the card had not yet written back: nothing.
  fs.truncateSync(path.join(dir, segments.at(-1)!), 0);

  const metrics = new Metrics();
  const reopened = open(dir, 4096, metrics);
  t.regex(reopened.health.lost?.reason ?? '', /without their header/);
  t.is(metrics.get('outbox_data_lost_total'), 1);
  t.true(reopened.nextSeq > lastSeq, `continues at ${reopened.nextSeq}, above ${lastSeq}`);
  const next = await add(reopened);
  t.true(next.seq > lastSeq);
  await reopened.close();

  // Everything gone (a new card with the old floor file, or all segments lost): still no reuse.
  for (const f of fs.readdirSync(dir).filter((name) => name.endsWith('.jrnl'))) fs.rmSync(path.join(dir, f));
  const emptied = open(dir, 4096);
  t.regex(emptied.health.lost?.reason ?? '', /below the reserved/);
  t.true(emptied.nextSeq > next.seq);
  await emptied.close();
  const clean = open(dir, 4096);
  t.is(clean.health.lost, null, 'a clean restart reports nothing');
  await clean.close();
});

test('an outbox opened on a full card runs, holding events in memory, and starts its journal when space returns', async (t) => {
  const disk = smallDisk(128);
  t.teardown(() => disk.unmount());
  disk.fill();
  const outbox = open(disk.dir);
  const event = await add(outbox);
  t.like(outbox.health.failing, { heldInMemory: 1 });
  t.deepEqual(
    outbox.pending().map((e) => e.id),
    [event.id],
  );
  disk.free();
  t.true(await outbox.retryHeld());
  t.true(outbox.isDurable(event.id));
  await outbox.close();
  const reopened = open(disk.dir);
  t.deepEqual(
    reopened.pending().map((e) => e.id),
    [event.id],
  );
  t.is(reopened.health.lost, null);
  await reopened.close();
});

test('a rotation while an append is being written keeps that append (its segment is not deleted)', async (t) => {
  const dir = tempDir();
  // Every event fills a segment: the second append rotates while the first is still queued.
  const outbox = open(dir, 200);
  const [a, b] = await Promise.all([add(outbox), add(outbox)]);
  await outbox.close();
  const reopened = open(dir, 200);
  t.deepEqual(
    reopened.pending().map((e) => e.id),
    [a.id, b.id],
  );
  await reopened.close();
});

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { JournalOutbox } from '../gateway/outbox/journal-outbox.ts';
import { silentLogger } from '../lib/logger.ts';
import { Metrics } from '../lib/metrics.ts';
import { sampleEvent } from '../test/helpers/events.ts';

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-bench-outbox-'));
}

/** Durable appends per second: one at a time (each waits for its fdatasync), and in bursts (group commit). */
export async function measureOutbox(
  count: number,
): Promise<{ sequential: number; burst: number; rawSync: number }> {
  const sequentialBox = JournalOutbox.open({ dir: tempDir(), logger: silentLogger, metrics: new Metrics() });
  let start = performance.now();
  for (let i = 0; i < count; i++) await sequentialBox.append((seq) => sampleEvent({ seq }));
  const sequential = count / ((performance.now() - start) / 1000);
  await sequentialBox.close();

  const burstBox = JournalOutbox.open({ dir: tempDir(), logger: silentLogger, metrics: new Metrics() });
  start = performance.now();
  for (let i = 0; i < count; i += 100) {
    await Promise.all(Array.from({ length: 100 }, () => burstBox.append((seq) => sampleEvent({ seq }))));
  }
  const burst = count / ((performance.now() - start) / 1000);
  await burstBox.close();

  // The floor for durable single appends on this disk: write one record's bytes and fdatasync.
  const line = `${JSON.stringify({ k: 'e', event: sampleEvent() })}\n`;
  const fd = fs.openSync(path.join(tempDir(), 'raw'), 'a');
  start = performance.now();
  for (let i = 0; i < count; i++) {
    fs.writeSync(fd, line);
    fs.fdatasyncSync(fd);
  }
  const rawSync = count / ((performance.now() - start) / 1000);
  fs.closeSync(fd);
  return { sequential, burst, rawSync };
}

import { drainBacklog } from '../test/helpers/backlog.ts';
import { startTestCentral } from '../test/helpers/central.ts';

/**
 * The drain of a gateway's backlog after an outage: `small` events as the baseline and `large`
 * in the same run (linear: the time per event stays the same), with a new alarm pressed halfway.
 */
export async function measureBacklog(small: number, large: number) {
  const env = await startTestCentral();
  try {
    const baseline = await drainBacklog(env, 'bench-backlog-small', small);
    const measured = await drainBacklog(env, 'bench-backlog-large', large);
    return { baseline, measured };
  } finally {
    await env.stop();
  }
}

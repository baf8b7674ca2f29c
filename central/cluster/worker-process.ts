import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const VIGIL = fileURLToPath(new URL('../../bin/vigil.mjs', import.meta.url));

/**
 * V8 flags the central runs with (here, in the systemd unit, in `npm start`): a young generation
 * of 2 MiB. With V8's default, a scavenge of a central holding 10,000 TLS connections paused the
 * event loop 12 ms (p50) to 52 ms (p99), every alarm in flight with it; with 2 MiB, 1.9 / 14 ms.
 */
export const CENTRAL_NODE_FLAGS = ['--max-semi-space-size=2'];

/**
 * A central worker as a process of its own (`vigil central`), with this environment on top of
 * ours (plain HTTP on `VIGIL_HTTP_HOST`:`VIGIL_HTTP_PORT`): resolves once its `/readyz` says it
 * takes traffic, or fails with the end of its output if it exits first.
 */
export async function spawnCentralWorker(env: NodeJS.ProcessEnv): Promise<ChildProcess> {
  const readyz = `http://${env.VIGIL_HTTP_HOST ?? '127.0.0.1'}:${env.VIGIL_HTTP_PORT ?? 8080}/readyz`;
  const worker = spawn(process.execPath, [...CENTRAL_NODE_FLAGS, VIGIL, 'central'], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000);
  };
  worker.stdout?.on('data', keep);
  worker.stderr?.on('data', keep);
  const exited = new Promise<never>((_, reject) =>
    worker.once('exit', (code, signal) =>
      reject(
        new Error(`the central worker exited (${code ?? signal}) before it started: ${output.slice(-4000)}`),
      ),
    ),
  );
  exited.catch(() => undefined);
  const ready = () =>
    fetch(readyz, { signal: AbortSignal.timeout(2000) }).then(
      (response) => response.ok,
      () => false,
    );
  while (!(await Promise.race([ready(), exited])))
    await Promise.race([new Promise((resolve) => setTimeout(resolve, 200)), exited]);
  worker.stdout?.removeListener('data', keep);
  worker.stderr?.removeListener('data', keep);
  worker.stdout?.resume();
  worker.stderr?.resume();
  return worker;
}

/** Stops a worker as systemd would (SIGTERM), killing it if it has not exited after 20 s. */
export async function stopCentralWorker(worker: ChildProcess): Promise<void> {
  if (worker.exitCode !== null || worker.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  worker.kill('SIGTERM');
  const timer = setTimeout(() => worker.kill('SIGKILL'), 20_000);
  await exited;
  clearTimeout(timer);
}

import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

export interface PtyPair {
  readonly a: string;
  readonly b: string;
  /** Kill socat: both ends go away, as when a USB serial adapter is unplugged. */
  stop(): Promise<void>;
}

/** A pseudo-terminal pair from socat (`.ci/run` installs it): a real serial line without hardware. */
export async function ptyPair(dir: string): Promise<PtyPair> {
  const a = path.join(dir, 'ttyA');
  const b = path.join(dir, 'ttyB');
  const socat: ChildProcess = spawn(
    'socat',
    ['-d', '-d', `pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`],
    {
      stdio: 'ignore',
    },
  );
  const spawned = await new Promise<Error | null>((resolve) => {
    socat.once('error', resolve);
    socat.once('spawn', () => resolve(null));
  });
  if (spawned)
    throw new Error(`socat is needed for serial tests (apt-get install socat): ${spawned.message}`);
  const deadline = Date.now() + 5000;
  while (!(existsSync(a) && existsSync(b))) {
    if (Date.now() > deadline) throw new Error('socat did not create the PTY links');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return {
    a,
    b,
    stop: () =>
      new Promise<void>((resolve) => {
        if (socat.exitCode !== null) return resolve();
        socat.once('exit', () => resolve());
        socat.kill('SIGTERM');
      }),
  };
}

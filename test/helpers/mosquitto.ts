import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { freePort } from '../../central/db/embedded.ts';

export interface Mosquitto {
  readonly url: string;
  readonly admin: { username: string; password: string };
  stop(): Promise<void>;
}

/**
 * A real mosquitto (Debian's package, installed by .ci/run) with the dynamic-security plugin,
 * anonymous access off, on a free loopback port.
 */
export async function startMosquitto(dir: string): Promise<Mosquitto> {
  const port = await freePort();
  const admin = { username: 'dynsec-admin', password: 'admin-secret-for-tests' };
  const dynsec = path.join(dir, 'dynamic-security.json');
  try {
    execFileSync('mosquitto_ctrl', ['dynsec', 'init', dynsec, admin.username, admin.password], {
      stdio: 'ignore',
    });
  } catch (error) {
    throw new Error(
      `mosquitto_ctrl is needed (apt-get install mosquitto mosquitto-clients): ${(error as Error).message}`,
    );
  }
  const plugin = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib']
    .map((d) => path.join(d, 'mosquitto_dynamic_security.so'))
    .find((f) => {
      try {
        execFileSync('test', ['-f', f]);
        return true;
      } catch {
        return false;
      }
    });
  if (!plugin) throw new Error('mosquitto_dynamic_security.so not found');
  const config = path.join(dir, 'mosquitto.conf');
  writeFileSync(
    config,
    [
      'per_listener_settings false',
      // Started as root, mosquitto would switch to its own user and lose access to this test directory.
      ...(process.getuid?.() === 0 ? ['user root'] : []),
      `listener ${port} 127.0.0.1`,
      'allow_anonymous false',
      `plugin ${plugin}`,
      `plugin_opt_config_file ${dynsec}`,
      'persistence false',
      'log_dest stderr',
      'log_type error',
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn('mosquitto', ['-c', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr?.on('data', (c: Buffer) => process.env.MQ_DEBUG && process.stderr.write(c));
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const deadline = Date.now() + 5000;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (open) break;
    if (child.exitCode !== null || Date.now() > deadline)
      throw new Error(`mosquitto did not start: ${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    url: `mqtt://127.0.0.1:${port}`,
    admin,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

import { spawn } from 'node:child_process';
import path from 'node:path';

export const VIGIL = path.resolve(import.meta.dirname, '../../bin/vigil.mjs');

export interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run `vigil …` as a user would, with this environment on top of ours. */
export function vigil(args: string[], env: Record<string, string> = {}): Promise<Result> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [VIGIL, ...args], {
      env: { ...process.env, VIGIL_LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

import { chmodSync, rmSync } from 'node:fs';
import http from 'node:http';
import { errorMessage } from '../../lib/errors.ts';
import type { Logger } from '../../lib/logger.ts';
import type { Metrics } from '../../lib/metrics.ts';
import { type AdminContext, AdminInputError, isAdminCommand, runAdminCommand } from './admin-commands.ts';

const MAX_BODY_BYTES = 64 * 1024;

/** Where a central with this data directory listens for admin commands. */
export function adminSocketPath(centralDataDir: string): string {
  return `${centralDataDir}/admin.sock`;
}

/**
 * The running central's admin API: `POST /commands/<name>` on a Unix socket in its data directory
 * (mode 0600), so the credential is the file system's — whoever may read the central's data may
 * administer it, as with PostgreSQL's peer authentication. `vigil central add-…` uses it.
 */
export async function startAdminSocket(
  socketPath: string,
  ctx: AdminContext,
  logger: Logger,
  metrics: Metrics,
): Promise<{ close(): Promise<void> }> {
  const server = http.createServer((request, response) => {
    const reply = (status: number, body: unknown) => {
      response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    const name = /^\/commands\/([a-z0-9-]+)$/.exec(request.url ?? '')?.[1];
    if (request.method !== 'POST' || !name || !isAdminCommand(name)) {
      metrics.increment('admin_commands_total', { result: 'unknown' });
      return reply(404, { error: `unknown admin command ${request.method} ${request.url}` });
    }
    const actor = `cli:${String(request.headers['x-vigil-actor'] ?? 'unknown').slice(0, 60)}`;
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reply(413, { error: 'request too large' });
        request.destroy();
      } else chunks.push(chunk);
    });
    request.on('end', () => {
      let input: unknown;
      try {
        input = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        return reply(400, { error: 'the body is not JSON' });
      }
      runAdminCommand(ctx, name, input, actor).then(
        (output) => {
          metrics.increment('admin_commands_total', { result: 'ok' });
          logger.info({ command: name, actor }, 'admin command done');
          reply(200, { output });
        },
        (error) => {
          const status = error instanceof AdminInputError ? 400 : 422;
          metrics.increment('admin_commands_total', { result: 'refused' });
          logger.warn({ command: name, actor, reason: errorMessage(error) }, 'admin command refused');
          reply(status, { error: errorMessage(error) });
        },
      );
    });
  });
  // A socket left by a central that was killed would refuse the bind.
  rmSync(socketPath, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve());
  });
  chmodSync(socketPath, 0o600);
  return {
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/**
 * Run an admin command in the central listening at `socketPath`. Null when no central is
 * listening there (then the caller works on the database itself); its refusal is thrown.
 */
export function sendAdminCommand(
  socketPath: string,
  name: string,
  input: unknown,
  actor: string,
): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify(input);
    const request = http.request(
      {
        socketPath,
        path: `/commands/${name}`,
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-vigil-actor': actor },
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          text += chunk;
        });
        response.on('end', () => {
          let answer: { output?: string; error?: string };
          try {
            answer = JSON.parse(text);
          } catch {
            return reject(new Error(`the central at ${socketPath} answered ${response.statusCode}: ${text}`));
          }
          if (response.statusCode === 200 && typeof answer.output === 'string') resolve(answer.output);
          else
            reject(new Error(answer.error ?? `the central at ${socketPath} answered ${response.statusCode}`));
        });
      },
    );
    request.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT' || error.code === 'ECONNREFUSED') resolve(null);
      else reject(new Error(`cannot reach the central at ${socketPath}: ${error.message}`));
    });
    request.end(body);
  });
}

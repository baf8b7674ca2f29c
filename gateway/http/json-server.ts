import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import FindMyWay, { type HTTPMethod } from 'find-my-way';
import type { z } from 'zod';
import type { Logger } from '../../lib/logger.ts';
import type { Metrics } from '../../lib/metrics.ts';

/**
 * A small JSON HTTP server for the gateway: Node's own HTTP server and find-my-way (Fastify's
 * router) with zod for bodies. A gateway is memory-bound: Fastify with its schema compiler, or a
 * Fetch-API framework (which loads Node's undici, ≈17 MiB), costs more than the whole panel logic.
 */

// `import … from 'node:http'` would build the module's ESM namespace, whose lazy WebSocket /
// MessageEvent exports load Node's bundled undici (≈17 MiB resident); require() reads only what is used.
const http = createRequire(import.meta.url)('node:http') as typeof import('node:http');

/** A refusal with its HTTP status: answered as `{ error }`, logged and counted. */
export class Refusal extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

export type Reply =
  | { readonly status?: number; readonly json: unknown }
  | { readonly status?: number; readonly text: string; readonly type: string }
  | { readonly status: 302; readonly location: string };

export interface Request {
  readonly params: Readonly<Record<string, string | undefined>>;
  readonly query: Readonly<Record<string, string | undefined>>;
  readonly ip: string;
  header(name: string): string | undefined;
  /** The body parsed as JSON and checked against `schema`; a 400 names the first bad field. */
  json<T>(schema: z.ZodType<T>): Promise<T>;
  /** Read (and drop) the body, whatever its type, within the route's limit. */
  discard(): Promise<void>;
}

type Handler = (request: Request) => Reply | Promise<Reply>;

export interface JsonServer {
  route(method: HTTPMethod, path: string, handler: Handler, options?: { bodyLimit?: number }): void;
  listen(host: string, port: number): Promise<string>;
  close(): Promise<void>;
}

const PAGE_HEADERS = {
  'content-security-policy':
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:",
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
};

export function createJsonServer(options: {
  logger: Logger;
  metrics: Metrics;
  /** Counter for refusals, by status. */
  refusals: string;
  bodyLimit: number;
  /** Which client addresses are answered at all (others get a 403, counted). */
  allowClient?: (address: string) => boolean;
}): JsonServer {
  const { logger, metrics } = options;
  const router = FindMyWay({ ignoreTrailingSlash: true });
  const send = (response: ServerResponse, reply: Reply) => {
    const status = reply.status ?? 200;
    if ('location' in reply) {
      response.writeHead(302, { location: reply.location }).end();
      return;
    }
    if (status >= 400) metrics.increment(options.refusals, { status: String(status) });
    if ('text' in reply)
      response
        .writeHead(status, {
          'content-type': reply.type,
          // A page: no framing (the panel arms and disarms), scripts only from the gateway itself.
          ...(reply.type.startsWith('text/html') ? PAGE_HEADERS : {}),
        })
        .end(reply.text);
    else
      response
        .writeHead(status, { 'content-type': 'application/json; charset=utf-8' })
        .end(JSON.stringify(reply.json));
  };

  const server = http.createServer((incoming, response) => {
    const url = new URL(incoming.url ?? '/', 'http://local');
    const found = router.find(incoming.method as HTTPMethod, url.pathname);
    const fail = (error: unknown) => {
      const status = error instanceof Refusal ? error.status : 500;
      const reason = (error as Error).message;
      if (status >= 500) logger.error({ url: url.pathname, err: reason }, 'local API request failed');
      else logger.warn({ url: url.pathname, reason }, 'local API request refused');
      if (!response.headersSent)
        send(response, { status, json: { error: status >= 500 ? 'internal error' : reason } });
    };
    const address = incoming.socket.remoteAddress ?? '';
    if (options.allowClient && !options.allowClient(address))
      return fail(new Refusal(403, 'answered on the premises network only'));
    if (!found) return fail(new Refusal(404, `no such route: ${incoming.method} ${url.pathname}`));
    const { handler, bodyLimit } = found.store as { handler: Handler; bodyLimit: number };
    const request: Request = {
      params: found.params,
      query: Object.fromEntries(url.searchParams),
      ip: incoming.socket.remoteAddress ?? 'unknown',
      header: (name) => {
        const value = incoming.headers[name.toLowerCase()];
        return Array.isArray(value) ? value[0] : value;
      },
      json: async (schema) => {
        let raw: unknown;
        try {
          raw = JSON.parse((await readBody(incoming, bodyLimit)).toString('utf8'));
        } catch (error) {
          if (error instanceof Refusal) throw error;
          throw new Refusal(400, 'the body is not JSON');
        }
        const parsed = schema.safeParse(raw);
        if (parsed.success) return parsed.data;
        const issue = parsed.error.issues[0]!;
        throw new Refusal(400, `${issue.path.join('.') || 'body'}: ${issue.message}`);
      },
      discard: async () => {
        await readBody(incoming, bodyLimit);
      },
    };
    Promise.resolve()
      .then(() => handler(request))
      .then((reply) => send(response, reply), fail);
  });
  // Slow or stalled clients do not hold a connection forever.
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;

  return {
    route(method, path, handler, routeOptions) {
      router.on(method, path, () => undefined, {
        handler,
        bodyLimit: routeOptions?.bodyLimit ?? options.bodyLimit,
      });
    },
    listen: (host, port) =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          const { address, port: bound } = server.address() as AddressInfo;
          resolve(`http://${address.includes(':') ? `[${address}]` : address}:${bound}`);
        });
      }),
    close: () =>
      new Promise<void>((resolve) => {
        if (!server.listening) return resolve();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function readBody(incoming: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(incoming.headers['content-length'] ?? 0);
    if (declared > limit) {
      incoming.resume();
      return reject(new Refusal(413, `the body is over ${limit} bytes`));
    }
    const chunks: Buffer[] = [];
    let size = 0;
    incoming.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        // Stop keeping it, but read it to its end so the 413 can be answered.
        incoming.removeAllListeners('data');
        incoming.resume();
        reject(new Refusal(413, `the body is over ${limit} bytes`));
      } else chunks.push(chunk);
    });
    incoming.on('end', () => resolve(Buffer.concat(chunks)));
    incoming.on('error', reject);
  });
}

import http from 'node:http';
import https from 'node:https';

export interface HttpAnswer {
  readonly status: number;
  readonly ok: boolean;
  readonly text: string;
}

/**
 * One HTTP(S) request, its answer read whole. For services that a private CA certifies (a broker's
 * management API): Node's `fetch` trusts only the system's CAs.
 */
export function httpRequest(
  url: string,
  options: {
    method?: string;
    headers?: Record<string, string>;
    body?: string;
    /** Trusted for an https: URL instead of the system's CAs. */
    ca?: string | undefined;
    timeoutMs: number;
  },
): Promise<HttpAnswer> {
  const target = new URL(url);
  const secure = target.protocol === 'https:';
  return new Promise((resolve, reject) => {
    const request = (secure ? https : http).request(
      target,
      {
        method: options.method ?? 'GET',
        headers: options.headers ?? {},
        ...(secure && options.ca ? { ca: options.ca } : {}),
        timeout: options.timeoutMs,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', reject);
        response.on('end', () => {
          const status = response.statusCode ?? 0;
          resolve({
            status,
            ok: status >= 200 && status < 300,
            text: Buffer.concat(chunks).toString('utf8'),
          });
        });
      },
    );
    request.on('timeout', () =>
      request.destroy(new Error(`no answer within ${Math.round(options.timeoutMs / 1000)} s`)),
    );
    request.on('error', reject);
    request.end(options.body);
  });
}

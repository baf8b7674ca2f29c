import { createHash, randomBytes } from 'node:crypto';

/**
 * HTTP authentication for IP cameras: Basic, or Digest (RFC 7616, MD5 or SHA-256, qop=auth),
 * which most cameras require for snapshots. Fetch with the credentials; on a 401 challenge answer it once.
 */
export interface Credentials {
  readonly username: string;
  readonly password: string;
}

function hash(algorithm: string, text: string): string {
  return createHash(algorithm.toUpperCase().startsWith('SHA-256') ? 'sha256' : 'md5')
    .update(text)
    .digest('hex');
}

export function parseChallenge(header: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const match of header.replace(/^Digest\s+/i, '').matchAll(/(\w+)=(?:"([^"]*)"|([^,\s]*))/g)) {
    fields[match[1]!.toLowerCase()] = match[2] ?? match[3] ?? '';
  }
  return fields;
}

export function digestAuthorization(
  challenge: Record<string, string>,
  credentials: Credentials,
  method: string,
  uri: string,
  cnonce = randomBytes(8).toString('hex'),
): string {
  const algorithm = challenge.algorithm ?? 'MD5';
  const realm = challenge.realm ?? '';
  const nonce = challenge.nonce ?? '';
  const qop = challenge.qop
    ?.split(',')
    .map((q) => q.trim())
    .includes('auth')
    ? 'auth'
    : undefined;
  const nc = '00000001';
  const ha1 = hash(algorithm, `${credentials.username}:${realm}:${credentials.password}`);
  const ha2 = hash(algorithm, `${method}:${uri}`);
  const response = qop
    ? hash(algorithm, `${ha1}:${nonce}:${nc}:${cnonce}:${qop}:${ha2}`)
    : hash(algorithm, `${ha1}:${nonce}:${ha2}`);
  const parts = [
    `username="${credentials.username}"`,
    `realm="${realm}"`,
    `nonce="${nonce}"`,
    `uri="${uri}"`,
    `algorithm=${algorithm}`,
    `response="${response}"`,
    ...(challenge.opaque ? [`opaque="${challenge.opaque}"`] : []),
    ...(qop ? [`qop=${qop}`, `nc=${nc}`, `cnonce="${cnonce}"`] : []),
  ];
  return `Digest ${parts.join(', ')}`;
}

export async function fetchWithAuth(
  url: string,
  credentials: Credentials | undefined,
  timeoutMs: number,
  abort?: AbortSignal,
): Promise<Response> {
  const signal = abort
    ? AbortSignal.any([AbortSignal.timeout(timeoutMs), abort])
    : AbortSignal.timeout(timeoutMs);
  const basic = credentials
    ? {
        authorization: `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`,
      }
    : {};
  const first = await fetch(url, { headers: basic, signal });
  const challenge = first.headers.get('www-authenticate');
  if (first.status !== 401 || !credentials || !challenge || !/^Digest/i.test(challenge)) return first;
  await first.body?.cancel();
  const target = new URL(url);
  const authorization = digestAuthorization(
    parseChallenge(challenge),
    credentials,
    'GET',
    target.pathname + target.search,
  );
  return fetch(url, { headers: { authorization }, signal });
}

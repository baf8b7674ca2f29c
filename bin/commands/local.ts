import { parseArgs } from 'node:util';
import { readEnv } from '../../lib/env.ts';
import { USAGE } from '../usage.ts';

/** fetch, with a failure that names the URL and the cause (refused, unknown host, timeout). */
async function call(url: string, init?: RequestInit): Promise<Response> {
  try {
    return await fetch(url, { signal: AbortSignal.timeout(15_000), ...init });
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    throw new Error(
      `cannot reach the gateway at ${url}: ${cause?.code ?? cause?.message ?? (error as Error).message}`,
    );
  }
}

/** The JSON answer of a gateway, or an error with its reason and the URL. */
async function answerOf<T>(response: Response, url: string): Promise<T> {
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`${url} answered ${response.status} with no JSON: ${text.slice(0, 200)}`);
  }
  if (!response.ok) {
    const reason =
      (body as { error?: string; message?: string }).error ?? (body as { message?: string }).message;
    throw new Error(`${reason ?? `the gateway answered ${response.status}`} (${url})`);
  }
  return body as T;
}

/** Talk to a running gateway's local API; print its answer, or fail with its reason. */
async function localApi(
  url: string,
  method: string,
  path: string,
  body?: unknown,
  code?: string,
): Promise<unknown> {
  const target = `${url.replace(/\/$/, '')}${path}`;
  const response = await call(target, {
    method,
    headers: {
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(code ? { 'x-vigil-code': code } : {}),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return answerOf(response, target);
}

function requireCode(): string {
  const code = process.env.VIGIL_CODE;
  if (!code) throw new Error('set VIGIL_CODE to your code');
  return code;
}

const GATEWAY_URL_OPTION = {
  type: 'string',
  default: `http://127.0.0.1:${process.env.VIGIL_GATEWAY_HTTP_PORT ?? 8081}`,
} as const;

export async function panel(args: string[]): Promise<void> {
  const [sub, ...rest] = args;
  const { values } = parseArgs({
    args: rest,
    options: {
      url: GATEWAY_URL_OPTION,
      area: { type: 'string', default: '1' },
      mode: { type: 'string', default: 'away' },
      force: { type: 'boolean', default: false },
    },
  });
  const area = Number(values.area);
  let answer: unknown;
  if (sub === 'status') answer = await localApi(values.url, 'GET', '/api/status');
  else if (sub === 'arm') {
    answer = await localApi(values.url, 'POST', `/api/areas/${area}/arm`, {
      mode: values.mode,
      code: requireCode(),
      force: values.force,
    });
  } else if (sub === 'disarm') {
    answer = await localApi(values.url, 'POST', `/api/areas/${area}/disarm`, { code: requireCode() });
  } else throw new Error(`unknown panel command "${sub ?? ''}"\n\n${USAGE}`);
  const status = (answer as { status?: unknown }).status ?? answer;
  const areas = (status as { areas: Array<{ id: number; name: string; mode: string; phase: string }> }).areas;
  for (const a of areas)
    process.stdout.write(
      `area ${a.id} ${a.name}: ${a.phase}${a.phase === 'disarmed' ? '' : ` (${a.mode})`}\n`,
    );
}

export async function installer(args: string[]): Promise<void> {
  const [sub, ...rest] = args;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      url: GATEWAY_URL_OPTION,
      name: { type: 'string' },
      type: { type: 'string' },
      zone: { type: 'string' },
      area: { type: 'string', default: '1' },
      bus: { type: 'string', default: 'simulated' },
      'zone-kind': { type: 'string' },
      supervision: { type: 'string' },
      address: { type: 'string' },
      seconds: { type: 'string' },
      allow: { type: 'string' },
    },
  });
  const code = requireCode();
  if (sub === 'walk-test') {
    const on = positionals[0] === 'start' ? true : positionals[0] === 'stop' ? false : undefined;
    if (on === undefined) throw new Error('usage: vigil installer walk-test start|stop');
    await localApi(values.url, 'POST', '/api/installer/walk-test', { code, on });
    process.stdout.write(`walk test ${on ? 'started: trigger every device, then stop it' : 'stopped'}\n`);
  } else if (sub === 'commissioning') {
    process.stdout.write(
      `${JSON.stringify(await localApi(values.url, 'GET', '/api/installer/commissioning', undefined, code), null, 2)}\n`,
    );
  } else if (sub === 'add-device') {
    const [id] = positionals;
    if (!id || !values.name || !values.type || !values.zone) {
      throw new Error('usage: vigil installer add-device ID --name N --type T --zone Z [--area A]');
    }
    const device = {
      name: values.name,
      type: values.type,
      bus: values.bus,
      zone: Number(values.zone),
      area: Number(values.area),
      ...(values['zone-kind'] ? { zoneKind: values['zone-kind'] } : {}),
      ...(values.supervision ? { supervisionSeconds: Number(values.supervision) } : {}),
      ...(values.address ? { address: values.address } : {}),
    };
    await localApi(values.url, 'PUT', `/api/installer/devices/${encodeURIComponent(id)}`, { code, device });
    process.stdout.write(`device ${id} saved\n`);
  } else if (sub === 'pair') {
    const seconds = Number(values.seconds ?? 120);
    const allow = values.allow ? values.allow.split(',').map((a) => a.trim().toLowerCase()) : [];
    await localApi(values.url, 'POST', '/api/installer/zigbee/permit-join', { code, seconds, allow });
    process.stdout.write(
      `Zigbee joining open for ${Math.min(seconds, 254)} s${allow.length ? ` for ${allow.join(', ')}` : ''}\n`,
    );
  } else if (sub === 'camera-check') {
    const [id] = positionals;
    if (!id) throw new Error('usage: vigil installer camera-check CAMERA_ID');
    const result = (await localApi(
      values.url,
      'POST',
      `/api/installer/cameras/${encodeURIComponent(id)}/check`,
      { code },
    )) as {
      contentType: string;
      bytes: number;
      ms: number;
    };
    process.stdout.write(
      `camera ${id}: snapshot ok (${result.contentType}, ${result.bytes} bytes, ${result.ms} ms)\n`,
    );
  } else if (sub === 'remove-device') {
    const [id] = positionals;
    if (!id) throw new Error('usage: vigil installer remove-device ID');
    await localApi(values.url, 'DELETE', `/api/installer/devices/${encodeURIComponent(id)}`, undefined, code);
    process.stdout.write(`device ${id} removed\n`);
  } else throw new Error(`unknown installer command "${sub ?? ''}"\n\n${USAGE}`);
}

export async function sim(args: string[]): Promise<void> {
  const [sub, ...rest] = args;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      url: { type: 'string', default: `http://127.0.0.1:${readEnv().VIGIL_GATEWAY_HTTP_PORT}` },
      kind: { type: 'string', default: 'alarm' },
    },
  });
  const base = values.url.replace(/\/$/, '');
  if (sub === 'devices') {
    const target = `${base}/api/sim/devices`;
    const devices = await answerOf<{ id: string; name: string; type: string; zone: number }[]>(
      await call(target),
      target,
    );
    for (const d of devices) {
      process.stdout.write(
        `${d.id.padEnd(18)} zone ${String(d.zone).padEnd(4)} ${d.type.padEnd(11)} ${d.name}\n`,
      );
    }
    return;
  }
  if (sub === 'trigger') {
    const [device] = positionals;
    if (!device) throw new Error('usage: vigil sim trigger DEVICE [--kind KIND]');
    const target = `${base}/api/sim/devices/${encodeURIComponent(device)}/signals`;
    const response = await call(target, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ kind: values.kind }),
    });
    const body = await answerOf<{ outboxDepth?: number }>(response, target);
    process.stdout.write(`${device}: ${values.kind} sent (outbox depth ${body.outboxDepth})\n`);
    return;
  }
  throw new Error(`unknown sim command "${sub ?? ''}"\n\n${USAGE}`);
}

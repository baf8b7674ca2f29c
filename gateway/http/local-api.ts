import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { SIGNAL_KINDS } from '../../hardware/device-signal.ts';
import { isLocalNetwork, isLoopback } from '../../lib/addresses.ts';
import { errorMessage } from '../../lib/errors.ts';
import type { Logger } from '../../lib/logger.ts';
import type { Metrics } from '../../lib/metrics.ts';
import { loadWebAssets, readPage } from '../../web/assets.ts';
import { CODE_PATTERN } from '../auth/user-codes.ts';
import { DeviceConfigSchema } from '../config.ts';
import { keypadLocked } from '../domain/panel.ts';
import type { ActionResult, Gateway } from '../gateway.ts';
import { createJsonServer, Refusal, type Reply, type Request } from './json-server.ts';

const DEMO_PAGE = readFileSync(new URL('./demo-page.html', import.meta.url), 'utf8');
const PANEL_PAGE = readPage(new URL('./panel.html', import.meta.url));
/** The homeowner's panel: the UI library and the panel's own modules, nothing of the central's console. */
const PANEL_ASSETS = [...loadWebAssets()].filter(
  ([url]) =>
    url.startsWith('/assets/vendor/preact') ||
    url.startsWith('/assets/vendor/htm') ||
    url.startsWith('/assets/ui/lib/') ||
    url.startsWith('/assets/ui/panel/'),
);
/** Troubles a person on site should know of: the condition's event type, in the panel's words. */
const TROUBLES: Record<string, string> = {
  'device-battery-low': 'battery low',
  'mains-loss': 'mains power lost',
  'device-supervision-loss': 'not checking in',
  'sensor-trouble': 'sensor fault',
  'sensor-tamper': 'tampered',
  tamper: 'tampered',
  'system-trouble': 'system fault',
  'system-battery-low': 'system battery low',
  'communication-trouble': 'communication fault',
  'fire-trouble': 'fire panel fault',
};
const CODE_HEADER = 'x-vigil-code';
const BODY_LIMIT = 64 * 1024;
const CAMERA_BODY_LIMIT = 256 * 1024;

const Code = z.string().regex(CODE_PATTERN, 'a user code of 4–8 digits');
const AreaId = z.coerce.number().int().min(1).max(99);
const ArmBody = z.strictObject({
  mode: z.enum(['away', 'home', 'night']),
  code: Code,
  force: z.boolean().optional(),
});
const CodeBody = z.strictObject({ code: Code });
const BypassBody = z.strictObject({ code: Code, bypassed: z.boolean() });
const ChimeBody = z.strictObject({ code: Code, on: z.boolean() });
const HistoryQuery = z.strictObject({ limit: z.coerce.number().int().min(1).max(300).default(50) });
const PermitJoinBody = z.strictObject({
  code: Code,
  seconds: z.number().int().min(0).max(254),
  allow: z
    .array(z.string().regex(/^0x[0-9a-f]{16}$/, 'an IEEE address 0x + 16 hex digits'))
    .max(64)
    .optional(),
});
const WalkTestBody = z.strictObject({ code: Code, on: z.boolean() });
const DeviceBody = z.strictObject({ code: Code, device: z.record(z.string(), z.unknown()) });
const SignalBody = z.strictObject({ kind: z.enum(SIGNAL_KINDS) });

export interface LocalApi {
  readonly url: string;
  close(): Promise<void>;
}

/**
 * The gateway's local HTTP API (loopback by default): status for the homeowner's app, arming with
 * a user code, the installer's device registry, walk test and commissioning report, and — when the
 * gateway has simulated devices — the simulator and its demo page. Codes are checked with the
 * keypad's lockout; every refusal is counted (json-server.ts says why it is not Fastify).
 */
export async function startLocalApi(
  gateway: Gateway,
  options: { host: string; port: number; logger: Logger; metrics: Metrics },
): Promise<LocalApi> {
  const { metrics } = options;
  const log = options.logger.child({ component: 'local-api' });
  const server = createJsonServer({
    logger: log,
    metrics,
    refusals: 'local_api_refused_total',
    bodyLimit: BODY_LIMIT,
    // The premises' network only: a port forwarded from the Internet is refused.
    allowClient: isLocalNetwork,
  });
  const route = server.route;
  const source = (request: Request) => `local-api ${request.ip}`;
  const auth = (request: Request, code: string) => ({ code, source: source(request) });
  const headerCode = (request: Request) => request.header(CODE_HEADER) ?? '';
  const answer = (result: ActionResult): Reply =>
    result.ok
      ? { json: { ok: true, status: status() } }
      : { status: result.status, json: { error: result.error } };
  const areaOf = (request: Request) => {
    const area = AreaId.safeParse(request.params.id);
    if (!area.success) throw new Refusal(400, 'id: an area number 1–99');
    return area.data;
  };

  const status = () => {
    const config = gateway.config;
    const panel = gateway.panel;
    return {
      siteId: config.siteId,
      gatewayId: config.gatewayId,
      uplink: gateway.uplinkConnected ? 'connected' : 'disconnected',
      outboxDepth: gateway.outbox.depth,
      storage: gateway.storageTrouble ?? 'ok',
      keypadLocked: keypadLocked(panel, Date.now()),
      walkTest: panel.walkTest !== null,
      areas: config.areas.map((a) => {
        const area = panel.areas[a.id];
        return {
          id: a.id,
          name: a.name,
          mode: area?.mode,
          phase: area?.phase,
          // The exit or entry delay running out: the panel counts down to it.
          deadline: area?.deadline ? new Date(area.deadline).toISOString() : null,
        };
      }),
      devices: config.devices.map((d) => ({
        id: d.id,
        name: d.name,
        type: d.type,
        zone: d.zone,
        area: d.area,
        open: Boolean(panel.openZones[d.id]),
        bypassed: Boolean(panel.bypassed[d.id]),
        chime: d.chime,
      })),
      troubles: troubles(),
      outputs: config.outputs.map((o) => ({
        id: o.id,
        name: o.name,
        kind: o.kind,
        on: gateway.outputState()[o.id] ?? false,
      })),
      conditions: Object.keys(panel.active),
    };
  };

  /** What is wrong on the premises now: devices' conditions, and the gateway's own links and card. */
  const troubles = () => {
    const config = gateway.config;
    const list: { what: string; trouble: string }[] = [];
    for (const key of Object.keys(gateway.panel.active)) {
      const at = key.lastIndexOf(':');
      const trouble = TROUBLES[key.slice(at + 1)];
      if (!trouble) continue;
      const deviceId = key.slice(0, at);
      list.push({ what: config.devices.find((d) => d.id === deviceId)?.name ?? deviceId, trouble });
    }
    if (!gateway.uplinkConnected) list.push({ what: 'Link to the alarm centre', trouble: 'not connected' });
    if (gateway.storageTrouble) list.push({ what: 'Memory card', trouble: gateway.storageTrouble });
    return list;
  };

  route('GET', '/api/status', () => ({ json: status() }));
  // The premises' own event feed (a user's code): newest first, from the gateway's card.
  route('GET', '/api/events', async (request) => {
    const query = HistoryQuery.safeParse(request.query);
    if (!query.success) throw new Refusal(400, 'limit: a number of events from 1 to 300');
    const { limit } = query.data;
    const result = await gateway.history(auth(request, headerCode(request)), limit);
    return 'events' in result ? { json: { events: result.events } } : answer(result);
  });
  route('POST', '/api/devices/:id/chime', async (request) => {
    const { code, on } = await request.json(ChimeBody);
    return answer(await gateway.setChime(request.params.id!, on, auth(request, code)));
  });
  route('GET', '/panel', () => ({ text: PANEL_PAGE, type: 'text/html; charset=utf-8' }));
  for (const [url, asset] of PANEL_ASSETS) route('GET', url, () => ({ text: asset.body, type: asset.type }));
  route('GET', '/api/notices', () => ({ json: gateway.recentNotices() }));
  // On a LAN-facing local API, metrics (device names, volumes) stay on the gateway itself.
  route('GET', '/metrics', (request) =>
    isLoopback(request.ip)
      ? { text: metrics.render(), type: 'text/plain; version=0.0.4' }
      : { status: 403, json: { error: 'metrics are served to the gateway itself only' } },
  );

  route('POST', '/api/areas/:id/arm', async (request) => {
    const area = areaOf(request);
    const { mode, code, force } = await request.json(ArmBody);
    return answer(await gateway.arm(area, mode, auth(request, code), force ?? false));
  });
  route('POST', '/api/areas/:id/disarm', async (request) => {
    const area = areaOf(request);
    const { code } = await request.json(CodeBody);
    return answer(await gateway.disarm(area, auth(request, code)));
  });
  route('POST', '/api/devices/:id/bypass', async (request) => {
    const { code, bypassed } = await request.json(BypassBody);
    return answer(await gateway.bypass(request.params.id!, bypassed, auth(request, code)));
  });

  // A signal is acknowledged as accepted only once its events are on the card; held in memory
  // (card full or failing), the answer says so: the central is told and gets them all the same.
  const accepted = (json: Record<string, unknown>): Reply => {
    const trouble = gateway.storageTrouble;
    return trouble
      ? { status: 507, json: { ...json, durable: false, error: trouble } }
      : { status: 202, json: { ...json, durable: true } };
  };

  // Cameras push their alarm notifications here (many can only send a GET with query parameters),
  // some with XML or multipart bodies we do not need: any type, up to 256 KiB, read and dropped.
  const cameraEvent = async (request: Request): Promise<Reply> => {
    await request.discard();
    const token = request.header('x-vigil-token') ?? request.query.token ?? '';
    const state = request.query.state === 'stop' ? 'stop' : 'start';
    if (!gateway.notifyCamera(request.params.id!, token, state))
      return { status: 403, json: { error: 'unknown camera or wrong token' } };
    await gateway.settled();
    return accepted({ ok: true });
  };
  route('GET', '/api/cameras/:id/events', cameraEvent);
  route('POST', '/api/cameras/:id/events', cameraEvent, { bodyLimit: CAMERA_BODY_LIMIT });

  route('POST', '/api/installer/cameras/:id/check', async (request) => {
    const { code } = await request.json(CodeBody);
    const result = await gateway.checkCamera(request.params.id!, auth(request, code));
    return result.ok ? { json: result } : answer(result);
  });
  route('POST', '/api/installer/zigbee/permit-join', async (request) => {
    const { code, seconds, allow } = await request.json(PermitJoinBody);
    return answer(await gateway.permitJoin(seconds, allow ?? [], auth(request, code)));
  });

  // Installer: walk test, device registry, commissioning report.
  route('POST', '/api/installer/walk-test', async (request) => {
    const { code, on } = await request.json(WalkTestBody);
    return answer(await gateway.walkTest(on, auth(request, code)));
  });
  route('PUT', '/api/installer/devices/:id', async (request) => {
    const { code, device } = await request.json(DeviceBody);
    const parsed = DeviceConfigSchema.safeParse({ ...device, id: request.params.id });
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new Refusal(400, `device.${issue?.path.join('.')}: ${issue?.message}`);
    }
    return answer(await gateway.saveDevice(parsed.data, auth(request, code)));
  });
  route('DELETE', '/api/installer/devices/:id', async (request) =>
    answer(await gateway.removeDevice(request.params.id!, auth(request, headerCode(request)))),
  );

  // SPEC §8: every camera access by the central, granted or refused, for the homeowner to see.
  route('GET', '/api/camera-access', async (request) => {
    const result = await gateway.cameraAccess(auth(request, headerCode(request)));
    if (!result.ok) return answer(result);
    return {
      json:
        'accesses' in result
          ? { accesses: result.accesses.map((a) => ({ ...a, at: new Date(a.at).toISOString() })) }
          : { accesses: [] },
    };
  });
  route('GET', '/api/installer/commissioning', async (request) => {
    const allowed = await gateway.checkInstaller(auth(request, headerCode(request)));
    return allowed.ok ? { json: gateway.commissioning() } : answer(allowed);
  });

  route('GET', '/', () => ({ status: 302, location: '/panel' }));
  if (gateway.config.devices.some((d) => d.bus === 'simulated')) {
    route('GET', '/demo', () => ({ text: DEMO_PAGE, type: 'text/html; charset=utf-8' }));
    route('GET', '/api/sim/devices', () => ({
      json: gateway.config.devices
        .filter((d) => d.bus === 'simulated')
        .map(({ id, name, type, zone, area }) => ({ id, name, type, zone, area })),
    }));
    route('POST', '/api/sim/devices/:id/signals', async (request) => {
      const { kind } = await request.json(SignalBody);
      try {
        const signal = gateway.simulatedBus.inject(request.params.id!, kind);
        await gateway.settled();
        return accepted({ accepted: signal, outboxDepth: gateway.outbox.depth });
      } catch (error) {
        throw new Refusal(404, errorMessage(error));
      }
    });
  }

  const url = await server.listen(options.host, options.port);
  log.info({ url }, 'local API listening');
  return { url, close: () => server.close() };
}

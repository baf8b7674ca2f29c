import { z } from 'zod';
import { IdentifierSchema } from '../protocols/messages.ts';

export const DEVICE_TYPES = [
  'motion',
  'contact',
  'glassbreak',
  'smoke',
  'heat',
  'gas',
  'water',
  'panic',
  'holdup',
  'medical',
  'tamper',
  'camera',
] as const;
export type DeviceType = (typeof DEVICE_TYPES)[number];

export const DeviceConfigSchema = z.strictObject({
  id: IdentifierSchema,
  name: z.string().min(1).max(120),
  bus: z.enum(['simulated', 'gpio', 'serial', 'zigbee']),
  type: z.enum(DEVICE_TYPES),
  zone: z.number().int().min(1).max(999),
  area: z.number().int().min(1).max(99),
});
export type DeviceConfig = z.infer<typeof DeviceConfigSchema>;

export const AreaConfigSchema = z.strictObject({
  id: z.number().int().min(1).max(99),
  name: z.string().min(1).max(120),
});

export const GatewayConfigSchema = z
  .strictObject({
    siteId: IdentifierSchema,
    gatewayId: IdentifierSchema,
    central: z.strictObject({
      mqttUrl: z.url({ protocol: /^mqtts?$/ }),
      /** Per-gateway secret issued by the central at commissioning. */
      secret: z.string().min(16),
    }),
    heartbeatSeconds: z.number().int().min(5).max(86_400).default(60),
    /** How long to wait for the central's ack before publishing an event again. */
    ackTimeoutSeconds: z.number().int().min(1).max(3600).default(10),
    http: z
      .strictObject({
        host: z.string().default('127.0.0.1'),
        port: z.number().int().min(0).max(65_535).default(8081),
      })
      .prefault({}),
    areas: z.array(AreaConfigSchema).min(1),
    devices: z.array(DeviceConfigSchema),
  })
  .superRefine((config, ctx) => {
    const areaIds = new Set(config.areas.map((a) => a.id));
    const seen = new Set<string>();
    config.devices.forEach((device, index) => {
      if (seen.has(device.id)) {
        ctx.addIssue({
          code: 'custom',
          path: ['devices', index, 'id'],
          message: `device "${device.id}" is listed twice`,
        });
      }
      seen.add(device.id);
      if (!areaIds.has(device.area)) {
        ctx.addIssue({
          code: 'custom',
          path: ['devices', index, 'area'],
          message: `device "${device.id}" is in area ${device.area}, which is not configured`,
        });
      }
    });
  });
export type GatewayConfig = z.infer<typeof GatewayConfigSchema>;

/** Validate a configuration object; the error names every offending field and device. */
export function parseGatewayConfig(input: unknown, source = 'gateway config'): GatewayConfig {
  const parsed = GatewayConfigSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => {
    const path = issue.path.join('.');
    const deviceIndex = issue.path[0] === 'devices' ? issue.path[1] : undefined;
    const device =
      typeof deviceIndex === 'number' && Array.isArray((input as { devices?: unknown[] })?.devices)
        ? ((input as { devices: { id?: unknown }[] }).devices[deviceIndex]?.id ?? `#${deviceIndex}`)
        : undefined;
    return `  - ${path || '(root)'}${device !== undefined ? ` (device ${String(device)})` : ''}: ${issue.message}`;
  });
  throw new Error(`invalid ${source}:\n${problems.join('\n')}`);
}

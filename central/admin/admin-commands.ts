import type pg from 'pg';
import { z } from 'zod';
import { ROLES } from '../auth/operator-auth.ts';
import { upsertDc09Account } from '../dc09/accounts.ts';
import { upsertOperator, upsertSite } from '../records.ts';
import { createInstaller, InstallerSchema } from '../site-settings.ts';

/**
 * The provisioning commands of `vigil central …`. One definition serves both ways they run: through
 * a running central's admin API (which then acts on the change at once, e.g. answers a new DC-09
 * account), or directly on the database when no central is running.
 */
export interface AdminContext {
  readonly pool: pg.Pool;
  issueGatewaySecret(siteId: string, gatewayId: string, actor: string): Promise<string>;
  /** The camera-grant key gateways are configured with. */
  readonly grantKey: string;
  /** The DC-09 receiver reloads its accounts (a no-op when no central runs). */
  onDc09AccountsChanged(): Promise<void>;
}

const text = (max: number) => z.string().trim().min(1).max(max);

export const ADMIN_COMMANDS = {
  'add-site': defineCommand({
    usage:
      'vigil central add-site ID --name NAME [--address A] [--kind residential|business] [--category DP2]',
    input: z.strictObject({
      id: text(64),
      name: text(200),
      address: z.string().max(300).default(''),
      kind: z.enum(['residential', 'business']).default('residential'),
      category: z.string().max(8).optional(),
    }),
    async run(ctx, input, actor) {
      await upsertSite(
        ctx.pool,
        {
          id: input.id,
          name: input.name,
          address: input.address,
          kind: input.kind,
          ...(input.category ? { atsCategory: input.category } : {}),
        },
        actor,
      );
      return `site ${input.id} saved`;
    },
  }),
  'add-gateway': defineCommand({
    usage: 'vigil central add-gateway SITE_ID GATEWAY_ID',
    input: z.strictObject({ site: text(64), gateway: text(64) }),
    async run(ctx, input, actor) {
      const secret = await ctx.issueGatewaySecret(input.site, input.gateway, actor);
      return (
        `gateway ${input.gateway} of site ${input.site}\nsecret (shown once): ${secret}\n` +
        `camera grant key (central.grantKey): ${ctx.grantKey}`
      );
    },
  }),
  'add-dc09-account': defineCommand({
    usage:
      'VIGIL_DC09_KEY=… vigil central add-dc09-account ACCOUNT --site SITE [--prefix 0] [--gateway GW] [--supervision 90] [--key-format hex|ascii]',
    input: z.strictObject({
      account: z.string().regex(/^[0-9A-Fa-f]{3,16}$/, '3–16 hex digits'),
      site: text(64),
      prefix: z
        .string()
        .regex(/^[0-9A-Fa-f]{1,6}$/, '1–6 hex digits')
        .default('0'),
      gateway: text(64).optional(),
      key: z.string().max(64).optional(),
      'key-format': z.enum(['hex', 'ascii']).optional(),
      supervision: z.coerce.number().int().min(10).max(604_800).optional(),
    }),
    async run(ctx, input, actor) {
      const saved = await upsertDc09Account(
        ctx.pool,
        {
          account: input.account,
          prefix: input.prefix,
          siteId: input.site,
          gatewayId: input.gateway,
          key: input.key,
          keyFormat: input['key-format'],
          supervisionSeconds: input.supervision,
        },
        actor,
      );
      await ctx.onDc09AccountsChanged();
      return `DC-09 account ${saved.prefix}/${saved.account} of site ${saved.siteId} (gateway ${saved.gatewayId}, ${saved.path} path, ${saved.key ? 'AES' : 'unencrypted'})`;
    },
  }),
  'add-operator': defineCommand({
    usage:
      'VIGIL_OPERATOR_PASSWORD=… vigil central add-operator USERNAME --name NAME [--role operator|supervisor|customer|installer] [--site SITE] [--installer ID]',
    input: z.strictObject({
      username: z.string().regex(/^[a-z0-9._-]{3,60}$/, 'lower-case letters, digits, ".", "_" or "-"'),
      name: text(120),
      password: z
        .string({ error: 'missing: set VIGIL_OPERATOR_PASSWORD' })
        .min(10, 'at least 10 characters (VIGIL_OPERATOR_PASSWORD)')
        .max(200),
      role: z.enum(ROLES).default('operator'),
      site: text(64).optional(),
      installer: z
        .string()
        .regex(/^\d{1,18}$/)
        .optional(),
    }),
    async run(ctx, input, actor) {
      await upsertOperator(
        ctx.pool,
        {
          username: input.username,
          displayName: input.name,
          password: input.password,
          role: input.role,
          ...(input.site ? { siteId: input.site } : {}),
          ...(input.installer ? { installerId: input.installer } : {}),
        },
        actor,
      );
      return `${input.role} ${input.username} saved`;
    },
  }),
  'add-installer': defineCommand({
    usage: 'vigil central add-installer COMPANY --name NAME [--email E] [--phone P]',
    input: z.strictObject({
      company: text(200),
      name: text(120),
      email: z.string().max(200).optional(),
      phone: z.string().max(40).optional(),
    }),
    async run(ctx, input, actor) {
      const id = await createInstaller(ctx.pool, InstallerSchema.parse(input), actor);
      return `installer company ${input.company}: id ${id} (for --installer)`;
    },
  }),
};

function defineCommand<S extends z.ZodType>(command: AdminCommand<S>): AdminCommand<S> {
  return command;
}

interface AdminCommand<S extends z.ZodType> {
  readonly usage: string;
  readonly input: S;
  run(ctx: AdminContext, input: z.output<S>, actor: string): Promise<string>;
}

export type AdminCommandName = keyof typeof ADMIN_COMMANDS;

export function isAdminCommand(name: string): name is AdminCommandName {
  return Object.hasOwn(ADMIN_COMMANDS, name);
}

/** Raised for input that does not fit a command: the message names the field. */
export class AdminInputError extends Error {}

export function parseAdminInput(name: AdminCommandName, raw: unknown): unknown {
  const command = ADMIN_COMMANDS[name];
  const parsed = command.input.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path.join('.') || 'input';
    const message = issue.message.endsWith('received undefined') ? 'missing' : issue.message;
    throw new AdminInputError(`${field}: ${message}\nusage: ${command.usage}`);
  }
  return parsed.data;
}

export async function runAdminCommand(
  ctx: AdminContext,
  name: AdminCommandName,
  raw: unknown,
  actor: string,
): Promise<string> {
  const input = parseAdminInput(name, raw);
  const command = ADMIN_COMMANDS[name] as AdminCommand<z.ZodType>;
  return command.run(ctx, input, actor);
}

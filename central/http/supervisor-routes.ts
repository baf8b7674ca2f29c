import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type pg from 'pg';
import { z } from 'zod';
import { ROLES } from '../auth/operator-auth.ts';
import type { OperatorPresence } from '../live/presence.ts';
import { upsertOperator } from '../records.ts';
import { parseOr400 } from './validation.ts';

type Guard = (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;

const AccountSchema = z.strictObject({
  username: z.string().regex(/^[a-z0-9._-]{3,60}$/, 'lower-case letters, digits, ".", "_" or "-"'),
  displayName: z.string().trim().min(1).max(120),
  password: z.string().min(10).max(200),
  role: z.enum(ROLES),
  siteId: z.string().min(1).max(64).optional(),
  installerId: z
    .string()
    .regex(/^\d{1,18}$/)
    .optional(),
});

/**
 * What supervisors manage beside the queue: the board (operators online and what they hold) and
 * the accounts of every role.
 */
export function registerSupervisorRoutes(
  app: FastifyInstance,
  options: { pool: pg.Pool; presence: OperatorPresence; requireSupervisor: Guard },
): void {
  const { pool, presence, requireSupervisor } = options;

  app.get('/api/board', { preHandler: requireSupervisor }, async () => {
    const { rows } = await pool.query<{ username: string; displayName: string; role: string; holds: number }>(
      `SELECT o.username, o.display_name AS "displayName", o.role,
              (SELECT count(*)::int FROM alarms a WHERE a.claimed_by = o.id AND a.status = 'claimed') AS holds
         FROM operators o WHERE o.role IN ('operator', 'supervisor') ORDER BY o.display_name`,
    );
    return {
      operators: rows
        .map((o) => ({
          ...o,
          since: presence.since(o.username),
          online: presence.since(o.username) !== null,
        }))
        .sort((a, b) => Number(b.online) - Number(a.online)),
    };
  });

  app.get('/api/accounts', { preHandler: requireSupervisor }, async () => {
    const { rows } = await pool.query(
      `SELECT o.username, o.display_name AS "displayName", o.role, o.site_id AS "siteId",
              o.installer_id::text AS "installerId", o.created_at AS "createdAt",
              (SELECT max(s.created_at) FROM operator_sessions s WHERE s.operator_id = o.id) AS "lastLogin"
         FROM operators o ORDER BY o.role, o.username`,
    );
    return { accounts: rows };
  });

  // Accounts of every role, made by supervisors (customers for a site, installers for a company).
  app.post('/api/accounts', { preHandler: requireSupervisor }, async (request, reply) => {
    const account = parseOr400(AccountSchema, request.body);
    try {
      await upsertOperator(pool, account, `operator:${request.operator!.username}`);
    } catch (error) {
      throw Object.assign(error as Error, { statusCode: 400 });
    }
    return reply.code(201).send({ username: account.username, role: account.role });
  });
}

import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';

/**
 * Who may connect to the servers of the local pg_auto_failover cluster, and how. Nothing is
 * trusted over TCP: every network connection is TLS (`hostssl`) with a SCRAM password, except the
 * monitor's health check, which connects to the `postgres` database as a role with no rights and
 * sends a password pg_auto_failover hard-codes (so nothing secret travels); the superuser only over
 * the Unix socket, in a directory only the cluster's owner can open, as that owner (`peer`).
 */

/** The role the central connects as: owner of the `vigil` database, not a superuser. */
export const CENTRAL_ROLE = 'vigil';
/** pg_auto_failover's own roles. */
export const MONITOR_ROLE = 'autoctl_node';
export const REPLICATION_ROLE = 'pgautofailover_replicator';
const HEALTH_CHECK_ROLE = 'pgautofailover_monitor';
/** The superuser initdb makes, whichever system user owns the cluster. */
export const SUPERUSER = 'postgres';

export interface ClusterPasswords {
  /** The data nodes' keepers log in to the monitor with it. */
  readonly monitor: string;
  /** Streaming replication and pg_rewind from the primary. */
  readonly replication: string;
  /** The central's workers. */
  readonly central: string;
}

export function newClusterPasswords(): ClusterPasswords {
  // base64url: nothing to escape in a URL, a .pgpass line or an SQL literal.
  const password = () => randomBytes(24).toString('base64url');
  return { monitor: password(), replication: password(), central: password() };
}

/** The monitor's pg_hba.conf: the keepers log in to the pg_auto_failover database over TLS. */
export function monitorHba(host: string): string {
  return hba([
    ['local', 'all', 'all', '', 'peer map=owner'],
    ['hostssl', 'pg_auto_failover', MONITOR_ROLE, cidr(host), 'scram-sha-256'],
  ]);
}

/** A data node's pg_hba.conf (a standby's base backup copies it, so every node has the same). */
export function nodeHba(host: string, dbname: string): string {
  return hba([
    ['local', 'all', 'all', '', 'peer map=owner'],
    ['hostssl', 'replication', REPLICATION_ROLE, cidr(host), 'scram-sha-256'],
    // pg_autoctl connects to the database for pg_rewind and to read the primary's state.
    ['hostssl', dbname, REPLICATION_ROLE, cidr(host), 'scram-sha-256'],
    ['hostssl', 'postgres', HEALTH_CHECK_ROLE, cidr(host), 'trust'],
    ['hostssl', dbname, CENTRAL_ROLE, cidr(host), 'scram-sha-256'],
  ]);
}

/**
 * pg_ident.conf: the system user who owns the cluster may connect over the socket as these roles
 * (the keepers connect to their own server as the superuser, the monitor's as `autoctl_node`).
 */
export function ownerIdent(systemUser: string, roles: readonly string[]): string {
  return `${roles.map((role) => `owner ${systemUser} ${role}`).join('\n')}\n`;
}

/** The keepers' .pgpass: libpq finds the monitor's and the replication password there. */
export function keeperPgpass(host: string, monitorPort: number, passwords: ClusterPasswords): string {
  return [
    `${host}:${monitorPort}:pg_auto_failover:${MONITOR_ROLE}:${passwords.monitor}`,
    `${host}:*:*:${REPLICATION_ROLE}:${passwords.replication}`,
    '',
  ].join('\n');
}

/**
 * A password as PostgreSQL stores it for SCRAM-SHA-256 (RFC 5802, 7677), so `ALTER ROLE … PASSWORD`
 * never carries the password itself into the server's statement log (the monitor logs DDL). For
 * ASCII passwords (ours are base64url), which SASLprep leaves as they are.
 */
export function scramVerifier(password: string, salt = randomBytes(16), iterations = 4096): string {
  const salted = pbkdf2Sync(password, salt, iterations, 32, 'sha256');
  const hmac = (key: Buffer, text: string) => createHmac('sha256', key).update(text).digest();
  const storedKey = createHash('sha256').update(hmac(salted, 'Client Key')).digest();
  const serverKey = hmac(salted, 'Server Key');
  const b64 = (b: Buffer) => b.toString('base64');
  return `SCRAM-SHA-256$${iterations}:${b64(salt)}$${b64(storedKey)}:${b64(serverKey)}`;
}

/** `ALTER ROLE role PASSWORD '<verifier>'` (or CREATE ROLE … LOGIN when `create`). */
export function setPasswordSql(role: string, password: string, create = false): string {
  const verifier = scramVerifier(password);
  return create
    ? `CREATE ROLE ${role} LOGIN PASSWORD '${verifier}';`
    : `ALTER ROLE ${role} PASSWORD '${verifier}';`;
}

function cidr(host: string): string {
  return host.includes(':') ? `${host}/128` : `${host}/32`;
}

function hba(rules: ReadonlyArray<readonly [string, string, string, string, string]>): string {
  return `${rules.map((r) => r.filter((field) => field !== '').join('\t')).join('\n')}\n`;
}

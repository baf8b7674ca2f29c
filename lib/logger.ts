import { type Logger, pino } from 'pino';

export type { Logger };

/** One logger per process; components take a child with their name. Level from VIGIL_LOG_LEVEL. */
export function createLogger(name: string, level = process.env.VIGIL_LOG_LEVEL ?? 'info'): Logger {
  return pino({ name, level });
}

export const silentLogger: Logger = pino({ level: 'silent' });

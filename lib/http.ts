import { type FastifyBaseLogger, type FastifyServerOptions, LogController } from 'fastify';
import type { Logger } from './logger.ts';

/** Settings shared by every HTTP server of Vigil. */
export function httpServerOptions(logger: Logger, component: string): FastifyServerOptions {
  return {
    loggerInstance: logger.child({ component }) as FastifyBaseLogger,
    // Our own log lines say what matters; per-request lines would drown them.
    logController: new LogController({ disableRequestLogging: true }),
    // Live feeds never end by themselves: close them on shutdown instead of waiting.
    forceCloseConnections: true,
    bodyLimit: 64 * 1024,
  };
}

import { execFile } from 'node:child_process';
import type { Logger } from './logger.ts';

/**
 * systemd's service notification (sd_notify) for `Type=notify` units: READY=1 once started,
 * WATCHDOG=1 at half the unit's `WatchdogSec`, STOPPING=1 on an orderly stop. Node cannot send on
 * a Unix datagram socket, so each message goes through `systemd-notify`, which waits until the
 * service manager has read it (the unit needs `NotifyAccess=all`). Outside systemd (no
 * NOTIFY_SOCKET) this does nothing.
 */
export class SystemdNotifier {
  readonly #logger: Logger;
  readonly #env: NodeJS.ProcessEnv;
  #watchdog: NodeJS.Timeout | null = null;
  #failures = 0;

  constructor(logger: Logger, env: NodeJS.ProcessEnv = process.env) {
    this.#logger = logger;
    this.#env = env;
  }

  get enabled(): boolean {
    return Boolean(this.#env.NOTIFY_SOCKET);
  }

  /**
   * Tell systemd the service is up, then keep its watchdog fed while `healthy()` says so: a
   * blocked event loop or a failing check stops the pings, and systemd restarts the service.
   */
  ready(status: string, healthy: () => boolean = () => true): Promise<void> {
    if (!this.enabled) return Promise.resolve();
    const usec = Number(this.#env.WATCHDOG_USEC);
    const watchdogPid = this.#env.WATCHDOG_PID ? Number(this.#env.WATCHDOG_PID) : process.pid;
    if (usec > 0 && watchdogPid === process.pid) {
      this.#watchdog = setInterval(
        () => {
          if (healthy()) void this.#send(['WATCHDOG=1']);
          else this.#logger.warn('health check failed: not feeding the systemd watchdog');
        },
        Math.max(1000, usec / 2000),
      );
      this.#watchdog.unref();
    }
    return this.#send(['READY=1', `STATUS=${status}`]);
  }

  stopping(): Promise<void> {
    if (this.#watchdog) clearInterval(this.#watchdog);
    this.#watchdog = null;
    if (!this.enabled) return Promise.resolve();
    return this.#send(['STOPPING=1']);
  }

  #send(assignments: string[]): Promise<void> {
    return new Promise((resolve) => {
      execFile('systemd-notify', assignments, { timeout: 10_000 }, (error) => {
        if (error) {
          this.#failures++;
          if (this.#failures === 1 || this.#failures % 100 === 0)
            this.#logger.warn({ err: error.message, failures: this.#failures }, 'systemd-notify failed');
        }
        resolve();
      });
    });
  }
}

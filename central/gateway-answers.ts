import type { GatewayStatus } from '../protocols/messages.ts';

export type CommandAnswer = NonNullable<GatewayStatus['command']>;

/**
 * Commands that wait for the gateway's answer (an arming with a user's code): the gateway answers
 * on its status, the ingest hands it here, and the request that sent the command gets it — or null
 * when no answer came in time.
 */
export class CommandAnswers {
  readonly #waiting = new Map<string, (answer: CommandAnswer | null) => void>();

  wait(commandId: string, timeoutMs: number): Promise<CommandAnswer | null> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(commandId);
        resolve(null);
      }, timeoutMs);
      this.#waiting.set(commandId, (answer) => {
        clearTimeout(timer);
        this.#waiting.delete(commandId);
        resolve(answer);
      });
    });
  }

  /** An answer from a gateway's status; one nobody waits for (a retained status replayed) is dropped. */
  resolve(answer: CommandAnswer): void {
    this.#waiting.get(answer.id)?.(answer);
  }
}

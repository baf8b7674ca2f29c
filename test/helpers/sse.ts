export interface SseMessage {
  event: string;
  data: unknown;
}

/** A Server-Sent Events client over fetch, collecting messages for assertions. */
export class SseClient {
  readonly messages: SseMessage[] = [];
  readonly #controller = new AbortController();
  readonly #waiters: Array<() => void> = [];
  #done: Promise<void> = Promise.resolve();

  static async open(url: string, cookie: string): Promise<SseClient> {
    const client = new SseClient();
    const response = await fetch(url, {
      headers: { cookie, accept: 'text/event-stream' },
      signal: client.#controller.signal,
    });
    if (!response.ok || !response.body) throw new Error(`stream refused: ${response.status}`);
    client.#done = client.#read(response.body);
    return client;
  }

  /** Resolves with the first message (already received or future) that matches. */
  async next(match: (m: SseMessage) => boolean, timeoutMs = 10_000): Promise<SseMessage> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.messages.find(match);
      if (found) return found;
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error('timed out waiting for a stream message');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, remaining);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  close(): Promise<void> {
    this.#controller.abort();
    return this.#done;
  }

  async #read(body: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of body) {
        buffer += decoder.decode(chunk, { stream: true });
        let end = buffer.indexOf('\n\n');
        while (end !== -1) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event && data) this.messages.push({ event, data: JSON.parse(data) });
          end = buffer.indexOf('\n\n');
        }
        for (const wake of this.#waiters.splice(0)) wake();
      }
    } catch {
      // aborted by close()
    }
  }
}

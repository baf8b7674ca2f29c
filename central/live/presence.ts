/**
 * Which operators have a console open on this node (a live feed connection), and since when: the
 * supervisor's board shows them. A console with several tabs counts once, from its first.
 */
export class OperatorPresence {
  readonly #open = new Map<string, { count: number; since: Date }>();

  /** A feed opened for `username`; the returned function closes it. */
  connect(username: string): () => void {
    const entry = this.#open.get(username) ?? { count: 0, since: new Date() };
    entry.count++;
    this.#open.set(username, entry);
    let closed = false;
    return () => {
      if (closed) return;
      closed = true;
      entry.count--;
      if (entry.count === 0) this.#open.delete(username);
    };
  }

  since(username: string): Date | null {
    return this.#open.get(username)?.since ?? null;
  }
}

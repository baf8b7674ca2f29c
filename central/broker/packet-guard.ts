import type net from 'node:net';
import { Duplex } from 'node:stream';

/**
 * Reads MQTT's framing as the bytes arrive (fixed header: a type byte and a variable-length
 * remaining length) and stops a client the moment it announces a packet larger than allowed —
 * before the broker would buffer it. The first packet (CONNECT, unauthenticated) has its own,
 * small limit. Bytes are passed through unchanged.
 */
export class MqttFraming {
  #needHeader = true;
  #lengthBytes = 0;
  #length = 0;
  #multiplier = 1;
  #remaining = 0;
  #packets = 0;
  readonly maxConnectBytes: number;
  readonly maxPacketBytes: number;

  constructor(maxConnectBytes: number, maxPacketBytes: number) {
    this.maxConnectBytes = maxConnectBytes;
    this.maxPacketBytes = maxPacketBytes;
  }

  /** Feed bytes; returns a reason when the client must be stopped, else null. */
  push(chunk: Buffer): string | null {
    let i = 0;
    while (i < chunk.length) {
      if (this.#remaining > 0) {
        const take = Math.min(this.#remaining, chunk.length - i);
        this.#remaining -= take;
        i += take;
        if (this.#remaining === 0) this.#packets++;
        continue;
      }
      const byte = chunk[i++]!;
      if (this.#needHeader) {
        this.#needHeader = false;
        this.#lengthBytes = 0;
        this.#length = 0;
        this.#multiplier = 1;
        continue;
      }
      this.#length += (byte & 0x7f) * this.#multiplier;
      this.#multiplier *= 128;
      this.#lengthBytes++;
      if (byte & 0x80) {
        if (this.#lengthBytes >= 4) return 'malformed remaining length';
        continue;
      }
      const limit = this.#packets === 0 ? this.maxConnectBytes : this.maxPacketBytes;
      if (this.#length > limit)
        return `${this.#packets === 0 ? 'CONNECT' : 'packet'} of ${this.#length} bytes (limit ${limit})`;
      this.#needHeader = true;
      this.#remaining = this.#length;
      if (this.#remaining === 0) this.#packets++;
    }
    return null;
  }
}

/**
 * The socket as the broker sees it, with MqttFraming in between on the way in. Destroying either
 * side destroys both.
 */
export function guardedConnection(
  socket: net.Socket,
  limits: { maxConnectBytes: number; maxPacketBytes: number },
  onRefuse: (reason: string) => void,
): Duplex {
  const framing = new MqttFraming(limits.maxConnectBytes, limits.maxPacketBytes);
  const connection = new Duplex({
    read() {
      socket.resume();
    },
    write(chunk: Buffer, _encoding, callback) {
      if (socket.destroyed) return callback();
      socket.write(chunk, (error) => callback(error ?? null));
    },
    // What the broker wrote while the socket was busy leaves in one system call, not one per packet.
    writev(chunks, callback) {
      if (socket.destroyed) return callback();
      socket.cork();
      for (let i = 0; i < chunks.length - 1; i++) socket.write(chunks[i]!.chunk);
      socket.write(chunks[chunks.length - 1]!.chunk, (error) => callback(error ?? null));
      socket.uncork();
    },
    final(callback) {
      socket.end(() => callback());
    },
    destroy(error, callback) {
      socket.destroy();
      callback(error);
    },
  });
  socket.on('data', (chunk: Buffer) => {
    const refused = framing.push(chunk);
    if (refused) {
      onRefuse(refused);
      socket.destroy();
      return;
    }
    if (!connection.push(chunk)) socket.pause();
  });
  socket.on('end', () => connection.push(null));
  socket.on('error', (error) => connection.destroy(error));
  socket.on('close', () => connection.destroy());
  return connection;
}

// Minimal typings for farhadi/node-smpp (no bundled types).
declare module 'smpp' {
  import type { EventEmitter } from 'node:events';
  export interface PDU {
    command: string;
    command_status: number;
    sequence_number: number;
    system_id?: string;
    password?: string;
    source_addr?: string;
    destination_addr?: string;
    short_message?: string | Buffer | { message?: string | Buffer };
    message_id?: string;
    response(options?: Record<string, unknown>): PDU;
  }
  export interface Session extends EventEmitter {
    bind_transceiver(options: Record<string, unknown>, callback: (pdu: PDU) => void): void;
    submit_sm(options: Record<string, unknown>, callback: (pdu: PDU) => void): void;
    deliver_sm(options: Record<string, unknown>, callback?: (pdu: PDU) => void): void;
    send(pdu: PDU): void;
    pause(): void;
    resume(): void;
    close(callback?: () => void): void;
    destroy(callback?: () => void): void;
  }
  export interface Server extends EventEmitter {
    listen(port: number, host?: string, callback?: () => void): void;
    close(callback?: () => void): void;
    address(): { port: number };
  }
  export function connect(options: Record<string, unknown>, listener?: () => void): Session;
  export function createServer(
    options: Record<string, unknown>,
    listener: (session: Session) => void,
  ): Server;
  export const ESME_ROK: number;
  export const ESME_RBINDFAIL: number;
}

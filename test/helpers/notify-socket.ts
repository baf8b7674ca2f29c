import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';

/**
 * A stand-in for systemd's notification socket (NOTIFY_SOCKET): a Unix datagram socket that
 * records each message and, as the service manager does, closes the file descriptors sent with
 * it — `systemd-notify` waits on that (its barrier). Node has no Unix datagram sockets, so
 * Debian's python3 holds it.
 */
const RECEIVER = `
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
os.chmod(sys.argv[1], 0o777)
print("listening", flush=True)
while True:
    data, ancillary, _, _ = s.recvmsg(65536, socket.CMSG_SPACE(16 * 4))
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            for i in range(0, len(payload) - len(payload) % 4, 4):
                os.close(int.from_bytes(payload[i:i + 4], sys.byteorder))
    print(data.decode("utf-8", "replace").replace("\\n", " "), flush=True)
`;

export class NotifySocket {
  readonly messages: string[] = [];
  readonly #child: ChildProcess;
  readonly #path: string;

  private constructor(child: ChildProcess, path: string) {
    this.#child = child;
    this.#path = path;
  }

  static async open(path: string): Promise<NotifySocket> {
    fs.rmSync(path, { force: true });
    const child = spawn('python3', ['-c', RECEIVER, path], { stdio: ['ignore', 'pipe', 'inherit'] });
    const socket = new NotifySocket(child, path);
    let buffer = '';
    await new Promise<void>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`notify socket receiver exited ${code}`)));
      child.stdout!.on('data', (chunk: Buffer) => {
        buffer += chunk.toString();
        const lines = buffer.split('\n');
        buffer = lines.pop()!;
        for (const line of lines) {
          if (line === 'listening') resolve();
          else socket.messages.push(line);
        }
      });
    });
    return socket;
  }

  /** Resolves with the first message that matches; fails with what was received and `context()`. */
  async waitFor(match: (message: string) => boolean, timeoutMs: number, context = () => ''): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.messages.find(match);
      if (found) return found;
      if (Date.now() > deadline)
        throw new Error(`no such notification; got ${JSON.stringify(this.messages)}\n${context()}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  close(): void {
    this.#child.kill();
    fs.rmSync(this.#path, { force: true });
  }
}

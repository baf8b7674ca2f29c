import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { crc32, deflateSync } from 'node:zlib';

/** A PNG of `width`×`height` RGB pixels from a pixel function (enough PNG for a test card). */
export function encodePng(
  width: number,
  height: number,
  pixel: (x: number, y: number) => [number, number, number],
) {
  const raw = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y++) {
    const row = y * (width * 3 + 1);
    raw[row] = 0; // filter: none
    for (let x = 0; x < width; x++) raw.set(pixel(x, y), row + 1 + x * 3);
  }
  const chunk = (type: string, data: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8); // 8-bit RGB, no interlace
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A test card whose sweep moves with the time, so each snapshot differs from the last. */
export function testCard(now: number, width = 320, height = 240): Buffer {
  const sweep = Math.floor(now / 100) % width;
  return encodePng(width, height, (x, y) => {
    if (Math.abs(x - sweep) < 4) return [255, 255, 255];
    const band = Math.floor((x / width) * 7);
    const colours: [number, number, number][] = [
      [192, 192, 192],
      [192, 192, 0],
      [0, 192, 192],
      [0, 192, 0],
      [192, 0, 192],
      [192, 0, 0],
      [0, 0, 192],
    ];
    return y > height * 0.8 ? [16, 16, 16] : colours[band]!;
  });
}

/**
 * A simulated IP camera for the demo and tests: `GET /snapshot` answers a PNG test card, as a real
 * camera's snapshot URL answers a JPEG, and `GET /stream` an MJPEG-style stream of them. Counts what
 * it served, so tests can tell whether it was asked.
 */
export class SimulatedCamera {
  #server: http.Server | null = null;
  served = 0;
  streams = 0;
  openStreams = 0;

  /** Starts serving; answers the snapshot URL (the stream's is the same with `/stream`). */
  async start(host = '127.0.0.1', port = 0): Promise<string> {
    this.#server = http.createServer((request, response) => {
      if (request.method === 'GET' && request.url === '/snapshot') {
        this.served++;
        response
          .writeHead(200, { 'content-type': 'image/png', 'cache-control': 'no-store' })
          .end(testCard(Date.now()));
      } else if (request.method === 'GET' && request.url === '/stream') {
        this.streams++;
        this.#stream(response);
      } else {
        response.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => this.#server!.listen(port, host, resolve));
    const address = this.#server.address() as AddressInfo;
    return `http://${host}:${address.port}/snapshot`;
  }

  /** Test cards as multipart/x-mixed-replace, five a second, until the client leaves. */
  #stream(response: http.ServerResponse): void {
    response.writeHead(200, {
      'content-type': 'multipart/x-mixed-replace; boundary=simframe',
      'cache-control': 'no-store',
    });
    const send = () => {
      const frame = testCard(Date.now(), 160, 120);
      response.write(`--simframe\r\nContent-Type: image/png\r\nContent-Length: ${frame.length}\r\n\r\n`);
      response.write(frame);
      response.write('\r\n');
    };
    send();
    const timer = setInterval(send, 200);
    this.openStreams++;
    response.on('close', () => {
      clearInterval(timer);
      this.openStreams--;
    });
  }

  async stop(): Promise<void> {
    this.#server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.#server ? this.#server.close(() => resolve()) : resolve()));
    this.#server = null;
  }
}

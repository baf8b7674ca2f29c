import { type Credentials, fetchWithAuth } from './http-auth.ts';

export interface Frame {
  readonly contentType: string;
  readonly body: Buffer;
}

const MAX_FRAME_BYTES = 4 * 1024 * 1024;
const HEADER_END = Buffer.from('\r\n\r\n');

/** The boundary of a `multipart/x-mixed-replace` stream (cameras' MJPEG), or null. */
export function mjpegBoundary(contentType: string | null): string | null {
  if (!contentType || !/^multipart\/x-mixed-replace/i.test(contentType)) return null;
  const match = /boundary="?([^";]+)"?/i.exec(contentType);
  return match ? match[1]!.replace(/^--/, '') : null;
}

/**
 * Splits an MJPEG stream (multipart/x-mixed-replace) into its pictures, chunk by chunk: by each
 * part's Content-Length when the camera sends one, else up to the next boundary.
 */
export class MjpegParser {
  readonly #delimiter: Buffer;
  #buffer: Buffer = Buffer.alloc(0);

  constructor(boundary: string) {
    this.#delimiter = Buffer.from(`--${boundary}`);
  }

  push(chunk: Buffer): Frame[] {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    const frames: Frame[] = [];
    for (;;) {
      const start = this.#buffer.indexOf(this.#delimiter);
      if (start < 0) break;
      const headerEnd = this.#buffer.indexOf(HEADER_END, start);
      if (headerEnd < 0) break;
      const headers = new Map<string, string>();
      for (const line of this.#buffer
        .subarray(start + this.#delimiter.length, headerEnd)
        .toString('latin1')
        .split('\r\n')) {
        const colon = line.indexOf(':');
        if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
      }
      const bodyStart = headerEnd + HEADER_END.length;
      const length = Number(headers.get('content-length'));
      let bodyEnd: number;
      if (Number.isInteger(length) && length > 0) {
        if (length > MAX_FRAME_BYTES) throw new Error(`a frame of ${length} bytes is too large`);
        if (this.#buffer.length < bodyStart + length) break;
        bodyEnd = bodyStart + length;
      } else {
        const next = this.#buffer.indexOf(this.#delimiter, bodyStart);
        if (next < 0) break;
        bodyEnd = this.#buffer[next - 2] === 0x0d && this.#buffer[next - 1] === 0x0a ? next - 2 : next;
      }
      frames.push({
        contentType: headers.get('content-type') ?? 'image/jpeg',
        body: Buffer.from(this.#buffer.subarray(bodyStart, bodyEnd)),
      });
      this.#buffer = this.#buffer.subarray(bodyEnd);
    }
    if (this.#buffer.length > MAX_FRAME_BYTES + 4096)
      throw new Error('no frame boundary in 4 MiB: not an MJPEG stream');
    return frames;
  }
}

/**
 * Read a camera's MJPEG stream for at most `seconds`, handing over at most one frame per
 * `minIntervalMs` (the uplink is not a video link). Resolves when the time is up, the stream ends or
 * `signal` aborts; the reason names which.
 */
export async function relayMjpeg(
  source: { readonly streamUrl: string; readonly credentials?: Credentials | undefined },
  options: { seconds: number; minIntervalMs: number; signal?: AbortSignal; now?: () => number },
  onFrame: (frame: Frame) => Promise<void>,
): Promise<string> {
  const now = options.now ?? Date.now;
  const response = await fetchWithAuth(
    source.streamUrl,
    source.credentials,
    options.seconds * 1000,
    options.signal,
  );
  const boundary = mjpegBoundary(response.headers.get('content-type'));
  if (!response.ok || !boundary || !response.body) {
    await response.body?.cancel();
    throw new Error(
      response.ok
        ? 'the stream is not MJPEG (multipart/x-mixed-replace)'
        : `stream refused: HTTP ${response.status}`,
    );
  }
  const parser = new MjpegParser(boundary);
  let last = 0;
  try {
    for await (const chunk of response.body) {
      for (const frame of parser.push(Buffer.from(chunk))) {
        if (now() - last < options.minIntervalMs) continue;
        last = now();
        await onFrame(frame);
      }
    }
    return 'the camera ended the stream';
  } catch (error) {
    if (options.signal?.aborted) return 'stopped';
    if ((error as Error).name === 'TimeoutError' || (error as Error).name === 'AbortError')
      return 'time is up';
    throw error;
  }
}

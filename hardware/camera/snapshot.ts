import { type Credentials, fetchWithAuth } from './http-auth.ts';

export interface SnapshotSource {
  readonly snapshotUrl: string;
  readonly credentials?: Credentials | undefined;
  readonly timeoutMs?: number;
}

export interface Snapshot {
  readonly contentType: string;
  readonly body: Buffer;
  readonly takenAt: number;
}

const MAX_BYTES = 8 * 1024 * 1024;

/** One JPEG from the camera's snapshot URL; the error names the camera's answer. */
export async function fetchSnapshot(source: SnapshotSource): Promise<Snapshot> {
  const response = await fetchWithAuth(source.snapshotUrl, source.credentials, source.timeoutMs ?? 5000);
  if (!response.ok) {
    await response.body?.cancel();
    throw new Error(
      `snapshot refused: HTTP ${response.status}${response.status === 401 ? ' (check the camera credentials)' : ''}`,
    );
  }
  const contentType = response.headers.get('content-type') ?? '';
  if (!contentType.startsWith('image/')) {
    await response.body?.cancel();
    throw new Error(`snapshot is not an image (content-type "${contentType}")`);
  }
  const body = Buffer.from(await response.arrayBuffer());
  if (body.length === 0 || body.length > MAX_BYTES)
    throw new Error(`snapshot size ${body.length} bytes is out of range`);
  return { contentType, body, takenAt: Date.now() };
}

import test from 'ava';
import { MjpegParser, mjpegBoundary, relayMjpeg } from '../hardware/camera/mjpeg.ts';
import { SimulatedCamera } from '../hardware/camera/simulated-camera.ts';

const part = (body: string, headers: Record<string, string> = {}) =>
  `--frame\r\n${Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('')}\r\n${body}\r\n`;

test('the boundary comes from the content type, with or without quotes and dashes', (t) => {
  t.is(mjpegBoundary('multipart/x-mixed-replace; boundary=frame'), 'frame');
  t.is(mjpegBoundary('multipart/x-mixed-replace;boundary="--myboundary"'), 'myboundary');
  t.is(mjpegBoundary('image/jpeg'), null);
  t.is(mjpegBoundary(null), null);
});

test('frames are cut by Content-Length or by the next boundary, whatever the chunking', (t) => {
  const stream = Buffer.from(
    part('AAAA', { 'Content-Type': 'image/jpeg', 'Content-Length': '4' }) +
      part('BB\r\nBB', { 'Content-Type': 'image/png' }) +
      part('CCC', { 'Content-Length': '3' }) +
      '--frame\r\n',
  );
  for (const size of [1, 3, 7, stream.length]) {
    const parser = new MjpegParser('frame');
    const frames = [];
    for (let at = 0; at < stream.length; at += size)
      frames.push(...parser.push(stream.subarray(at, at + size)));
    t.deepEqual(
      frames.map((f) => `${f.contentType}:${f.body.toString()}`),
      ['image/jpeg:AAAA', 'image/png:BB\r\nBB', 'image/jpeg:CCC'],
      `chunks of ${size}`,
    );
  }
});

test('garbage without a boundary, or an oversized frame, is refused', (t) => {
  t.throws(() => new MjpegParser('frame').push(Buffer.alloc(4 * 1024 * 1024 + 5000)), {
    message: /not an MJPEG stream/,
  });
  t.throws(() => new MjpegParser('frame').push(Buffer.from(part('x', { 'Content-Length': String(9e6) }))), {
    message: /too large/,
  });
});

test('a camera stream is relayed for the time asked, at most two frames a second', async (t) => {
  const camera = new SimulatedCamera();
  const url = (await camera.start()).replace('/snapshot', '/stream');
  t.teardown(() => camera.stop());
  const frames: number[] = [];
  const started = Date.now();
  const ending = await relayMjpeg({ streamUrl: url }, { seconds: 2, minIntervalMs: 500 }, async (frame) => {
    t.is(frame.contentType, 'image/png');
    frames.push(Date.now() - started);
  });
  t.is(ending, 'time is up');
  t.true(
    frames.length >= 1 && frames.length <= 5,
    `${frames.length} frames in 2 s: never more than the throttle lets through`,
  );
  for (let i = 1; i < frames.length; i++) t.true(frames[i]! - frames[i - 1]! >= 450);

  const stop = new AbortController();
  const stopped = relayMjpeg(
    { streamUrl: url },
    { seconds: 30, minIntervalMs: 0, signal: stop.signal },
    async () => stop.abort(),
  );
  t.is(await stopped, 'stopped');
  await t.throwsAsync(
    relayMjpeg(
      { streamUrl: url.replace('/stream', '/snapshot') },
      { seconds: 2, minIntervalMs: 0 },
      async () => {},
    ),
    {
      message: /not MJPEG/,
    },
  );
});

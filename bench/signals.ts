import { performance } from 'node:perf_hooks';
import { GpioZoneLogic } from '../hardware/gpio/zone-logic.ts';
import {
  decodeFrame,
  encodeFrame,
  interpret,
  LineSplitter,
  signalFor,
} from '../hardware/serial/dsc-it100.ts';
import { ManualClock } from '../lib/clock.ts';

/**
 * Processing cost of turning bus input into a normalized signal, in microseconds per item:
 * a GPIO edge through debounce and classification, and an IT-100 frame through splitting,
 * checksum, interpretation and mapping. The debounce wait itself is not processing.
 */
export function measureSignalProcessing(items: number): { gpioUs: number; serialUs: number } {
  const clock = new ManualClock();
  let signals = 0;
  const zone = new GpioZoneLogic(
    { contact: 'NC', pull: 'up', debounceMs: 0, hasTamperLoop: false },
    clock,
    () => {
      signals++;
    },
  );
  zone.initial(0, null);
  let start = performance.now();
  for (let i = 0; i < items; i++) {
    zone.level('alarm', (i % 2 === 0 ? 1 : 0) as 0 | 1);
    clock.advance(0);
  }
  const gpioUs = ((performance.now() - start) * 1000) / items;
  if (signals !== items) throw new Error(`expected ${items} GPIO signals, got ${signals}`);

  const frames = [encodeFrame('609', '001'), encodeFrame('610', '001')];
  const splitter = new LineSplitter();
  signals = 0;
  start = performance.now();
  for (let i = 0; i < items; i++) {
    for (const line of splitter.push(frames[i % 2]!).lines) {
      const frame = decodeFrame(line);
      if (!frame.ok) continue;
      const message = interpret(frame.command, frame.data);
      if (message && signalFor(message)) signals++;
    }
  }
  const serialUs = ((performance.now() - start) * 1000) / items;
  if (signals !== items) throw new Error(`expected ${items} serial signals, got ${signals}`);
  return { gpioUs, serialUs };
}

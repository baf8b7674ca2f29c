import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import { listSysfsChips, sysfsNumber } from './sysfs-numbering.ts';
import type { Level } from './zone-logic.ts';

const run = promisify(execFile);

/** GPIO lines by BCM number: read, watch edges, drive outputs. One implementation per kernel interface. */
export interface GpioLines {
  readonly name: 'chardev' | 'sysfs';
  /** Start watching; resolves with the levels at start. `onExit` reports a backend that died. */
  watch(
    pins: readonly number[],
    bias: 'up' | 'down',
    onEdge: (pin: number, level: Level) => void,
    onExit: (reason: string) => void,
  ): Promise<Map<number, Level>>;
  write(pin: number, level: Level): Promise<void>;
  close(): Promise<void>;
}

export interface ChardevOptions {
  readonly chip: string;
  /** Directory of gpiomon/gpioget/gpioset, when they are not on PATH (tests use stubs). */
  readonly toolsDir?: string;
}

/** A gpiomon output line, v1 (`%o %e`: 1 rising, 0 falling) or v2 (`%o %E`: rising/falling). */
export function parseGpiomonLine(line: string): { pin: number; level: Level } | null {
  const match = /^(\d+) (rising|falling|0|1)$/.exec(line.trim());
  if (!match) return null;
  return { pin: Number(match[1]), level: match[2] === 'rising' || match[2] === '1' ? 1 : 0 };
}

export function gpiomonArgs(
  major: number,
  chip: string,
  pins: readonly number[],
  bias: 'up' | 'down',
): string[] {
  const pull = bias === 'up' ? 'pull-up' : 'pull-down';
  const offsets = pins.map(String);
  return major >= 2
    ? ['-c', chip, '-e', 'both', '-b', pull, '-F', '%o %E', ...offsets]
    : ['-B', pull, '-b', '-F', '%o %e', chip, ...offsets];
}

export function gpiogetArgs(
  major: number,
  chip: string,
  pins: readonly number[],
  bias: 'up' | 'down',
): string[] {
  const pull = bias === 'up' ? 'pull-up' : 'pull-down';
  const offsets = pins.map(String);
  return major >= 2 ? ['-c', chip, '--numeric', '-b', pull, ...offsets] : ['-B', pull, chip, ...offsets];
}

export function gpiosetArgs(major: number, chip: string, pin: number, level: Level): string[] {
  return major >= 2 ? ['-c', chip, `${pin}=${level}`] : ['--mode=signal', chip, `${pin}=${level}`];
}

/**
 * The GPIO character device through libgpiod's tools: no native addon, works on every Pi model and
 * kernel. gpioset holds an output only while it runs, so each output keeps one child alive.
 */
export class ChardevLines implements GpioLines {
  readonly name = 'chardev';
  readonly #o: ChardevOptions;
  #major = 0;
  #monitor: ChildProcess | null = null;
  readonly #holders = new Map<number, ChildProcess>();
  #closing = false;

  constructor(options: ChardevOptions) {
    this.#o = options;
  }

  #tool(name: string): string {
    return this.#o.toolsDir ? `${this.#o.toolsDir}/${name}` : name;
  }

  async #version(): Promise<number> {
    if (this.#major) return this.#major;
    const { stdout } = await run(this.#tool('gpiomon'), ['--version']);
    const match = /v(\d+)\.\d+/.exec(stdout);
    if (!match) throw new Error(`cannot tell the libgpiod version from "${stdout.trim().slice(0, 60)}"`);
    this.#major = Number(match[1]);
    return this.#major;
  }

  async watch(
    pins: readonly number[],
    bias: 'up' | 'down',
    onEdge: (pin: number, level: Level) => void,
    onExit: (reason: string) => void,
  ): Promise<Map<number, Level>> {
    const major = await this.#version();
    const { stdout } = await run(this.#tool('gpioget'), gpiogetArgs(major, this.#o.chip, pins, bias)).catch(
      (error) => {
        throw new Error(
          `GPIO ${pins.join(', ')} on ${this.#o.chip}: gpioget failed: ${String(error.stderr || error.message).trim()}`,
        );
      },
    );
    const values = stdout.trim().split(/\s+/).map(Number);
    if (values.length !== pins.length || values.some((v) => v !== 0 && v !== 1)) {
      throw new Error(`GPIO ${pins.join(', ')}: unexpected gpioget output "${stdout.trim().slice(0, 60)}"`);
    }
    // An edge between gpioget releasing the lines and gpiomon requesting them is seen at the next edge.
    // Its own process group, so that stopping it stops everything it started.
    const monitor = spawn(this.#tool('gpiomon'), gpiomonArgs(major, this.#o.chip, pins, bias), {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    this.#monitor = monitor;
    let buffer = '';
    let stderr = '';
    monitor.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      for (const line of lines) {
        const edge = parseGpiomonLine(line);
        if (edge && pins.includes(edge.pin)) onEdge(edge.pin, edge.level);
      }
    });
    monitor.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-400);
    });
    monitor.on('exit', (code, signal) => {
      if (!this.#closing) onExit(`gpiomon exited (${signal ?? code}): ${stderr.trim() || 'no message'}`);
    });
    return new Map(pins.map((pin, index) => [pin, values[index] as Level]));
  }

  async write(pin: number, level: Level): Promise<void> {
    const major = await this.#version();
    const previous = this.#holders.get(pin);
    if (previous && previous.exitCode === null && previous.signalCode === null) {
      // The line is busy until the previous gpioset lets go of it.
      const exited = new Promise((resolve) => previous.once('exit', resolve));
      previous.kill('SIGTERM');
      await exited;
    }
    const holder = spawn(this.#tool('gpioset'), gpiosetArgs(major, this.#o.chip, pin, level), {
      stdio: 'ignore',
    });
    this.#holders.set(pin, holder);
    await new Promise<void>((resolve, reject) => {
      holder.once('spawn', () => resolve());
      holder.once('error', (error) => reject(new Error(`GPIO ${pin}: gpioset failed: ${error.message}`)));
    });
  }

  async close(): Promise<void> {
    this.#closing = true;
    const monitor = this.#monitor;
    if (monitor?.pid !== undefined) {
      try {
        process.kill(-monitor.pid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
    for (const holder of this.#holders.values()) holder.kill('SIGTERM');
    this.#holders.clear();
  }
}

interface OnoffGpio {
  readSync(): number;
  writeSync(value: number): void;
  watch(callback: (error: Error | null | undefined, value: number) => void): void;
  unexport(): void;
}
type OnoffModule = {
  Gpio: (new (gpio: number, direction: string, edge?: string) => OnoffGpio) & { accessible: boolean };
};

/** The deprecated sysfs interface through `onoff`, with the kernel 6.6+ numbering resolved. No bias control. */
export class SysfsLines implements GpioLines {
  readonly name = 'sysfs';
  readonly #root: string;
  readonly #gpios: OnoffGpio[] = [];
  readonly #outputs = new Map<number, OnoffGpio>();

  constructor(root = '/sys/class/gpio') {
    this.#root = root;
  }

  #onoff(): OnoffModule {
    return createRequire(import.meta.url)('onoff') as OnoffModule;
  }

  async watch(
    pins: readonly number[],
    _bias: 'up' | 'down',
    onEdge: (pin: number, level: Level) => void,
  ): Promise<Map<number, Level>> {
    const { Gpio } = this.#onoff();
    const levels = new Map<number, Level>();
    for (const pin of pins) {
      const gpio = new Gpio(sysfsNumber(pin, this.#root), 'in', 'both');
      this.#gpios.push(gpio);
      levels.set(pin, gpio.readSync() ? 1 : 0);
      gpio.watch((error, value) => {
        if (!error) onEdge(pin, value ? 1 : 0);
      });
    }
    return levels;
  }

  async write(pin: number, level: Level): Promise<void> {
    let gpio = this.#outputs.get(pin);
    if (!gpio) {
      gpio = new (this.#onoff().Gpio)(sysfsNumber(pin, this.#root), 'out');
      this.#outputs.set(pin, gpio);
    }
    gpio.writeSync(level);
  }

  async close(): Promise<void> {
    for (const gpio of [...this.#gpios, ...this.#outputs.values()]) gpio.unexport();
    this.#gpios.length = 0;
    this.#outputs.clear();
  }
}

export interface GpioSelection {
  readonly backend: 'auto' | 'chardev' | 'sysfs';
  readonly chip: string;
  readonly toolsDir?: string;
  readonly devDir?: string;
  readonly sysfsRoot?: string;
}

/**
 * The character device when the kernel has one and libgpiod's tools are installed, else sysfs when
 * it is there and writable, else an error that names the pins and why.
 */
export async function selectGpioLines(selection: GpioSelection, pins: readonly number[]): Promise<GpioLines> {
  const devDir = selection.devDir ?? '/dev';
  const what = `GPIO ${pins.join(', ')}`;
  const hasChardev = existsSync(devDir) && readdirSync(devDir).some((name) => /^gpiochip\d+$/.test(name));
  const tool = selection.toolsDir ? `${selection.toolsDir}/gpiomon` : 'gpiomon';
  const hasTools = await run(tool, ['--version']).then(
    () => true,
    () => false,
  );
  if (selection.backend === 'chardev' || (selection.backend === 'auto' && hasChardev && hasTools)) {
    if (!hasChardev)
      throw new Error(`${what}: no GPIO character device (${devDir}/gpiochip*) on this machine`);
    if (!hasTools) throw new Error(`${what}: libgpiod tools not found (apt-get install gpiod)`);
    return new ChardevLines({
      chip: selection.chip,
      ...(selection.toolsDir ? { toolsDir: selection.toolsDir } : {}),
    });
  }
  const sysfsRoot = selection.sysfsRoot ?? '/sys/class/gpio';
  const hasSysfs = listSysfsChips(sysfsRoot).length > 0;
  if (selection.backend === 'sysfs' || (selection.backend === 'auto' && hasSysfs)) {
    if (!hasSysfs) throw new Error(`${what}: ${sysfsRoot} has no GPIO chips (sysfs GPIO not available)`);
    return new SysfsLines(sysfsRoot);
  }
  throw new Error(
    `${what}: GPIO is not accessible here — no character device with libgpiod tools (${hasChardev ? 'device present, tools missing' : `no ${devDir}/gpiochip*`}) and no sysfs GPIO (${sysfsRoot})`,
  );
}

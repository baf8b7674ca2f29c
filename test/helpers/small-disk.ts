import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface SmallDisk {
  readonly dir: string;
  /** Fill the file system to the last byte (ENOSPC for the next write). */
  fill(): void;
  /** Give the space back. */
  free(): void;
  unmount(): void;
}

/**
 * A real, small file system (tmpfs) to run out of space on: the kernel's ENOSPC, not a mock.
 * Mounting needs root (CAP_SYS_ADMIN), as CI and `npm test`'s system set-up run.
 */
export function smallDisk(sizeKiB: number): SmallDisk {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-small-disk-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeKiB}k`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (error) {
    throw new Error(
      `this test runs the gateway on a real full file system and needs to mount a tmpfs (run as root): ${(error as Error).message}`,
    );
  }
  const filler = path.join(dir, 'filler');
  return {
    dir,
    fill() {
      const chunk = Buffer.alloc(4096, 0x61);
      const fd = fs.openSync(filler, 'a');
      try {
        for (;;) fs.writeSync(fd, chunk);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
      } finally {
        fs.closeSync(fd);
      }
      // The last partial block too.
      const fd2 = fs.openSync(filler, 'a');
      try {
        for (;;) fs.writeSync(fd2, Buffer.alloc(1, 0x61));
      } catch {
        // full to the byte
      } finally {
        fs.closeSync(fd2);
      }
    },
    free() {
      fs.rmSync(filler, { force: true });
    },
    unmount() {
      execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

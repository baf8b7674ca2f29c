// Rebuild nan-based addons (onoff -> epoll) against the pinned Node's headers.
// npm builds them against the machine's Node (nodedir), which may be an older ABI.
// On a Pi whose system Node already matches, this is a no-op.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
const root = path.dirname(path.dirname(new URL(import.meta.url).pathname));

function epollLoads() {
  try {
    require(path.join(root, 'node_modules/epoll'));
    return true;
  } catch (error) {
    return String(error?.message ?? error);
  }
}

if (!existsSync(path.join(root, 'node_modules/epoll'))) process.exit(0);
const first = epollLoads();
if (first === true) process.exit(0);
const headersPkg = `node-${process.platform}-${process.arch}`;
const candidates = [
  path.join(root, 'node_modules', headersPkg),
  path.join(root, 'node_modules/node/node_modules', headersPkg),
];
const nodedir = candidates.find((dir) => existsSync(path.join(dir, 'include/node/node.h')));
if (!nodedir) {
  console.warn(
    `[vigil] epoll does not load (${first}) and no ${headersPkg} headers found; GPIO via onoff unavailable`,
  );
  process.exit(0);
}
console.log(`[vigil] rebuilding epoll for Node ${process.version} against ${nodedir}`);
execFileSync('npm', ['rebuild', 'epoll', `--nodedir=${nodedir}`], { cwd: root, stdio: 'inherit' });
const second = epollLoads();
if (second !== true) console.warn(`[vigil] epoll still does not load: ${second}`);

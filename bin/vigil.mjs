#!/usr/bin/env node
// The `vigil` command, from the source tree (bin/cli.ts, types stripped by Node 24) or compiled by
// `npm run build` (dist/bin/cli.js beside this file). Started by a Node older than 24, it
// re-executes itself under the Node pinned by the package (node_modules/.bin/node).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  let pinned = null;
  for (let dir = here; !pinned && dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'node_modules/.bin/node');
    if (existsSync(candidate)) pinned = candidate;
  }
  if (!pinned) {
    process.stderr.write(`vigil needs Node.js 24 (this is ${process.version}); run 'npm install' first.\n`);
    process.exit(1);
  }
  const result = spawnSync(
    pinned,
    [...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)],
    {
      stdio: 'inherit',
    },
  );
  process.exit(result.status ?? 1);
}
const compiled = path.join(here, 'cli.js');
const { main } = await import(existsSync(compiled) ? compiled : './cli.ts');
await main(process.argv.slice(2));

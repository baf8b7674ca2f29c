#!/usr/bin/env node
// The `vigil` command. Runs under the Node pinned by the package (node_modules/.bin/node);
// started by an older system Node, it re-executes itself under the pinned one.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  const pinned = fileURLToPath(new URL('../node_modules/.bin/node', import.meta.url));
  if (!existsSync(pinned)) {
    process.stderr.write(`vigil needs Node.js 24 (this is ${process.version}); run 'npm install' first.\n`);
    process.exit(1);
  }
  const result = spawnSync(pinned, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: 'inherit',
  });
  process.exit(result.status ?? 1);
}
const { main } = await import('./cli.ts');
await main(process.argv.slice(2));

// `npm run build`: compile the TypeScript to dist/ (imports rewritten to .js) and copy the assets
// the code reads beside itself (pages, SQL migrations). Production gateways run dist/: a Raspberry
// Pi should not spend memory and start-up time stripping types.
import { execFileSync } from 'node:child_process';
import { cpSync, readdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const dist = path.join(root, 'dist');
const ASSETS = /\.(html|sql)$/;

rmSync(dist, { recursive: true, force: true });
execFileSync(path.join(root, 'node_modules/.bin/tsc'), ['-p', path.join(root, 'tsconfig.build.json')], {
  stdio: 'inherit',
});

function copyAssets(dir, pattern) {
  for (const name of readdirSync(path.join(root, dir))) {
    const relative = path.join(dir, name);
    if (statSync(path.join(root, relative)).isDirectory()) copyAssets(relative, pattern);
    else if (pattern.test(name)) cpSync(path.join(root, relative), path.join(dist, relative));
  }
}
for (const dir of ['gateway', 'central']) copyAssets(dir, ASSETS);
// The pages' own modules and styles (served as they are, beside the compiled servers).
copyAssets('web/ui', /\.(js|css)$/);
// The command itself (plain JavaScript): it loads dist/bin/cli.js when it sits beside it.
cpSync(path.join(root, 'bin/vigil.mjs'), path.join(dist, 'bin/vigil.mjs'));
console.log(`built ${path.relative(process.cwd(), dist) || dist}`);

import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { EVENT_TYPES } from '../protocols/event-codes.ts';

/** A file the web pages load: served as is, from memory. */
export interface WebAsset {
  readonly type: string;
  readonly body: string;
}

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

/**
 * The UI library (Preact with htm, ES modules served unbundled: a page's import map names them) and
 * the pages' own modules under web/ui/. Both servers (the central's and the gateway's) serve the same
 * map, so the operator console and the homeowner panel on the gateway share their components.
 */
const VENDOR: Record<string, string> = {
  '/assets/vendor/preact.mjs': 'preact',
  '/assets/vendor/preact-hooks.mjs': 'preact/hooks',
  '/assets/vendor/htm.mjs': 'htm',
};

/**
 * Files loaded by URL, not by import: Chart.js's minified build (210 KB against 510 KB for its ES
 * modules), which sets `globalThis.Chart` when imported; found beside its package's entry point.
 */
const BESIDE: Record<string, { readonly entry: string; readonly file: string }> = {
  '/assets/vendor/chart.umd.min.js': { entry: 'chart.js', file: 'chart.umd.min.js' },
};

function readTree(dir: string, prefix: string, into: Map<string, WebAsset>): void {
  for (const name of readdirSync(dir)) {
    const file = path.join(dir, name);
    if (statSync(file).isDirectory()) readTree(file, `${prefix}${name}/`, into);
    else {
      const type = TYPES[path.extname(name)];
      if (type) into.set(`${prefix}${name}`, { type, body: readFileSync(file, 'utf8') });
    }
  }
}

export function loadWebAssets(): ReadonlyMap<string, WebAsset> {
  const assets = new Map<string, WebAsset>();
  for (const [url, specifier] of Object.entries(VENDOR)) {
    const file = fileURLToPath(import.meta.resolve(specifier));
    assets.set(url, { type: TYPES['.mjs']!, body: readFileSync(file, 'utf8') });
  }
  for (const [url, { entry, file }] of Object.entries(BESIDE)) {
    const dir = path.dirname(fileURLToPath(import.meta.resolve(entry)));
    assets.set(url, { type: TYPES['.js']!, body: readFileSync(path.join(dir, file), 'utf8') });
  }
  readTree(fileURLToPath(new URL('./ui', import.meta.url)), '/assets/ui/', assets);
  // The catalogue's titles for the pages' plain words, from the one list the protocol keeps.
  const titles = Object.fromEntries(Object.entries(EVENT_TYPES).map(([type, entry]) => [type, entry.title]));
  assets.set('/assets/ui/lib/event-titles.js', {
    type: TYPES['.js']!,
    body: `export const EVENT_TITLES = ${JSON.stringify(titles)};\n`,
  });
  return assets;
}

/** The import map every page puts before its first module (CSP allows the pages' inline scripts). */
export const IMPORT_MAP = `<script type="importmap">${JSON.stringify({
  imports: Object.fromEntries(Object.entries(VENDOR).map(([url, specifier]) => [specifier, url])),
})}</script>`;

/** A page shell (HTML beside its server), with the import map in place of its `<!-- import-map -->`. */
export function readPage(url: URL): string {
  return readFileSync(url, 'utf8').replace('<!-- import-map -->', IMPORT_MAP);
}

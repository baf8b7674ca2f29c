import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';

const DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../docs/screenshots');

/** Sizes the README's screenshots are taken at: a desk screen and a phone. */
export const DESK = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };

/** Save what the page shows as docs/screenshots/<name>.png (linked from the README). */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(DIR, { recursive: true });
  await page.screenshot({ path: path.join(DIR, `${name}.png`), animations: 'disabled' });
}

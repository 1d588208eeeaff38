// A real browser for the page tests: Debian's Chromium, driven by playwright-core (which downloads
// no browser of its own). `.ci/run` installs it; elsewhere the tests skip with a reason, unless CI
// is set, where a missing browser is a failure. CHROMIUM_PATH overrides the path.

import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { type Browser, chromium, type Page } from 'playwright-core';

export const chromiumPath =
  process.env.CHROMIUM_PATH ??
  ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p)) ??
  '/usr/bin/chromium';

/** A reason to skip the browser tests, or false. */
export const skipBrowser: string | false =
  existsSync(chromiumPath) || process.env.CI
    ? false
    : `no Chromium at ${chromiumPath} (apt-get install chromium, or set CHROMIUM_PATH)`;

export function launch(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath, headless: true, timeout: 120_000 });
}

/** Screenshots for docs/ are written only when LAISSEZ_SCREENSHOTS=1, never on a plain test run. */
export const screenshots = process.env.LAISSEZ_SCREENSHOTS === '1';

export async function keepScreenshot(page: Page, name: string): Promise<void> {
  if (!screenshots) return;
  const dir = new URL('../../../../docs/screenshots/', import.meta.url);
  await mkdir(dir, { recursive: true });
  await page.screenshot({ path: new URL(`${name}.png`, dir).pathname, fullPage: true });
}

/** Polls `check` until it returns a truthy value; generous, since the machine may be loaded. */
export async function until<T>(
  what: string,
  check: () => Promise<T> | T,
  timeout = 60_000,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

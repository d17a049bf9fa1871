import { existsSync } from 'node:fs';
import type { TestContext } from 'node:test';
import { chromium, type Browser } from 'playwright-core';

/** Debian's Chromium (CI installs the `chromium` package; nothing is downloaded). */
export const CHROMIUM = process.env.HEALWATCH_CHROMIUM ?? '/usr/bin/chromium';

/**
 * Launches headless Chromium for a test (closed when it ends), or skips the test when Chromium is not
 * installed (CI installs it, so the browser tests run there).
 */
export async function launchBrowser(t: TestContext): Promise<Browser | undefined> {
  if (!existsSync(CHROMIUM)) {
    t.skip(`Chromium not installed at ${CHROMIUM}`);
    return undefined;
  }
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    // As root in CI there is no sandbox; the background-networking flags keep Chromium from calling out.
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  t.after(() => browser.close());
  return browser;
}

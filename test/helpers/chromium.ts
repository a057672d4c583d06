/**
 * Debian's Chromium for the tests that check pages in a real browser: where it is, why a test is
 * skipped without it (never in CI, where `.ci/run` installs it), and a headless context started as
 * this machine needs it (no background networking: the machine's network is closed).
 */
import { existsSync } from 'node:fs';
import { type BrowserContext, chromium } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** The skip reason of a browser test (`what` is checked in a browser), or false when it runs. */
export function chromiumSkip(what: string): string | false {
  return !existsSync(CHROMIUM) && !process.env.CI
    ? `${CHROMIUM} not found (install Debian's chromium); ${what} is not checked in a browser`
    : false;
}

/** A headless Chromium with its profile in `profileDir`, 1280 × 900. */
export function launchChromium(profileDir: string): Promise<BrowserContext> {
  return chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    args: CHROMIUM_ARGS,
    headless: true,
    viewport: { width: 1280, height: 900 },
  });
}

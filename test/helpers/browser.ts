// Debian's Chromium driven by playwright-core (never a downloaded browser), with the flags this machine needs:
// no sandbox as root, and no background networking (the network is closed; Chromium would retry for ever).
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/** Debian's package here; CHROMIUM_PATH elsewhere (GitHub's runner image ships Google Chrome, .github/workflows). */
export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
export const hasChromium = existsSync(CHROMIUM);

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync', '--disable-dev-shm-usage'],
  });
}

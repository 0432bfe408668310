/**
 * Headless Debian Chromium driven by playwright-core, with fake camera and microphone, kept off every
 * network but loopback by the flags below.
 */
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM_PATH = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';

export const CHROMIUM_FLAGS = [
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
  '--autoplay-policy=no-user-gesture-required',
];

/**
 * playwright gives each launch a fresh, temporary user-data dir. `extraArgs`: flags a test needs
 * besides these; one that sets a switch of the defaults replaces it (e.g.
 * `--autoplay-policy=document-user-activation-required` for a test of blocked sound).
 */
export function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  const switchOf = (flag: string) => flag.split('=')[0];
  const replaced = new Set(extraArgs.map(switchOf));
  const args = [...CHROMIUM_FLAGS.filter((flag) => !replaced.has(switchOf(flag))), ...extraArgs];
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args });
}

/** The broadcast load tool's presenter: the SDK test page in Chromium, publishing a fake camera and microphone. */
import type { Browser } from 'playwright-core';
import { openSdkPage, sdkJoin } from './sdkPage.js';
import type { BroadcastLoadOptions } from './broadcastOptions.js';

/** Joins `room` as the presenter and publishes; resolves once its encoder has had time to ramp up. */
export async function presenterJoins(browser: Browser, serverUrl: string, o: BroadcastLoadOptions, room: string): Promise<void> {
  const page = await openSdkPage(browser, serverUrl);
  // tsx compiles with esbuild's keepNames: functions passed to page.evaluate call its __name helper.
  await page.evaluate('globalThis.__name ??= (fn) => fn');
  const joined = await Promise.race([
    sdkJoin(page, {
      identity: 'bench-presenter',
      name: 'Presenter',
      role: o.presenterRole,
      room,
      kind: o.kind,
      caseId: 'BENCH-1',
      site: { id: 'bench-p', name: 'Provincial Hospital', level: 'tertiary_hospital' },
    }),
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error('presenter did not join and publish within 20 s')), 20_000).unref(),
    ),
  ]);
  if (joined !== 'joined') throw new Error(`presenter is ${joined}`);
  await new Promise((r) => setTimeout(r, 1500)); // the presenter's encoder and bitrate ramp up
}

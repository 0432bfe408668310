/**
 * Per-file test environment: a real server (and optionally headless Chromium) started before the
 * file's tests and torn down after them, plus the signaling clients to close.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import type { MediaServer } from '../../server/MediaServer.js';
import { launchChromium } from '../../bench/lib/browser.js';
import { startTestServer } from './server.js';
import type { TestClient } from './signalingClient.js';

export interface TestEnvironment {
  readonly server: MediaServer;
  readonly browser: Browser;
  /** Closes the client when the file's tests are done; returns it. */
  track<C extends TestClient>(client: C): C;
}

/** `env` may be a function, read when the server starts (e.g. after a TURN server it names is up). */
export function useTestEnvironment(
  options: {
    env?: Record<string, string> | (() => Record<string, string>);
    browser?: boolean;
    /** Chromium flags besides (or replacing) the defaults, e.g. another autoplay policy; implies `browser`. */
    browserArgs?: string[];
  } = {},
): TestEnvironment {
  let server: MediaServer | undefined;
  let browser: Browser | undefined;
  const clients: TestClient[] = [];
  beforeAll(async () => {
    server = await startTestServer(typeof options.env === 'function' ? options.env() : options.env);
    if (options.browser || options.browserArgs) browser = await launchChromium(options.browserArgs);
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await browser?.close();
    await server?.close();
  });
  return {
    get server() {
      if (!server) throw new Error('the test server is not running (used outside a test?)');
      return server;
    },
    get browser() {
      if (!browser) throw new Error('no browser: useTestEnvironment({ browser: true })');
      return browser;
    },
    track(client) {
      clients.push(client);
      return client;
    },
  };
}

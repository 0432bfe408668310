/**
 * The script-tag bundle (`/sdk/telemed-sdk.iife.js`, global `TelemedSDK`): the SDK, plus one thing a
 * page should not have to ask for. Once the page is idle after loading, the browser's half of loading
 * the media device — what `ConsultationClient.warmUp()` does: two throwaway peer connections asking
 * the browser for its codecs, ≈ 50–60 ms, more on a page still busy loading — is done in the
 * background, so a page that joins without a pre-join screen (a link from the clinic's own system)
 * does not wait for it after the click. It is done once per page; `join()` uses it. The npm package's
 * entry (index.ts) does nothing on import: a bundler's consumer calls `warmUp()` where it suits.
 */
import { prepareHandler } from './DeviceLoader.js';

export * from './index.js';

// A page that never joins (the operators' dashboard uses the bundle for its labels) opts out with
// `<script src="…/telemed-sdk.iife.js" data-warm-up="false">`.
const optedOut = typeof document !== 'undefined' && document.currentScript?.dataset['warmUp'] === 'false';
if (!optedOut && typeof window !== 'undefined' && typeof RTCPeerConnection !== 'undefined') {
  const warm = (): void => void prepareHandler().catch(() => undefined);
  if (typeof window.requestIdleCallback === 'function') window.requestIdleCallback(warm, { timeout: 1000 });
  else setTimeout(warm, 0);
}

/**
 * Drives the client SDK inside a Chromium page the way a clinic's own page would: the page loads the
 * SDK bundle from the server, mints a development token and joins. State for assertions is kept on
 * `window.t` (client, events seen, errors).
 */
import { build } from 'esbuild';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { RoomKind, SiteLevel } from '../../signaling/protocol/index.js';

export interface SdkJoinSpec {
  identity: string;
  name: string;
  role: string;
  room: string;
  kind?: RoomKind;
  /** Defaults to a test case id; null for rooms without one (broadcast, training). */
  caseId?: string | null;
  site?: { id: string; name: string; level: SiteLevel };
  /** Publish camera + microphone after joining (default true when the role may). */
  publish?: boolean;
  /** Signaling URL if not the page's origin (e.g. a proxy). */
  url?: string;
  forceTcp?: boolean;
  iceTransportPolicy?: 'all' | 'relay';
  /** Camera constraints (tests that run many pages on two cores ask for less than 720p). */
  camera?: MediaTrackConstraints;
  /** An access token to use instead of minting one at the page's /dev/token (loopback host names only). */
  token?: string;
}

export async function openSdkPage(browser: Browser, serverUrl: string): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  page.on('pageerror', (e) => console.error('[page error]', e));
  await page.goto(`${serverUrl}/sdk-test.html`);
  return page;
}

/** Joins; resolves with 'joined' or 'waiting' (then `window.t.admitted` resolves later). */
export function sdkJoin(page: Page, spec: SdkJoinSpec): Promise<'joined' | 'waiting'> {
  return page.evaluate(async (spec) => {
    const w = window as unknown as {
      t: Record<string, unknown>;
      TelemedSDK: { ConsultationClient: { join(o: object): Promise<unknown> } };
    };
    const t: Record<string, unknown> = { events: [] as unknown[][], waiting: false };
    w.t = t;
    const res = spec.token
      ? new Response(JSON.stringify({ token: spec.token }))
      : await fetch('/dev/token', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            identity: spec.identity,
            name: spec.name,
            role: spec.role,
            room: spec.room,
            kind: spec.kind ?? 'consultation',
            ...(spec.caseId === null ? {} : { caseId: spec.caseId ?? 'CASE-E2E' }),
            site: spec.site ?? { id: 'site', name: 'Test Hospital', level: 'county_hospital' },
          }),
        });
    const minted = (await res.json()) as { token?: string; error?: { message: string } };
    if (!minted.token) throw new Error(`dev token refused: ${minted.error?.message ?? res.status}`);
    const token = minted.token;
    let markWaiting!: (v: 'waiting') => void;
    const waiting = new Promise<'waiting'>((r) => (markWaiting = r));
    const joining = w.TelemedSDK.ConsultationClient.join({
      url: spec.url ?? location.origin,
      token,
      ...(spec.forceTcp ? { forceTcp: true } : {}),
      ...(spec.iceTransportPolicy ? { iceTransportPolicy: spec.iceTransportPolicy } : {}),
      onWaiting: () => {
        t['waiting'] = true;
        markWaiting('waiting');
      },
    }).then(async (client) => {
      type C = {
        on(e: string, f: (...a: unknown[]) => void): void;
        can(p: string): boolean;
        publishCamera(o?: object): Promise<unknown>;
        publishMicrophone(): Promise<unknown>;
      };
      const c = client as C;
      t['client'] = c;
      // Play what arrives, as a real page does: Chromium measures audio energy at playout.
      c.on('trackAdded', (track) => {
        const { kind, mediaStreamTrack } = track as { kind: string; mediaStreamTrack: MediaStreamTrack };
        const el = document.createElement(kind === 'video' ? 'video' : 'audio');
        el.muted = kind === 'video';
        el.srcObject = new MediaStream([mediaStreamTrack]);
        document.body.append(el);
        void el.play().catch(() => undefined);
      });
      for (const e of [
        'participantJoined',
        'participantLeft',
        'participantConnection',
        'connectionStateChanged',
        'mutedByModerator',
        'unmuteAllowed',
        'lobbyChanged',
        'chatMessage',
        'disconnected',
        'handRaised',
        'roomLocked',
        'unpublished',
        'tokenExpiring',
        'connectionQualityChanged',
        'error',
      ]) {
        // An Error's message is not enumerable: kept by hand, as JSON would drop it.
        const plain = (a: unknown) => (a instanceof Error ? { message: a.message } : JSON.parse(JSON.stringify(a ?? null)));
        c.on(e, (...args: unknown[]) => (t['events'] as unknown[][]).push([e, ...args.map(plain)]));
      }
      if (spec.publish !== false && c.can('publish_video')) await c.publishCamera(spec.camera ? { constraints: spec.camera } : {});
      if (spec.publish !== false && c.can('publish_audio')) await c.publishMicrophone();
      return 'joined' as const;
    });
    t['admitted'] = joining;
    joining.catch((e: Error) => (t['error'] = e.message));
    return Promise.race([joining, waiting]);
  }, spec);
}

/** Events of one name seen by the page's client, with their arguments. */
export function events(page: Page, name: string): Promise<unknown[][]> {
  return page.evaluate(
    (name) => (window as unknown as { t: { events: unknown[][] } }).t.events.filter((e) => e[0] === name).map((e) => e.slice(1)),
    name,
  );
}

export interface InboundStats {
  name: string;
  kind: string;
  framesDecoded: number;
  totalAudioEnergy: number;
  packetsReceived: number;
}

export interface PathStats {
  inbound: InboundStats[];
  /** Candidate pairs in use: local candidate type and protocol, remote address. */
  pairs: { localType: string; protocol: string; remoteAddress: string; relayProtocol?: string }[];
}

/**
 * The receive-side stats of the SDK client kept at `window[holder].client` (`t` on the SDK test page,
 * `demo` on the demo page), each inbound stream named after the participant sending it.
 */
export function pathStats(page: Page, holder = 't'): Promise<PathStats> {
  return page.evaluate(async (holder) => {
    type T = { mediaStreamTrack: MediaStreamTrack; participant: { displayName: string } };
    const client = (window as unknown as Record<string, { client: { tracks: T[]; getStats(): Promise<RTCStatsReport[]> } }>)[holder]!
      .client;
    const owner = new Map(client.tracks.map((t) => [t.mediaStreamTrack.id, t.participant.displayName]));
    const out: PathStats = { inbound: [], pairs: [] };
    for (const report of await client.getStats()) {
      const byId = new Map<string, Record<string, unknown>>();
      report.forEach((s: Record<string, unknown>) => byId.set(s['id'] as string, s));
      for (const s of byId.values()) {
        const name = owner.get(s['trackIdentifier'] as string);
        if (s['type'] === 'inbound-rtp' && name) {
          out.inbound.push({
            name,
            kind: String(s['kind']),
            framesDecoded: Number(s['framesDecoded'] ?? 0),
            totalAudioEnergy: Number(s['totalAudioEnergy'] ?? 0),
            packetsReceived: Number(s['packetsReceived'] ?? 0),
          });
        }
        if (s['type'] === 'candidate-pair' && s['state'] === 'succeeded' && s['nominated']) {
          const local = byId.get(s['localCandidateId'] as string) ?? {};
          const remote = byId.get(s['remoteCandidateId'] as string) ?? {};
          const pair: PathStats['pairs'][number] = {
            localType: String(local['candidateType']),
            protocol: String(local['protocol']),
            remoteAddress: String(remote['address']),
          };
          if (local['relayProtocol']) pair.relayProtocol = String(local['relayProtocol']);
          out.pairs.push(pair);
        }
      }
    }
    return out;
  }, holder);
}

/** Polls until `check` passes on the page's stats, or throws with the last stats seen. */
export async function waitForStats(page: Page, check: (s: PathStats) => boolean, timeoutMs = 20_000, holder = 't'): Promise<PathStats> {
  const deadline = Date.now() + timeoutMs;
  let last: PathStats | undefined;
  while (Date.now() < deadline) {
    last = await pathStats(page, holder);
    if (check(last)) return last;
    await new Promise((r) => setTimeout(r, 400));
  }
  throw new Error(`stats condition not met: ${JSON.stringify(last)}`);
}

/**
 * Starts watching, every 100 ms inside the page, the frames decoded over every remote video the
 * client holds; `longestFrameGap` then says the longest time no new frame was decoded (a receiver's
 * media gap), measured in the page, free of the test process's own pauses.
 */
export function watchFrames(page: Page, holder = 't'): Promise<void> {
  return page.evaluate((holder) => {
    type Client = { getStats(): Promise<RTCStatsReport[]> };
    const w = window as unknown as Record<string, { client: Client; frameWatch?: { longest: number; timer: number } }>;
    const state = { longest: 0, timer: 0 };
    let frames = -1;
    let at = performance.now();
    state.timer = window.setInterval(() => {
      void w[holder]!.client.getStats().then((reports) => {
        let sum = 0;
        for (const report of reports)
          report.forEach((s: Record<string, unknown>) => {
            if (s['type'] === 'inbound-rtp' && s['kind'] === 'video') sum += Number(s['framesDecoded'] ?? 0);
          });
        const now = performance.now();
        if (sum > frames) {
          if (frames >= 0) state.longest = Math.max(state.longest, now - at);
          frames = sum;
          at = now;
        } else state.longest = Math.max(state.longest, now - at);
      });
    }, 100);
    w[holder]!.frameWatch = state;
  }, holder);
}

/** The longest stretch (ms) without a newly decoded remote frame since `watchFrames`; stops watching. */
export function longestFrameGap(page: Page, holder = 't'): Promise<number> {
  return page.evaluate((holder) => {
    const watch = (window as unknown as Record<string, { frameWatch?: { longest: number; timer: number } }>)[holder]!.frameWatch!;
    clearInterval(watch.timer);
    return Math.round(watch.longest);
  }, holder);
}

/** Built once per process. */
let sourceBundle: Promise<string> | undefined;

/**
 * A browser context whose pages get the SDK's script-tag bundle built from the sources now (not the
 * server's client-sdk/dist), so a test of node processes needs no build step and tests this code.
 */
export async function contextWithSourceSdk(browser: Browser): Promise<BrowserContext> {
  sourceBundle ??= build({
    entryPoints: ['client-sdk/src/index.ts'],
    bundle: true,
    format: 'iife',
    globalName: 'TelemedSDK',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  }).then((bundle) => bundle.outputFiles[0]!.text);
  const body = await sourceBundle;
  const context = await browser.newContext();
  await context.route('**/sdk/telemed-sdk.iife.js', (route) => route.fulfill({ status: 200, contentType: 'application/javascript', body }));
  return context;
}

/**
 * Headless Debian Chromium driven by playwright-core, with fake camera and microphone, kept off every
 * network but loopback by the flags below.
 */
import { chromium, type Browser, type Page } from 'playwright-core';

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

/** playwright gives each launch a fresh, temporary user-data dir. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_FLAGS });
}

export interface RemoteMediaStats {
  displayName: string;
  kind: 'audio' | 'video';
  framesDecoded: number;
  totalAudioEnergy: number;
  bytesReceived: number;
}

export interface PageMediaStats {
  remote: RemoteMediaStats[];
  /** Remote addresses of the ICE candidate pairs in use: must all be loopback here. */
  remoteAddresses: string[];
}

/** Reads the demo page's WebRTC stats and names each inbound stream after the participant sending it. */
export function mediaStats(page: Page): Promise<PageMediaStats> {
  return page.evaluate(async () => {
    type Demo = { client: { tracks: { mediaStreamTrack: MediaStreamTrack; participant: { displayName: string } }[]; getStats(): Promise<RTCStatsReport[]> } };
    const { client } = (window as unknown as { demo: Demo }).demo;
    const owner = new Map(client.tracks.map((t) => [t.mediaStreamTrack.id, t.participant.displayName]));
    const remote: RemoteMediaStats[] = [];
    const remoteAddresses: string[] = [];
    for (const report of await client.getStats()) {
      const byId = new Map<string, Record<string, unknown>>();
      report.forEach((s: Record<string, unknown>) => byId.set(s['id'] as string, s));
      for (const s of byId.values()) {
        // mediasoup-client's bandwidth "probator" stream belongs to no participant: skip it.
        const displayName = owner.get(s['trackIdentifier'] as string);
        if (s['type'] === 'inbound-rtp' && displayName) {
          remote.push({
            displayName,
            kind: s['kind'] as 'audio' | 'video',
            framesDecoded: Number(s['framesDecoded'] ?? 0),
            totalAudioEnergy: Number(s['totalAudioEnergy'] ?? 0),
            bytesReceived: Number(s['bytesReceived'] ?? 0),
          });
        }
        if (s['type'] === 'candidate-pair' && s['state'] === 'succeeded' && s['nominated']) {
          const rc = byId.get(s['remoteCandidateId'] as string);
          if (rc) remoteAddresses.push(String(rc['address'] ?? rc['ip']));
        }
      }
    }
    return { remote, remoteAddresses };
  });
}

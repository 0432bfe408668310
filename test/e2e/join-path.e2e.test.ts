/**
 * The path to the first picture, in a real browser: the script-tag bundle asks the browser for its
 * codecs once the page is idle, and a joining page loads its media device from that and the
 * capabilities the server pushes on connecting (it never asks `getRouterRtpCapabilities`), sets its
 * answer without waiting for `connectTransport`'s answer, in one offer/answer that carries mediasoup's
 * probation stream too — and pictures and sound then arrive. A `connectTransport` the server refuses:
 * the transport is closed on both sides and the tracks are asked for once more on a fresh one; refused
 * again, each subscription fails with the server's error, and the next track is received on a fresh
 * transport. People joining at once all get the picture, and a camera is never asked for key
 * frames closer together than the browser's sender would honour. */
import type { types } from 'mediasoup';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { events, openSdkPage, sdkJoin, waitForStats } from '../../bench/lib/sdkPage.js';
import { useTestEnvironment } from '../helpers/fixture.js';

const env = useTestEnvironment({ browser: true });
const ROOM = 'e2e-join-path-derm';
const SMALL_CAMERA = { width: { ideal: 320 }, height: { ideal: 240 }, frameRate: { ideal: 15 } };

/**
 * Runs in the page before its scripts: one ordered journal of the signaling frames sent and received
 * and of the peer connections' description calls. With
 * `window.breakConnect` set to n, the next n `connectTransport`s go out with a DTLS role the server refuses;
 * with `window.dropOnConnect`, the socket closes instead of sending it.
 */
const JOURNAL = () => {
  const w = window as unknown as { journal: string[]; breakConnect?: number; dropOnConnect?: boolean };
  w.journal = [];
  const note = (s: string) => w.journal.push(s);
  const NativeWebSocket = WebSocket;
  class JournalledWebSocket extends NativeWebSocket {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols);
      this.addEventListener('message', (e) => note(`< ${String(e.data).slice(0, 120)}`));
    }
    override send(data: string | ArrayBufferLike | Blob | ArrayBufferView): void {
      let frame = String(data);
      if (w.breakConnect && frame.includes('"connectTransport"')) {
        w.breakConnect--;
        frame = frame.replace(/"role":"(client|server|auto)"/, '"role":"sideways"');
      }
      if (w.dropOnConnect && frame.includes('"connectTransport"')) {
        w.dropOnConnect = false;
        note('dropped');
        this.close(); // signaling lost just as the transport connects: the frame never leaves
        return;
      }
      note(`> ${frame.slice(0, 120)}`);
      super.send(frame);
    }
  }
  window.WebSocket = JournalledWebSocket;
  const proto = RTCPeerConnection.prototype;
  const setRemote = proto.setRemoteDescription as (this: RTCPeerConnection, d: RTCSessionDescriptionInit) => Promise<void>;
  const setLocal = proto.setLocalDescription as (this: RTCPeerConnection, d?: RTCLocalSessionDescriptionInit) => Promise<void>;
  proto.setRemoteDescription = function (this: RTCPeerConnection, d: RTCSessionDescriptionInit) {
    note(`setRemote ${d.type}${d.sdp?.includes('a=mid:probator') ? ' +probator' : ''}`);
    return setRemote.call(this, d);
  } as typeof proto.setRemoteDescription;
  proto.setLocalDescription = function (this: RTCPeerConnection, d?: RTCLocalSessionDescriptionInit) {
    note(`setLocal ${d?.type ?? 'implicit'}`);
    return setLocal.call(this, d);
  } as typeof proto.setLocalDescription;
  const createOffer = proto.createOffer as (this: RTCPeerConnection, o?: RTCOfferOptions) => Promise<RTCSessionDescriptionInit>;
  proto.createOffer = function (this: RTCPeerConnection, o?: RTCOfferOptions) {
    note('createOffer');
    return createOffer.call(this, o);
  } as typeof proto.createOffer;
};

async function journalledPage(): Promise<Page> {
  const page = await (await env.browser.newContext()).newPage();
  page.on('pageerror', (e) => console.error('[page error]', e));
  await page.addInitScript(JOURNAL);
  await page.goto(`${env.server.url}/sdk-test.html`);
  return page;
}

const journal = (page: Page) => page.evaluate(() => (window as unknown as { journal: string[] }).journal);

/** Socket.IO frames: `42<id>["name",…]` is a request, `43<id>[…]` its answer. */
function requests(lines: string[]): { name: string; sentAt: number; answeredAt: number }[] {
  return lines.flatMap((line, sentAt) => {
    const m = /^> 42(\d+)\["(\w+)"/.exec(line);
    if (!m) return [];
    const answeredAt = lines.findIndex((l) => l.startsWith(`< 43${m[1]}[`));
    return [{ name: m[2]!, sentAt, answeredAt }];
  });
}

/** A pre-join screen's `ConsultationClient.preconnect()` with a fresh observer's token for the room; the token. */
function preconnectAs(page: Page, identity: string, name: string): Promise<string> {
  return page.evaluate(
    async ({ identity, name, room }) => {
      const res = await fetch('/dev/token', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          identity,
          name,
          role: 'observer',
          room,
          kind: 'consultation',
          caseId: 'CASE-E2E',
          site: { id: 'site', name: '县医院', level: 'county_hospital' },
        }),
      });
      const { token } = (await res.json()) as { token: string };
      type Sdk = { ConsultationClient: { preconnect(o: { url: string; token: string }): Promise<void> } };
      await (window as unknown as { TelemedSDK: Sdk }).TelemedSDK.ConsultationClient.preconnect({ url: location.origin, token });
      return token;
    },
    { identity, name, room: ROOM },
  );
}

async function publishers(): Promise<void> {
  for (const [identity, name] of [
    ['zhou-jing', '周静'],
    ['sun-hao', '孙浩'],
  ] as const) {
    const page = await openSdkPage(env.browser, env.server.url);
    const role = identity === 'zhou-jing' ? 'lead_specialist' : 'clinic_doctor';
    expect(await sdkJoin(page, { identity, name, role, room: ROOM, camera: SMALL_CAMERA })).toBe('joined');
  }
}

describe('the path to the first picture', () => {
  it('loads the device from pushed capabilities and does not wait for connectTransport; pictures and sound arrive', async () => {
    await publishers();
    const page = await journalledPage();
    // The script-tag bundle asks the browser for its codecs once the page is idle, before any join
    // (one throwaway offer per direction), and the join uses that answer: no offer of its own.
    const offers = async () => (await journal(page)).filter((l) => l === 'createOffer').length;
    await expect.poll(offers, { timeout: 5000 }).toBe(2);
    expect((await journal(page)).some((l) => l.startsWith('>'))).toBe(false);
    expect(await sdkJoin(page, { identity: 'chen-yu', name: '陈宇', role: 'observer', room: ROOM, publish: false })).toBe('joined');
    expect(await offers()).toBe(2);
    const stats = await waitForStats(
      page,
      (s) =>
        s.inbound.filter((i) => i.kind === 'video' && i.framesDecoded > 0).length === 2 &&
        s.inbound.filter((i) => i.kind === 'audio' && i.totalAudioEnergy > 0).length === 2,
    );
    expect(new Set(stats.inbound.map((i) => i.name))).toEqual(new Set(['周静', '孙浩']));

    const lines = await journal(page);
    const sent = requests(lines);
    expect(sent.map((r) => r.name)).not.toContain('getRouterRtpCapabilities');
    const pushedAt = lines.findIndex((l) => l.startsWith('< 42["routerCapabilities"'));
    const join = sent.find((r) => r.name === 'join')!;
    expect(pushedAt).toBeGreaterThanOrEqual(0);
    expect(pushedAt).toBeLessThan(join.sentAt);

    // The receive transport's first answer is set before the server has answered connectTransport.
    const connect = sent.find((r) => r.name === 'connectTransport')!;
    const firstLocal = lines.findIndex((l, i) => i > join.sentAt && l.startsWith('setLocal'));
    expect(firstLocal).toBeGreaterThan(connect.sentAt);
    expect(connect.answeredAt).toBeGreaterThan(firstLocal);

    // One offer/answer brought the four tracks and mediasoup's probation stream together (no second
    // round while ICE and DTLS run) — and the probation packets mediasoup sends reach the browser.
    expect(lines.filter((l, i) => i > join.sentAt && l.startsWith('setRemote'))).toEqual(['setRemote offer +probator']);
    const probationPackets = () =>
      page.evaluate(async () => {
        const client = (window as unknown as { t: { client: { getStats(): Promise<RTCStatsReport[]> } } }).t.client;
        let packets = 0;
        for (const report of await client.getStats())
          report.forEach((s: Record<string, unknown>) => {
            if (s['type'] === 'inbound-rtp' && s['ssrc'] === 1234) packets += Number(s['packetsReceived'] ?? 0);
          });
        return packets;
      });
    await expect.poll(probationPackets, { timeout: 10_000 }).toBeGreaterThan(0);
  }, 90_000);

  it('a refused connectTransport: closed on both sides, and every track arrives on a fresh transport, without an error', async () => {
    const page = await journalledPage();
    await page.evaluate(() => ((window as unknown as { breakConnect: number }).breakConnect = 1));
    expect(await sdkJoin(page, { identity: 'tang-yu', name: '唐宇', role: 'observer', room: ROOM, publish: false })).toBe('joined');
    await waitForStats(page, (s) =>
      ['周静', '孙浩'].every(
        (name) =>
          s.inbound.some((i) => i.name === name && i.kind === 'video' && i.framesDecoded > 0) &&
          s.inbound.some((i) => i.name === name && i.kind === 'audio' && i.totalAudioEnergy > 0),
      ),
    );
    expect(await events(page, 'error')).toEqual([]);
    const names = requests(await journal(page)).map((r) => r.name);
    expect(names.filter((n) => n === 'createTransport')).toHaveLength(1); // the first came with the join
    expect(names.filter((n) => n === 'connectTransport')).toHaveLength(2);
    expect(names.filter((n) => n === 'closeTransport')).toHaveLength(1);
    const me = env.server.rooms
      .get(ROOM)!
      .participants()
      .find((p) => p.info.displayName === '唐宇')!;
    expect([me.transportCount, me.consumerCount]).toEqual([1, 4]);
    await page.context().close();
  }, 90_000);

  it('refused twice: each subscription fails with the server’s error; the next track comes on a fresh transport', async () => {
    const page = await journalledPage();
    await page.evaluate(() => ((window as unknown as { breakConnect: number }).breakConnect = 2));
    expect(await sdkJoin(page, { identity: 'he-lin', name: '何琳', role: 'observer', room: ROOM, publish: false })).toBe('joined');
    // Each of the four subscriptions (two cameras, two microphones) fails with the server's refusal.
    await expect
      .poll(async () => (await events(page, 'error')).map(([e]) => (e as { message: string }).message), { timeout: 15_000 })
      .toEqual([
        expect.stringMatching(/role/i),
        expect.stringMatching(/role/i),
        expect.stringMatching(/role/i),
        expect.stringMatching(/role/i),
      ]);
    const refused = requests(await journal(page)).filter((r) => r.name === 'connectTransport');
    expect(refused).toHaveLength(2);
    const tracksNow = await page.evaluate(() => (window as unknown as { t: { client: { tracks: unknown[] } } }).t.client.tracks.length);
    expect(tracksNow).toBe(0);
    // The SDK closed that transport on the server too: the join's consumers made on it are gone there.
    const me = env.server.rooms
      .get(ROOM)!
      .participants()
      .find((p) => p.info.displayName === '何琳')!;
    await expect.poll(() => [me.transportCount, me.consumerCount]).toEqual([0, 0]);

    // Someone new publishes: received on a new transport (its own, accepted, connectTransport).
    const late = await openSdkPage(env.browser, env.server.url);
    expect(await sdkJoin(late, { identity: 'guo-ping', name: '郭平', role: 'care_team', room: ROOM, camera: SMALL_CAMERA })).toBe('joined');
    await waitForStats(
      page,
      (s) =>
        s.inbound.some((i) => i.name === '郭平' && i.kind === 'video' && i.framesDecoded > 0) &&
        s.inbound.some((i) => i.name === '郭平' && i.kind === 'audio' && i.totalAudioEnergy > 0),
    );
    const names = requests(await journal(page)).map((r) => r.name);
    expect(names.filter((n) => n === 'createTransport')).toHaveLength(2);
    expect(names.filter((n) => n === 'connectTransport')).toHaveLength(3);
    expect(names.filter((n) => n === 'closeTransport')).toHaveLength(2);
    expect([me.transportCount, me.consumerCount]).toEqual([1, 2]);
  }, 90_000);

  it('signaling lost as the receive transport connects: after the resume the dropped transport is closed there and every track arrives', async () => {
    const page = await journalledPage();
    await page.evaluate(() => ((window as unknown as { dropOnConnect: boolean }).dropOnConnect = true));
    expect(await sdkJoin(page, { identity: 'luo-yi', name: '罗怡', role: 'observer', room: ROOM, publish: false })).toBe('joined');
    await waitForStats(
      page,
      (s) =>
        ['周静', '孙浩', '郭平'].every(
          (name) =>
            s.inbound.some((i) => i.name === name && i.kind === 'video' && i.framesDecoded > 0) &&
            s.inbound.some((i) => i.name === name && i.kind === 'audio' && i.totalAudioEnergy > 0),
        ),
      30_000,
    );
    const lines = await journal(page);
    const dropped = lines.indexOf('dropped');
    expect(dropped).toBeGreaterThan(0);
    const after = requests(lines.slice(dropped)).map((r) => r.name);
    // Resumed on a new socket, the dropped transport closed before anything is received again.
    expect(after.indexOf('resume')).toBeGreaterThanOrEqual(0);
    expect(after.indexOf('closeTransport')).toBeGreaterThan(after.indexOf('resume'));
    expect(after.indexOf('closeTransport')).toBeLessThan(after.indexOf('consume'));
    const me = env.server.rooms
      .get(ROOM)!
      .participants()
      .find((p) => p.info.displayName === '罗怡')!;
    expect([me.transportCount, me.consumerCount]).toEqual([1, 6]);
  }, 90_000);

  it('two people joining at once both get the picture; a camera is asked for key frames at most every 300 ms per layer', async () => {
    const camera = env.server.rooms
      .get(ROOM)!
      .participants()
      .find((p) => p.info.displayName === '周静')!
      .media()
      .producers.find((p) => p.kind === 'video')!;
    const asked: { ssrc: number; at: number }[] = [];
    await camera.enableTraceEvent(['pli', 'fir']);
    camera.on('trace', (t) => {
      if (t.direction === 'out') asked.push({ ssrc: Number((t.info as { ssrc?: number }).ssrc), at: Number(t.timestamp) });
    });
    /** Per layer (ssrc): packets the camera's stream lost and NACKs it sent so far. */
    const losses = async () => new Map((await camera.getStats()).map((s) => [s.ssrc, (s.packetsLost ?? 0) + (s.nackCount ?? 0)]));
    const lostBefore = await losses();
    const pages = await Promise.all([journalledPage(), journalledPage()]);
    await Promise.all(
      (['林晓', '邓宁'] as const).map((name, i) =>
        sdkJoin(pages[i]!, { identity: `observer-${i}`, name, role: 'observer', room: ROOM, publish: false }),
      ),
    );
    for (const page of pages)
      await waitForStats(page, (s) => s.inbound.some((i) => i.name === '周静' && i.kind === 'video' && i.framesDecoded > 0));
    expect(asked.length).toBeGreaterThan(0);
    // Requests closer than the browser's 300 ms guard would be dropped by the sender: mediasoup holds
    // those of receivers. Its own loss recovery does not wait: packets lost past what NACKs recover
    // (a loaded machine drops datagrams even on loopback) make the camera's stream ask at once — a
    // layer that lost packets meanwhile is not held to the spacing.
    const lostAfter = await losses();
    for (const ssrc of new Set(asked.map((a) => a.ssrc))) {
      if ((lostAfter.get(ssrc) ?? 0) > (lostBefore.get(ssrc) ?? 0)) continue;
      const times = asked.filter((a) => a.ssrc === ssrc).map((a) => a.at);
      for (let i = 1; i < times.length; i++)
        expect(times[i]! - times[i - 1]!, `ssrc ${ssrc}: ${times.join(', ')}`).toBeGreaterThanOrEqual(300);
    }
  }, 90_000);

  it('a pre-join screen that preconnected: the join takes its open socket and receive transport (connected before); picture arrives', async () => {
    const page = await journalledPage();
    // The receive transport made ahead, as the server sees it.
    const made: types.WebRtcTransport[] = [];
    const consumers: types.Consumer[] = [];
    const router = env.server.rooms.get(ROOM)!.router;
    const onTransport = (t: types.Transport) => {
      made.push(t as types.WebRtcTransport);
      t.observer.on('newconsumer', (c) => void consumers.push(c));
    };
    router.observer.on('newtransport', onTransport);
    const token = await preconnectAs(page, 'tang-min', '唐敏');
    // The socket is open, and the capabilities pushed right after its connect have come; the receive
    // transport was made on the room's router and is connected (ICE + DTLS) before Join is clicked.
    await expect.poll(async () => (await journal(page)).some((l) => l.startsWith('< 42["routerCapabilities"'))).toBe(true);
    await expect.poll(() => made.map((t) => t.dtlsState), { timeout: 10_000 }).toEqual(['connected']);
    const before = await journal(page);
    expect(before.filter((l) => l.startsWith('< 0{"sid"'))).toHaveLength(1);
    expect(requests(before).map((r) => r.name)).toEqual(['prepareReceive', 'connectPrepared']);
    // The room's tracks (cameras and microphones) came with it, paused, and were wired in one more
    // offer/answer; nothing flows on them before the join.
    await expect.poll(async () => (await journal(page)).filter((l) => l.startsWith('setRemote offer')).length).toBe(2);
    const sent = env.server.rooms.get(ROOM)!.producerInfos();
    expect(consumers.map((c) => c.producerId).sort()).toEqual(sent.map((p) => p.id).sort());
    expect(new Set(consumers.map((c) => c.kind))).toEqual(new Set(['audio', 'video']));
    expect(consumers.every((c) => c.paused)).toBe(true);
    await new Promise((r) => setTimeout(r, 500));
    const sentBefore = await Promise.all(
      consumers.map(async (c) => (await c.getStats()).reduce((n, s) => n + (s.type === 'outbound-rtp' ? s.packetCount : 0), 0)),
    );
    expect(sentBefore.every((n) => n === 0)).toBe(true);
    const wiredAt = (await journal(page)).length;

    expect(await sdkJoin(page, { identity: 'tang-min', name: '唐敏', role: 'observer', room: ROOM, publish: false, token })).toBe('joined');
    await waitForStats(
      page,
      (s) =>
        ['周静', '孙浩'].every((name) => s.inbound.some((i) => i.name === name && i.kind === 'video' && i.framesDecoded > 0)) &&
        s.inbound.some((i) => i.kind === 'audio' && i.totalAudioEnergy > 0),
    );
    const during = (await journal(page)).slice(wiredAt);
    // No second socket: the join's first frame on the wire is the join itself; the server took the
    // transport (no other one on the router, that one still open) and the tracks wired ahead, resumed
    // by the join: no consumer made, no offer/answer, no resumeConsumer after it.
    router.observer.off('newtransport', onTransport);
    expect(during.filter((l) => l.startsWith('< 0{"sid"'))).toHaveLength(0);
    expect(during.find((l) => l.startsWith('> '))).toMatch(/^> 42\d+\["join"/);
    expect(made).toHaveLength(1);
    expect(made[0]!.closed).toBe(false);
    expect(requests(during).map((r) => r.name)).toEqual(['join']);
    expect(during.filter((l) => l.startsWith('setRemote'))).toEqual([]);
    expect(consumers).toHaveLength(sent.length);
    expect(consumers.some((c) => c.paused || c.closed)).toBe(false);
  }, 90_000);
  it('a pre-join connection the join does not take (another token): closed, with the receive transport made on it, in the page too', async () => {
    const page = await journalledPage();
    const made: types.WebRtcTransport[] = [];
    const router = env.server.rooms.get(ROOM)!.router;
    const onTransport = (t: types.Transport) => void made.push(t as types.WebRtcTransport);
    router.observer.on('newtransport', onTransport);
    await page.evaluate(async () => {
      // Every peer connection the page describes, to read its state afterwards.
      const w = window as unknown as { pcs: Set<RTCPeerConnection> };
      w.pcs = new Set();
      const setRemote = RTCPeerConnection.prototype.setRemoteDescription as (
        this: RTCPeerConnection,
        d: RTCSessionDescriptionInit,
      ) => Promise<void>;
      RTCPeerConnection.prototype.setRemoteDescription = function (this: RTCPeerConnection, d: RTCSessionDescriptionInit) {
        w.pcs.add(this);
        return setRemote.call(this, d);
      } as typeof RTCPeerConnection.prototype.setRemoteDescription;
    });
    await preconnectAs(page, 'gao-yan', '高燕');
    // The transport and the room's tracks made ahead and wired in the page.
    await expect.poll(async () => (await journal(page)).filter((l) => l.startsWith('setRemote offer')).length).toBe(2);
    await expect.poll(() => made.map((t) => t.dtlsState), { timeout: 10_000 }).toEqual(['connected']);
    const preparedPcs = await page.evaluate(() => (window as unknown as { pcs: Set<RTCPeerConnection> }).pcs.size);
    expect(preparedPcs).toBe(1);

    // The join comes with another token (another person at the same screen): it connects afresh.
    expect(await sdkJoin(page, { identity: 'gao-yan-2', name: '高燕', role: 'observer', room: ROOM, publish: false })).toBe('joined');
    await waitForStats(page, (s) => s.inbound.some((i) => i.kind === 'video' && i.framesDecoded > 0));
    router.observer.off('newtransport', onTransport);
    await expect.poll(() => made[0]!.closed).toBe(true);
    const states = await page.evaluate(() =>
      [...(window as unknown as { pcs: Set<RTCPeerConnection> }).pcs].map((pc) => pc.signalingState),
    );
    expect(states[0]).toBe('closed');
    expect(states.slice(1)).not.toContain('closed'); // the join's own
  }, 90_000);

  it('a page that never joins opts out of the warm-up: no throwaway offers', async () => {
    const page = await (await env.browser.newContext()).newPage();
    await page.addInitScript(JOURNAL);
    // A page of the server's origin (as the dashboard is) that loads the bundle opting out.
    const url = `${env.server.url}/opted-out.html`;
    await page.route(url, (route) =>
      route.fulfill({ contentType: 'text/html', body: '<script src="/sdk/telemed-sdk.iife.js" data-warm-up="false"></script>' }),
    );
    await page.goto(url);
    expect(await page.evaluate(() => typeof (window as unknown as { TelemedSDK?: unknown }).TelemedSDK)).toBe('object');
    await page.waitForTimeout(1500); // past the idle callback's 1 s bound
    expect((await journal(page)).filter((l) => l === 'createOffer')).toEqual([]);
    await page.context().close();
  });
});

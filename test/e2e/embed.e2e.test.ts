/**
 * A clinic's own web page, on another origin, frames the prebuilt consultation with one iframe tag
 * (`/embed?token=…&parentOrigin=…`): the frame joins with the token the clinic's backend issued,
 * decodes the specialist's video, tells its host page who joined (postMessage, to that origin only)
 * and obeys the host's commands (mute the microphone, leave). The server lets only the named, allowed
 * origin frame the page.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSdkPage, pathStats, sdkJoin } from '../../bench/lib/sdkPage.js';
import { useTestEnvironment } from '../helpers/fixture.js';
import { token } from '../helpers/tokens.js';

const env = useTestEnvironment({ browser: true });
const ROOM = 'mdt-embed-0520';
let clinicSite: http.Server;
let clinicOrigin = '';

/** The village clinic's page: an iframe, and a log of what the frame tells it. */
function clinicPage(mediaUrl: string, jwt: string, origin: string): string {
  const src = `${mediaUrl}/embed?${new URLSearchParams({ token: jwt, parentOrigin: origin, lang: 'zh-CN' })}`;
  const media = JSON.stringify(new URL(mediaUrl).origin);
  return `<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>红旗村卫生室</title>
<h1>红旗村卫生室 · 远程会诊</h1>
<iframe id="consult" src="${src}" allow="camera; microphone; autoplay" style="width:960px;height:600px"></iframe>
<script>
  window.fromFrame = [];
  window.addEventListener('message', (e) => {
    if (e.origin === ${media} && e.data && e.data.protocol === 'telemed-embed') window.fromFrame.push(e.data);
  });
  window.command = (command, extra) =>
    document.getElementById('consult').contentWindow.postMessage({ protocol: 'telemed-embed', command, id: command, ...extra }, ${media});
</script></html>`;
}

beforeAll(async () => {
  let page = '';
  clinicSite = http.createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(page));
  await new Promise<void>((resolve) => clinicSite.listen(0, 'localhost', resolve));
  // Another origin than the media server's (localhost vs 127.0.0.1, another port).
  clinicOrigin = `http://localhost:${(clinicSite.address() as AddressInfo).port}`;
  const jwt = token({
    sub: 'ma-li',
    name: '马丽',
    role: 'clinic_doctor',
    room: ROOM,
    site: { id: 'hq', name: '红旗村卫生室', level: 'village_clinic' },
  });
  page = clinicPage(env.server.url, jwt, clinicOrigin);
});
afterAll(async () => {
  await new Promise<void>((resolve) => clinicSite?.close(() => resolve()));
});

type Message = { type: string; participant?: { displayName: string }; self?: { displayName: string }; id?: string; ok?: boolean };

describe('embedded consultation', () => {
  it('a page on another origin frames it: joins, decodes, hears who joins, and the host mutes and leaves', async () => {
    const host = await (await env.browser.newContext()).newPage();
    await host.goto(`${clinicOrigin}/`);
    const messages = () => host.evaluate(() => (window as unknown as { fromFrame: Message[] }).fromFrame);
    await expect.poll(async () => (await messages()).map((m) => m.type), { timeout: 20_000 }).toContain('joined');
    expect((await messages()).find((m) => m.type === 'joined')?.self?.displayName).toBe('马丽');

    // The provincial specialist joins with the SDK: the frame tells its host, and decodes the camera.
    const specialist = await openSdkPage(env.browser, env.server.url);
    expect(await sdkJoin(specialist, { identity: 'wang-fang', name: '王芳', role: 'lead_specialist', room: ROOM, caseId: 'CASE-1' })).toBe(
      'joined',
    );
    await expect
      .poll(async () => (await messages()).filter((m) => m.type === 'participantJoined').map((m) => m.participant?.displayName), {
        timeout: 10_000,
      })
      .toEqual(['王芳']);
    const frame = host.frames().find((f) => f.url().includes('/embed'))!;
    await expect
      .poll(
        async () =>
          (await pathStats(frame as never, 'demo')).inbound.some((i) => i.name === '王芳' && i.kind === 'video' && i.framesDecoded > 0),
        {
          timeout: 20_000,
        },
      )
      .toBe(true);

    // The host's commands: mute 马丽's microphone (the room sees it paused), then leave.
    await host.evaluate(() =>
      (window as unknown as { command(c: string, x?: object): void }).command('setMicrophoneMuted', { muted: true }),
    );
    await expect
      .poll(async () => (await messages()).find((m) => m.type === 'result' && m.id === 'setMicrophoneMuted')?.ok, { timeout: 5000 })
      .toBe(true);
    const room = env.server.rooms.get(ROOM)!;
    const micPaused = () =>
      room
        .participants()
        .find((p) => p.info.displayName === '马丽')
        ?.producerInfos()
        .find((i) => i.source === 'microphone')?.paused;
    await expect.poll(micPaused, { timeout: 5000 }).toBe(true);
    await host.evaluate(() => (window as unknown as { command(c: string): void }).command('leave'));
    await expect.poll(() => room.participants().map((p) => p.info.displayName), { timeout: 5000 }).toEqual(['王芳']);
    await expect.poll(async () => (await messages()).some((m) => m.type === 'disconnected'), { timeout: 5000 }).toBe(true);
    await host.context().close();
    await specialist.context().close();
  }, 60_000);

  it('only the named origin may frame it, and a parentOrigin is required', async () => {
    const url = (q: Record<string, string>) => `${env.server.url}/embed?${new URLSearchParams(q)}`;
    const framed = await fetch(url({ token: 'x', parentOrigin: clinicOrigin }));
    expect(framed.status).toBe(200);
    expect(framed.headers.get('content-security-policy')).toBe(`frame-ancestors ${clinicOrigin}`);
    expect((await fetch(url({ token: 'x' }))).status).toBe(400);
    expect((await fetch(url({ token: 'x', parentOrigin: 'javascript:alert(1)' }))).status).toBe(400);
    expect((await fetch(url({ token: 'x', parentOrigin: `${clinicOrigin}/path` }))).status).toBe(400);
  });
});

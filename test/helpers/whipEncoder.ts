/**
 * A WHIP encoder in a Chromium page that is not the SDK: plain RTCPeerConnection and fetch, doing
 * what OBS does (RFC 9725) — a sendonly offer with every candidate gathered, POSTed with the bearer
 * token; the answer applied; the session URL kept for DELETE. The fake camera and microphone of the
 * test browser are the programme.
 */
import type { Browser, Page } from 'playwright-core';

export interface WhipPublish {
  status: number;
  /** The answer (201) or the refusal's text. */
  body: string;
  location: string | null;
  contentType: string | null;
}

export interface WhipEncoderOptions {
  /** Video codec to put first ('VP8' or 'H264'); the browser's order otherwise. */
  preferCodec?: 'VP8' | 'H264';
  /** Send three simulcast layers (RIDs q, h, f). */
  simulcast?: boolean;
  /** Replace the offer before it is sent (to send what no browser would). */
  mangle?: [string, string];
  /** Keep the answer without applying it (no ICE yet) until `whipApplyAnswer`. */
  holdAnswer?: boolean;
}

/** A page on the server's origin (a secure context on loopback, so the camera may be opened). */
export async function openEncoderPage(browser: Browser, serverUrl: string): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  page.on('pageerror', (e) => console.error('[encoder page error]', e));
  await page.goto(`${serverUrl}/healthz`);
  return page;
}

export function whipPublish(page: Page, url: string, token: string, options: WhipEncoderOptions = {}): Promise<WhipPublish> {
  return page.evaluate(
    async ({ url, token, options }) => {
      const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 640, height: 360, frameRate: 20 } });
      const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
      for (const track of stream.getTracks()) {
        const layers = options.simulcast && track.kind === 'video';
        const transceiver = pc.addTransceiver(track, {
          direction: 'sendonly',
          ...(layers
            ? {
                sendEncodings: [{ rid: 'q', scaleResolutionDownBy: 4 }, { rid: 'h', scaleResolutionDownBy: 2 }, { rid: 'f' }],
              }
            : {}),
        });
        if (track.kind === 'video' && options.preferCodec) {
          const codecs = RTCRtpSender.getCapabilities('video')?.codecs ?? [];
          const wanted = (c: RTCRtpCodec) =>
            c.mimeType === `video/${options.preferCodec}` &&
            (options.preferCodec !== 'H264' ||
              (/packetization-mode=1/.test(c.sdpFmtpLine ?? '') && /profile-level-id=42e0/.test(c.sdpFmtpLine ?? '')));
          transceiver.setCodecPreferences([...codecs.filter(wanted), ...codecs.filter((c) => !wanted(c))]);
        }
      }
      await pc.setLocalDescription(await pc.createOffer());
      // Non-trickle WHIP: wait for every candidate, as OBS does.
      await new Promise<void>((resolve) => {
        if (pc.iceGatheringState === 'complete') return resolve();
        pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && resolve());
      });
      let sdp = pc.localDescription!.sdp;
      if (options.mangle) sdp = sdp.replaceAll(options.mangle[0], options.mangle[1]);
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/sdp', authorization: `Bearer ${token}` },
        body: sdp,
      });
      const body = await res.text();
      const location = res.headers.get('location');
      if (res.status === 201) {
        if (!options.holdAnswer) await pc.setRemoteDescription({ type: 'answer', sdp: body });
        (window as unknown as { whip: object }).whip = { pc, stream, location: new URL(location!, url).href, token, answer: body };
      } else {
        pc.close();
        for (const t of stream.getTracks()) t.stop();
      }
      return { status: res.status, body, location, contentType: res.headers.get('content-type') };
    },
    { url, token, options },
  );
}

/** What the encoder's peer connection reports: its state and the bytes it sent. */
export function encoderState(page: Page): Promise<{ state: string; bytesSent: number }> {
  return page.evaluate(async () => {
    const { pc } = (window as unknown as { whip: { pc: RTCPeerConnection } }).whip;
    let bytesSent = 0;
    (await pc.getStats()).forEach((s: { type: string; bytesSent?: number }) => {
      if (s.type === 'outbound-rtp') bytesSent += s.bytesSent ?? 0;
    });
    return { state: pc.connectionState, bytesSent };
  });
}

/** Ends the programme as an encoder does: DELETE the session URL, then close. Returns the status. */
export function whipDelete(page: Page): Promise<number> {
  return page.evaluate(async () => {
    const whip = (window as unknown as { whip: { pc: RTCPeerConnection; stream: MediaStream; location: string; token: string } }).whip;
    const res = await fetch(whip.location, { method: 'DELETE', headers: { authorization: `Bearer ${whip.token}` } });
    whip.pc.close();
    for (const t of whip.stream.getTracks()) t.stop();
    return res.status;
  });
}

/**
 * An ICE restart as a WHIP encoder makes it (RFC 9725 §4.4): new local credentials PATCHed as an SDP
 * fragment, the server's new credentials from the answer fragment put into the remote description.
 * Returns the PATCH status and, on 200, the server's new ICE username fragment.
 */
export function whipRestartIce(page: Page): Promise<{ status: number; ufrag: string | null }> {
  return page.evaluate(async () => {
    const whip = (window as unknown as { whip: { pc: RTCPeerConnection; location: string; token: string } }).whip;
    const { pc } = whip;
    pc.restartIce();
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    const field = (sdp: string, name: string) => new RegExp(`^a=${name}:(.+)$`, 'm').exec(sdp)?.[1]?.trim() ?? '';
    const mid = pc.getTransceivers()[0]!.mid!;
    const fragment = [
      `a=ice-ufrag:${field(offer.sdp!, 'ice-ufrag')}`,
      `a=ice-pwd:${field(offer.sdp!, 'ice-pwd')}`,
      'm=audio 9 UDP/TLS/RTP/SAVPF 0',
      `a=mid:${mid}`,
      '',
    ].join('\r\n');
    const res = await fetch(whip.location, {
      method: 'PATCH',
      headers: { 'content-type': 'application/trickle-ice-sdpfrag', authorization: `Bearer ${whip.token}`, 'if-match': '*' },
      body: fragment,
    });
    if (res.status !== 200) return { status: res.status, ufrag: null };
    const answerFragment = await res.text();
    const ufrag = field(answerFragment, 'ice-ufrag');
    const pwd = field(answerFragment, 'ice-pwd');
    const previous = pc.remoteDescription!.sdp;
    const sdp = previous.replace(/^a=ice-ufrag:.*$/gm, `a=ice-ufrag:${ufrag}`).replace(/^a=ice-pwd:.*$/gm, `a=ice-pwd:${pwd}`);
    await pc.setRemoteDescription({ type: 'answer', sdp });
    return { status: 200, ufrag };
  });
}

/** PATCHes a trickled candidate (what a trickling encoder sends after its offer); returns the status. */
export function whipTrickle(page: Page, ifMatch?: string): Promise<number> {
  return page.evaluate(async (ifMatch) => {
    const whip = (window as unknown as { whip: { location: string; token: string } }).whip;
    const body = [
      'a=ice-ufrag:x',
      'm=audio 9 UDP/TLS/RTP/SAVPF 0',
      'a=mid:0',
      'a=candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host',
      '',
    ].join('\r\n');
    const res = await fetch(whip.location, {
      method: 'PATCH',
      headers: {
        'content-type': 'application/trickle-ice-sdpfrag',
        authorization: `Bearer ${whip.token}`,
        ...(ifMatch ? { 'if-match': ifMatch } : {}),
      },
      body: body.replace('a=ice-ufrag:x\r\n', ''),
    });
    return res.status;
  }, ifMatch);
}

/** Applies an answer kept by `whipPublish(…, { holdAnswer: true })`: ICE and DTLS start now. */
export function whipApplyAnswer(page: Page): Promise<void> {
  return page.evaluate(async () => {
    const whip = (window as unknown as { whip: { pc: RTCPeerConnection; answer: string } }).whip;
    await whip.pc.setRemoteDescription({ type: 'answer', sdp: whip.answer });
  });
}

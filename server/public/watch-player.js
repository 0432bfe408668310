// The programme page's two ways to play: WebRTC through the SDK (a viewer token: low delay, questions)
// and HLS (everyone else, or when WebRTC does not get through): the browser's own player where it has
// one (iOS, most Android browsers), hls.js (served by this server) where it has none.
// Both play into one <video>, muted so that it may start by itself; the page offers to unmute.

const HLS_MIME = 'application/vnd.apple.mpegurl';
/** WebRTC must show a decoded frame within this, or the page plays HLS instead. */
const WEBRTC_FIRST_FRAME_MS = 15_000;

/** A random id per page: the server counts HLS players by it (see HlsWatchers). */
export const watcherId = Array.from(crypto.getRandomValues(new Uint8Array(12)), (b) => b.toString(16).padStart(2, '0')).join('');

let hlsScript;
function loadHlsJs(base) {
  hlsScript ??= new Promise((resolve, reject) => {
    const s = Object.assign(document.createElement('script'), { src: new URL('vendor/hls.min.js', base).href });
    s.onload = () => (window.Hls ? resolve(window.Hls) : reject(new Error('hls.js did not load')));
    s.onerror = () => reject(new Error('hls.js could not be fetched'));
    document.head.append(s);
  });
  return hlsScript;
}

function startMuted(video) {
  video.muted = true;
  video.playsInline = true;
  return video.play().catch(() => undefined); // autoplay refused: the unmute button starts it
}

/** Resolves once the video shows a frame (or rejects after `ms`). */
function firstFrame(video, ms) {
  return new Promise((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      video.removeEventListener('loadeddata', check);
      video.removeEventListener('timeupdate', check);
      resolve();
    };
    const check = () => video.readyState >= 2 && video.videoWidth > 0 && done();
    const timer = setTimeout(() => {
      video.removeEventListener('loadeddata', check);
      video.removeEventListener('timeupdate', check);
      reject(new Error('no video frame arrived'));
    }, ms);
    video.addEventListener('loadeddata', check);
    video.addEventListener('timeupdate', check);
    check();
  });
}

/**
 * HLS from `url` (relative to `base`). `live`: counted as a viewer and retried if the playlist is not
 * there yet (FFmpeg writes its first segment a second or two after the stream starts).
 * Returns { kind: 'native' | 'hlsjs', stop() }.
 */
export async function playHls(video, url, base, { live, onFatal }) {
  const src = new URL(url.replace(/^\//, ''), base);
  if (live) src.searchParams.set('w', watcherId);
  if (video.canPlayType(HLS_MIME)) {
    video.srcObject = null;
    video.src = src.href;
    video.onerror = () => onFatal(new Error('the browser could not play the stream'));
    void startMuted(video);
    return {
      kind: 'native',
      stop() {
        video.onerror = null;
        video.removeAttribute('src');
        video.load();
      },
    };
  }
  const Hls = await loadHlsJs(base);
  if (!Hls.isSupported()) throw new Error('this browser plays neither HLS nor Media Source Extensions');
  // Three 1 s segments behind the newest: the delay behind the presenter stays under 6 s.
  const hls = new Hls({ liveSyncDurationCount: 3, liveMaxLatencyDurationCount: 6, manifestLoadingMaxRetry: 6 });
  hls.on(Hls.Events.ERROR, (_event, data) => {
    if (data.fatal) onFatal(new Error(`hls.js: ${data.details}`));
  });
  hls.on(Hls.Events.MANIFEST_PARSED, () => void startMuted(video));
  video.srcObject = null;
  hls.loadSource(src.href);
  hls.attachMedia(video);
  window.programmeHls = hls; // for tests and curious support staff
  return { kind: 'hlsjs', stop: () => hls.destroy() };
}

/**
 * WebRTC through the SDK with `token`: the presenters' video (the newest one) and every voice into
 * `video`. Resolves once a frame shows; rejects (having left) if none does in time.
 * Returns { kind: 'webrtc', client, stop() }.
 */
export async function playWebRtc(video, token, base) {
  const client = await window.TelemedSDK.ConsultationClient.join({ url: new URL('.', base).href.replace(/\/$/, ''), token });
  const stream = new MediaStream();
  const show = () => {
    const videos = client.tracks.filter((t) => t.kind === 'video');
    const current = videos.at(-1)?.mediaStreamTrack;
    for (const t of stream.getTracks())
      if (t !== current && !client.tracks.some((r) => r.kind === 'audio' && r.mediaStreamTrack === t)) stream.removeTrack(t);
    for (const r of client.tracks)
      if ((r.kind === 'audio' || r.mediaStreamTrack === current) && !stream.getTracks().includes(r.mediaStreamTrack))
        stream.addTrack(r.mediaStreamTrack);
  };
  client.on('trackAdded', show);
  client.on('trackRemoved', show);
  show();
  video.removeAttribute('src');
  video.srcObject = stream;
  void startMuted(video);
  try {
    await firstFrame(video, WEBRTC_FIRST_FRAME_MS);
  } catch (error) {
    await client.leave().catch(() => undefined);
    throw error;
  }
  window.programmeClient = client;
  return {
    kind: 'webrtc',
    client,
    stop() {
      video.srcObject = null;
      void client.leave().catch(() => undefined);
    },
  };
}

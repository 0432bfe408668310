// Before the call: the pre-join screen (camera, microphone and speaker chosen with a live preview and a
// microphone level meter, the pre-call check), the lobby's preview with its cancel button, and what a
// refused camera/microphone permission looks like (a translated sentence, a retry, and a status that
// says so instead of "Connected"). Uses only the public SDK, like a clinic's own page would.
import { t, translate, translated } from './i18n.js';

const { ConsultationClient, listDevices, setSpeaker } = window.TelemedSDK;
const $ = (id) => document.getElementById(id);
/** Roles that never send camera or microphone: no preview, no capture. */
const WATCH_ONLY = new Set(['viewer', 'observer']);
const DEVICE_ERRORS = new Set(['NotAllowedError', 'NotFoundError', 'NotReadableError', 'OverconstrainedError', 'SecurityError']);
const CHECKS = ['camera', 'microphone', 'speaker', 'signaling', 'udp', 'tcp', 'turn'];

/** What is chosen on the pre-join screen; read when publishing and for every new audio element. */
export const choice = { cameraId: '', microphoneId: '', speakerId: '', capture: true };

let preview = null; // MediaStream of the preview, while shown
let meter = null; // { context, timer } of the level meter

function build() {
  const section = Object.assign(document.createElement('section'), { id: 'prejoin', className: 'panel', hidden: true });
  section.setAttribute('aria-labelledby', 'prejoin-title');
  const select = (id, key) => {
    const label = document.createElement('label');
    label.append(translated('span', key), Object.assign(document.createElement('select'), { id }));
    return label;
  };
  const level = document.createElement('label');
  level.append(
    translated('span', 'prejoin.level'),
    Object.assign(document.createElement('meter'), { id: 'prejoin-level', min: 0, max: 1, low: 0.02, value: 0 }),
  );
  const video = Object.assign(document.createElement('video'), { id: 'prejoin-video', muted: true, autoplay: true, playsInline: true });
  video.style.cssText = 'width:100%;max-width:360px;background:#111;border-radius:6px';
  const controls = document.createElement('div');
  controls.append(
    select('prejoin-camera', 'prejoin.camera'),
    select('prejoin-microphone', 'prejoin.microphone'),
    level,
    select('prejoin-speaker', 'prejoin.speaker'),
    Object.assign(document.createElement('small'), { id: 'prejoin-speaker-note' }),
  );
  const permission = Object.assign(document.createElement('p'), { id: 'prejoin-permission', hidden: true });
  permission.setAttribute('role', 'alert');
  permission.append(
    Object.assign(document.createElement('span'), { id: 'prejoin-permission-text' }),
    translated('button', 'prejoin.retry', undefined, { id: 'prejoin-retry', type: 'button', className: 'small' }),
  );
  const results = Object.assign(document.createElement('ul'), { id: 'prejoin-results' });
  results.setAttribute('aria-live', 'polite');
  const actions = document.createElement('p');
  actions.append(
    translated('button', 'prejoin.runCheck', undefined, { id: 'prejoin-check', type: 'button' }),
    translated('button', 'prejoin.join', undefined, { id: 'prejoin-join', type: 'button' }),
    translated('button', 'prejoin.back', undefined, { id: 'prejoin-back', type: 'button', className: 'small' }),
  );
  section.append(translated('h2', 'prejoin.title', undefined, { id: 'prejoin-title' }), video, controls, permission, actions, results);
  $('join-form').after(section);

  const lobby = Object.assign(document.createElement('div'), { id: 'lobby-preview', hidden: true });
  const lobbyVideo = Object.assign(document.createElement('video'), { id: 'lobby-video', muted: true, autoplay: true, playsInline: true });
  lobbyVideo.style.cssText = 'width:100%;max-width:240px;background:#111;border-radius:6px;display:block';
  lobbyVideo.setAttribute('aria-label', t('prejoin.previewLabel'));
  lobby.append(lobbyVideo, translated('button', 'lobby.cancel', undefined, { id: 'lobby-cancel', type: 'button', className: 'danger' }));
  $('lobby-wait').after(lobby);
}

function stopPreview() {
  clearInterval(meter?.timer);
  void meter?.context.close().catch(() => undefined);
  meter = null;
  for (const track of preview?.getTracks() ?? []) track.stop();
  preview = null;
  for (const id of ['prejoin-video', 'lobby-video']) if ($(id)) $(id).srcObject = null;
}

/** The microphone's level on the meter, ten times a second (RMS of the waveform, 0-1). */
function startMeter(track) {
  const context = new AudioContext();
  const analyser = context.createAnalyser();
  analyser.fftSize = 512;
  context.createMediaStreamSource(new MediaStream([track])).connect(analyser);
  const samples = new Float32Array(analyser.fftSize);
  const timer = setInterval(() => {
    analyser.getFloatTimeDomainData(samples);
    const rms = Math.sqrt(samples.reduce((sum, s) => sum + s * s, 0) / samples.length);
    $('prejoin-level').value = Math.min(1, rms * 4);
  }, 100);
  meter = { context, timer };
}

async function fillSelect(select, devices, chosen, fallbackKey) {
  select.replaceChildren(
    ...devices.map((d, i) =>
      Object.assign(document.createElement('option'), { value: d.deviceId, textContent: d.label || t(fallbackKey, { n: i + 1 }) }),
    ),
  );
  if (devices.some((d) => d.deviceId === chosen)) select.value = chosen;
}

async function listChoices() {
  const { cameras, microphones, speakers } = await listDevices();
  await fillSelect($('prejoin-camera'), cameras, choice.cameraId, 'prejoin.unnamedCamera');
  await fillSelect($('prejoin-microphone'), microphones, choice.microphoneId, 'prejoin.unnamedMicrophone');
  await fillSelect($('prejoin-speaker'), speakers, choice.speakerId, 'prejoin.unnamedSpeaker');
  const canChoose = 'setSinkId' in HTMLMediaElement.prototype;
  $('prejoin-speaker').disabled = !canChoose || speakers.length === 0;
  translate($('prejoin-speaker-note'), canChoose ? null : 'prejoin.speakerNotSupported');
}

/** Opens the chosen camera and microphone for the preview; a refusal shows the message and the retry. */
async function openPreview() {
  stopPreview();
  $('prejoin-permission').hidden = true;
  if (!choice.capture) return true;
  const exact = (id) => (id ? { deviceId: { exact: id } } : true);
  try {
    preview = await navigator.mediaDevices.getUserMedia({ video: exact(choice.cameraId), audio: exact(choice.microphoneId) });
  } catch (error) {
    deviceRefused(error, openPreview, $('prejoin-permission-text'), $('prejoin-permission'));
    return false;
  }
  $('prejoin-video').srcObject = preview;
  const audio = preview.getAudioTracks()[0];
  if (audio) startMeter(audio);
  choice.cameraId = preview.getVideoTracks()[0]?.getSettings().deviceId ?? choice.cameraId;
  choice.microphoneId = audio?.getSettings().deviceId ?? choice.microphoneId;
  translate($('status'), 'status.prejoin');
  await listChoices(); // names appear once capture is allowed
  return true;
}

/**
 * Says why the camera/microphone could not be opened, in the page's language, with a retry; the
 * status says "permission denied" (or the device's problem), never "Connected". `retry` runs again.
 */
export function deviceRefused(error, retry, textEl = $('notices'), box = textEl) {
  if (!DEVICE_ERRORS.has(error?.name)) throw error;
  const key = error.name === 'NotAllowedError' || error.name === 'SecurityError' ? 'prejoin.permissionDenied' : 'prejoin.deviceProblem';
  translate($('status'), error.name === 'NotAllowedError' ? 'status.permissionDenied' : 'status.deviceProblem');
  translate(textEl, key);
  box.hidden = false;
  if (box === textEl) {
    const button = translated('button', 'prejoin.retry', undefined, { type: 'button', className: 'small', id: 'device-retry' });
    button.addEventListener('click', () => Promise.resolve(retry()).catch((e) => deviceRefused(e, retry, textEl, box)));
    textEl.append(' ', button);
  } else $('prejoin-retry').onclick = () => retry();
}

function describeCheck(name, check) {
  const detail =
    check.status === 'ok'
      ? check.bitrate
        ? t('prejoin.detail.media', { rtt: Math.round(check.rttMs ?? 0), kbps: Math.round(check.bitrate / 1000) })
        : check.rttMs !== null && check.rttMs !== undefined
          ? t('prejoin.detail.rtt', { rtt: Math.round(check.rttMs) })
          : ''
      : t(`preflight.reason.${check.reason ?? 'error'}`);
  const li = translated('li', 'prejoin.result', {
    check: { key: `preflight.check.${name}`, params: { protocol: name.toUpperCase() } },
    status: { key: `preflight.status.${check.status}` },
    detail,
  });
  li.dataset.check = name;
  li.dataset.status = check.status;
  li.dataset.reason = check.reason ?? '';
  return li;
}

async function runCheck(token) {
  const button = $('prejoin-check');
  button.disabled = true;
  $('prejoin-results').replaceChildren(translated('li', 'prejoin.checking'));
  try {
    const result = await ConsultationClient.preflight({
      url: location.origin,
      token,
      tracks: preview?.getTracks() ?? [],
      camera: choice.capture,
      microphone: choice.capture,
    });
    window.demo.preflight = result;
    $('prejoin-results').replaceChildren(...CHECKS.map((name) => describeCheck(name, result[name])));
  } finally {
    button.disabled = false;
  }
}

/**
 * Shows the pre-join screen for `role` with `token` (for the pre-call check); resolves true when the
 * person clicks Join (the preview is stopped so the call can open the chosen devices), false on Back.
 */
export function prejoin({ token, role }) {
  if (!$('prejoin')) build();
  choice.capture = !WATCH_ONLY.has(role);
  $('join-form').hidden = true;
  $('prejoin').hidden = false;
  $('prejoin-results').replaceChildren();
  for (const id of ['prejoin-video', 'prejoin-camera', 'prejoin-microphone', 'prejoin-level'])
    $(id).closest('label, video').hidden = !choice.capture;
  translate($('status'), 'status.prejoin');
  // While the person looks at the preview, the browser describes its codecs once (two throwaway
  // peer connections), so Join does not wait for it (bench:join: warm against cold joins).
  void ConsultationClient.warmUp().catch((e) => console.warn('[prejoin]', e));
  // …and the signaling connection opens, so Join starts on it (demo.js joins at this origin with this token).
  void ConsultationClient.preconnect({ url: location.origin, token }).catch((e) => console.warn('[prejoin]', e));
  void listChoices();
  const reopen = () => void openPreview();
  $('prejoin-camera').onchange = () => ((choice.cameraId = $('prejoin-camera').value), reopen());
  $('prejoin-microphone').onchange = () => ((choice.microphoneId = $('prejoin-microphone').value), reopen());
  $('prejoin-speaker').onchange = () => (choice.speakerId = $('prejoin-speaker').value);
  $('prejoin-check').onclick = () => void runCheck(token).catch((e) => console.warn('[prejoin]', e));
  reopen();
  return new Promise((resolve) => {
    const done = (go) => () => {
      stopPreview();
      $('prejoin').hidden = true;
      if (!go) $('join-form').hidden = false;
      resolve(go);
    };
    $('prejoin-join').onclick = done(true);
    $('prejoin-back').onclick = done(false);
  });
}

/** Camera constraints for the device chosen before joining (none chosen: the browser's default). */
export const cameraConstraints = () => ({
  width: { ideal: 1280 },
  height: { ideal: 720 },
  frameRate: { ideal: 25 },
  ...(choice.cameraId ? { deviceId: { exact: choice.cameraId } } : {}),
});
export const microphoneConstraints = () => ({
  echoCancellation: true,
  noiseSuppression: true,
  autoGainControl: true,
  ...(choice.microphoneId ? { deviceId: { exact: choice.microphoneId } } : {}),
});

/**
 * Waiting in the lobby: your own camera as a preview, and a cancel button that leaves the lobby
 * (`onCancel` aborts the join). `show(false)` hides and stops it.
 */
export async function lobbyPreview(show, onCancel) {
  if (!$('lobby-preview')) build();
  $('lobby-preview').hidden = !show;
  if (!show) return stopPreview();
  $('lobby-cancel').onclick = () => onCancel();
  if (!choice.capture) return;
  try {
    const exact = choice.cameraId ? { deviceId: { exact: choice.cameraId } } : true;
    preview = await navigator.mediaDevices.getUserMedia({ video: exact });
    if ($('lobby-preview').hidden) return stopPreview(); // admitted or cancelled meanwhile
    $('lobby-video').srcObject = preview;
  } catch {
    // No preview (refused, no camera): waiting works without it.
  }
}

/** Plays every audio/video element under `root` on the chosen speaker, now and as tiles come. */
export function followSpeaker(root) {
  const apply = (el) => choice.speakerId && void setSpeaker(el, choice.speakerId).catch(() => undefined);
  root.querySelectorAll('audio, video').forEach(apply);
  new MutationObserver((records) => {
    for (const r of records)
      for (const node of r.addedNodes)
        if (node instanceof HTMLElement)
          (node.matches('audio, video') ? [node] : [...node.querySelectorAll('audio, video')]).forEach(apply);
  }).observe(root, { childList: true, subtree: true });
}

/** Your camera or microphone was unplugged during the call: what the SDK did, in the page's language. */
export function deviceLostNotice(loss) {
  const source = { key: `source.${loss.source}` };
  return loss.fallback
    ? { key: 'notice.deviceLost', params: { source, device: loss.fallback.label || t('prejoin.otherDevice') } }
    : { key: 'notice.deviceLostStopped', params: { source } };
}

// Demo page: uses only the public SDK (window.TelemedSDK), like a clinic's own page would.
import { setupAudience } from './audience.js';
import { has, renderError, roleLabel, setupLanguageSwitch, t, translate, translated } from './i18n.js';
import { setupRecording } from './recording.js';
import { Tiles } from './tiles.js';
import { Layout } from './layout.js';
import { setupAnnouncer } from './announcer.js';
import { setupSound } from './sound.js';
import { confirmDialog } from './confirm-dialog.js';
import { setupEmbed } from './embed.js';
import {
  cameraConstraints,
  deviceLostNotice,
  deviceRefused,
  followSpeaker,
  lobbyPreview,
  microphoneConstraints,
  prejoin,
} from './prejoin.js';

const { ConsultationClient } = window.TelemedSDK;
const $ = (id) => document.getElementById(id);
const form = $('join-form');

/** State exposed for diagnostics and the end-to-end tests. */
const demo = { client: null, joined: false, error: null };
window.demo = demo;
// Opened as /embed inside a clinic's page: talk to the host page (embed.js).
const embed = location.pathname === '/embed' ? setupEmbed(demo, $) : null;

// An id from a name, keeping every letter of every script: 赵磊 and 王芳 must stay two people (an
// ASCII-only id made every Chinese name the same person, and each join replaced the one before).
const slug = (text) =>
  text
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, '-')
    .replace(/^-|-$/g, '')
    .slice(0, 60) || 'site';

setupLanguageSwitch();

/** Shows a failure: a sentence in the page's language for the error's code, the server's message as detail. */
function showError(error, translation) {
  demo.error = error?.message ?? t(translation.key);
  renderError($('error'), error, translation);
  $('error').hidden = false;
}

/** A one-line notice (`key` in the dictionaries) above the tiles. */
function notice(key, params) {
  translate($('notices'), key, params);
}

/** A failed action, said in the page's language by its error code. */
function noticeError(error) {
  renderError($('notices'), error);
}

async function devToken(fields) {
  const body = {
    identity: fields.identity || `${slug(fields.name)}@${slug(fields.site)}`,
    name: fields.name,
    role: fields.role,
    site: { id: slug(fields.site), name: fields.site, level: fields.siteLevel },
    room: fields.room,
    kind: fields.kind,
    ...(fields.caseId ? { caseId: fields.caseId } : {}),
    ...(fields.priorVisit ? { priorVisit: { encounterId: fields.priorVisit, date: new Date().toISOString().slice(0, 10) } } : {}),
  };
  const res = await fetch('/dev/token', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const json = await res.json().catch(() => ({}));
  if (!res.ok) {
    const details = json.error?.details
      ? Object.entries(json.error.details)
          .map(([k, v]) => `${k}: ${v}`)
          .join('; ')
      : '';
    const message = `${json.error?.message ?? `token request failed (${res.status})`}${details ? ` — ${details}` : ''}`;
    // The code (BAD_REQUEST, PRIOR_VISIT_REQUIRED…) picks the translated sentence.
    throw Object.assign(new Error(message), { code: json.error?.code });
  }
  return json.token;
}

function renderLobby(client) {
  const list = $('lobby-list');
  list.replaceChildren();
  for (const p of client.waiting) {
    const li = document.createElement('li');
    li.append(translated('span', 'lobby.entry', { name: p.displayName, role: roleLabel(p.role), site: p.site.name }));
    for (const [key, act] of [
      ['lobby.admit', () => client.moderation.admit(p.id)],
      ['lobby.decline', () => client.moderation.decline(p.id)],
    ]) {
      const b = translated('button', key, undefined, { type: 'button', className: 'small' });
      b.addEventListener('click', () => act().catch(noticeError));
      li.append(b);
    }
    list.append(li);
  }
  $('lobby').hidden = client.waiting.length === 0;
}

function renderChat(message) {
  const li = document.createElement('li');
  const who = translated('span', 'chat.who', { name: message.displayName, site: message.siteName }, { className: 'who' });
  li.append(who, document.createTextNode(message.text));
  $('chat-log').append(li);
  li.scrollIntoView({ block: 'end' });
}

function wireControls(client, tiles) {
  const show = (id, visible) => ($(id).hidden = !visible);
  show('toggle-mic', client.can('publish_audio'));
  show('toggle-cam', client.can('publish_video'));
  show('share-screen', client.can('publish_screen'));
  show('raise-hand', client.can('raise_hand'));
  show('lock', client.can('moderate'));
  show('end', client.can('end_room'));
  // Viewers who may not chat are not shown a chat box they cannot use (questions are their channel).
  show('chat', client.can('chat'));
  const paused = { microphone: false, camera: false };
  demo.paused = paused; // read by the embed bridge (setMicrophoneMuted / setCameraOff)
  const toggle = (source, button, on, off) => async () => {
    try {
      await client.setPublishedPaused(source, !paused[source]);
      paused[source] = !paused[source];
      translate(button, paused[source] ? on : off);
      if (source === 'microphone') tiles.setMuted(client.self.id, paused.microphone ? 'tile.muted' : null);
    } catch (e) {
      noticeError(e);
    }
  };
  $('toggle-mic').onclick = toggle('microphone', $('toggle-mic'), 'controls.unmuteMic', 'controls.muteMic');
  // Muted by a moderator: the microphone is off, so the button offers to unmute (refused until allowed).
  client.on('mutedByModerator', (source) => {
    if (source !== 'microphone') return;
    paused.microphone = true;
    translate($('toggle-mic'), 'controls.unmuteMic');
    tiles.setMuted(client.self.id, 'tile.mutedByModerator');
  });
  $('toggle-cam').onclick = toggle('camera', $('toggle-cam'), 'controls.startCamera', 'controls.stopCamera');
  $('share-screen').onclick = () =>
    client
      .publishScreen()
      .then((track) => tiles.attach(client.self, { source: 'screen', mediaStreamTrack: track }, { self: true }), noticeError);
  let hand = false;
  $('raise-hand').onclick = () =>
    client.setHandRaised(!hand).then(() => {
      hand = !hand;
      translate($('raise-hand'), hand ? 'controls.lowerHand' : 'controls.raiseHand');
    }, noticeError);
  $('lock').onclick = () => client.moderation.lockRoom(!client.roomLocked).catch(noticeError);
  $('end').onclick = () => confirm(t('confirm.end')) && client.moderation.endConsultation().catch(noticeError);
  $('leave').onclick = () => client.leave();
  $('chat-form').onsubmit = (event) => {
    event.preventDefault();
    const input = $('chat-form').elements.namedItem('text');
    client.sendChat(input.value).then((m) => (renderChat(m), (input.value = '')), noticeError);
  };
}

function moderatorAction(client) {
  const acts = {
    muteMic: (p) => client.moderation.muteParticipant(p.id, 'microphone'),
    allowMic: (p) => client.moderation.allowUnmute(p.id, 'microphone'),
    stopScreen: (p) => client.moderation.stopScreenShare(p.id),
    lowerHand: (p) => client.moderation.lowerHand(p.id),
    remove: async (p) =>
      (await confirmDialog('confirm.remove', { name: p.displayName }, 'confirm.removeAction')) && client.moderation.removeParticipant(p.id),
  };
  return (name, participant) => Promise.resolve(acts[name](participant)).catch(noticeError);
}

function enterRoom(client) {
  demo.client = client;
  const tiles = new Tiles($('tiles'), client, moderatorAction(client));
  demo.layout = new Layout($('tiles'), client, $('view-switch'));
  setupAnnouncer($('announcer'), client);
  setupSound(client, $('audio-banner'), $('start-audio'), { noticeError });
  $('lobby-wait').hidden = true;
  form.hidden = true;
  $('room').hidden = false;
  const { kind, id: room, caseId } = client.room;
  translate($('room-title'), caseId ? 'room.titleWithCase' : 'room.title', { kind: { key: `kind.${kind}` }, room, caseId });
  const connected = () => translate($('status'), 'status.connectedAs', { name: client.self.displayName });
  connected();
  const lockState = () => (
    translate($('lock-state'), client.roomLocked ? 'room.locked' : null),
    translate($('lock'), client.roomLocked ? 'controls.unlock' : 'controls.lock')
  );
  lockState();

  // In broadcasts only people with media get a tile; the audience is a count and a list.
  const audienceRoom = client.room.kind === 'broadcast' || client.room.kind === 'training';
  if (!audienceRoom || client.can('publish_video')) tiles.ensure(client.self, { self: true });
  if (!audienceRoom) for (const p of client.participants) tiles.ensure(p);
  for (const id of client.raisedHands) tiles.setHand(id, true);
  for (const m of client.chatHistory) renderChat(m);
  client.on('participantJoined', (p) => audienceRoom || tiles.ensure(p));
  client.on('participantLeft', (p) => tiles.remove(p.id));
  client.on('participantConnection', (p, state) => tiles.setState(p.id, state === 'reconnecting' ? 'tile.reconnecting' : null));
  client.on('trackAdded', (t) => tiles.attach(t.participant, t));
  client.on('trackRemoved', (t) => tiles.detach(t));
  tiles.setSpeaking(client.activeSpeaker?.id);
  client.on('activeSpeaker', (p) => tiles.setSpeaking(p?.id));
  const micMuted = (track, muted) => track.source === 'microphone' && tiles.setMuted(track.participant.id, muted ? 'tile.muted' : null);
  client.on('trackPaused', (track) => micMuted(track, true));
  client.on('trackResumed', (track) => micMuted(track, false));
  client.on('connectionQualityChanged', (p, quality) => tiles.setQuality(p.id, quality));
  client.on('handRaised', (p, raised) => tiles.setHand(p.id, raised));
  client.on('chatMessage', renderChat);
  client.on('roomLocked', lockState);
  client.on('lobbyChanged', () => renderLobby(client));
  const bySource = (key) => (source, by) => notice(key, { by: by.displayName, source: { key: `source.${source}` } });
  client.on('mutedByModerator', bySource('notice.mutedBy'));
  client.on('unmuteAllowed', bySource('notice.unmuteAllowed'));
  client.on('unpublished', (source, by) => (bySource('notice.unpublished')(source, by), tiles.remove(`${client.self.id}-screen`)));
  client.on('connectionStateChanged', (state) =>
    state === 'connected'
      ? connected()
      : translate($('status'), { reconnecting: 'status.reconnecting', moving: 'status.moving' }[state] ?? 'status.disconnected'),
  );
  client.on('error', (e) => console.warn('[demo]', e));
  client.on('deviceLost', (loss) => {
    const { key, params } = deviceLostNotice(loss);
    notice(key, params);
    if (loss.source === 'camera' && loss.track)
      tiles.attach(client.self, { source: 'camera', mediaStreamTrack: loss.track }, { self: true });
  });
  client.on('disconnected', ({ reason, message }) => {
    const because = has(`leave.${reason}`) ? { key: `leave.${reason}` } : message;
    translate($('status'), 'status.disconnectedBecause', { reason: because });
    tiles.clear();
    $('room').hidden = true;
    form.hidden = false;
    demo.joined = false;
  });
  wireControls(client, tiles);
  setupRecording(client, { notice, noticeError });
  if (audienceRoom) setupAudience(client, { notice, noticeError, tiles, publish: () => publishAll(client, tiles) });
  return tiles;
}

async function join(fields) {
  $('error').hidden = true;
  translate($('status'), 'status.connecting');
  // A token handed over by the hospital system (?token=…) is used as is; otherwise mint a dev token.
  const token = fields.token || (await devToken(fields));
  // Cancel in the lobby aborts the join: the SDK leaves the lobby cleanly.
  const leaving = new AbortController();
  const client = await ConsultationClient.join({
    url: location.origin,
    token,
    signal: leaving.signal,
    onWaiting: () => {
      embed?.waiting();
      form.hidden = true;
      $('lobby-wait').hidden = false;
      translate($('status'), 'status.lobby');
      void lobbyPreview(true, () => leaving.abort());
    },
  }).finally(() => lobbyPreview(false));
  const tiles = enterRoom(client);
  const sent = new Set(); // a retry after a refused device sends only what is missing
  const publish = () => publishAll(client, tiles, sent);
  await publish().catch((e) => deviceRefused(e, publish));
  demo.joined = true;
  embed?.joined(client);
}

/** The camera and microphone chosen before joining (prejoin.js); those in `sent` are not sent again. */
async function publishAll(client, tiles, sent = new Set()) {
  if (client.can('publish_video') && !sent.has('camera')) {
    const track = await client.publishCamera({ constraints: cameraConstraints() });
    sent.add('camera');
    tiles.attach(client.self, { source: 'camera', mediaStreamTrack: track }, { self: true });
  }
  if (client.can('publish_audio') && !sent.has('microphone'))
    await client.publishMicrophone(microphoneConstraints()).then(() => sent.add('microphone'));
}

/** The form: a token, then the pre-join screen (devices, preview, pre-call check), then the call. */
async function beforeJoining(fields) {
  $('error').hidden = true;
  const token = fields.token || (await devToken(fields));
  if (await prejoin({ token, role: fields.role })) await join({ ...fields, token });
}

/** A join that failed or was given up in the lobby: back to the form. */
function joinFailed(error) {
  $('lobby-wait').hidden = true;
  form.hidden = false;
  if (error?.name === 'AbortError') return translate($('status'), 'status.leftLobby');
  showError(error);
  embed?.failed(error);
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  beforeJoining(Object.fromEntries(new FormData(form).entries())).catch(joinFailed);
});
followSpeaker($('tiles'));

// Camera and microphone exist only on secure pages: on an intranet host name over http:// say so
// plainly instead of failing later with "device not supported" (viewers can still watch).
if (!window.isSecureContext) {
  showError(null, { key: 'error.insecure' });
  demo.insecure = true;
}

// Deep links join at once: ?token=… (a token from the hospital system), or in development
// ?room=…&name=…&role=…&site=… (optional siteLevel, kind, caseId, identity, priorVisit).
const params = new URLSearchParams(location.search);
if (params.get('token') || ['room', 'name', 'role', 'site'].every((k) => params.get(k))) {
  const fields = Object.fromEntries(new FormData(form).entries());
  for (const [k, v] of params) fields[k] = v;
  for (const [k, v] of Object.entries(fields)) {
    const input = form.elements.namedItem(k);
    if (input) input.value = v;
  }
  // ?prejoin=1: the pre-join screen first (a link sent to a patient); otherwise straight in.
  (params.get('prejoin') ? beforeJoining(fields) : join(fields)).catch(joinFailed);
}

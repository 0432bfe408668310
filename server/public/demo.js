// Demo page: uses only the public SDK (window.TelemedSDK), like a clinic's own page would.
import { setupAudience } from './audience.js';
import { setupRecording } from './recording.js';
import { Tiles } from './tiles.js';

const { ConsultationClient } = window.TelemedSDK;
const $ = (id) => document.getElementById(id);
const form = $('join-form');

/** State exposed for diagnostics and the end-to-end tests. */
const demo = { client: null, joined: false, error: null };
window.demo = demo;

// An id from a name, keeping every letter of every script: 赵磊 and 王芳 must stay two people (an
// ASCII-only id made every Chinese name the same person, and each join replaced the one before).
const slug = (text) =>
  text
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, '-')
    .replace(/^-|-$/g, '')
    .slice(0, 60) || 'site';

function showError(message) {
  demo.error = message;
  $('error').textContent = message;
  $('error').hidden = false;
}

function notice(text) {
  $('notices').textContent = text;
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
    throw new Error(`${json.error?.message ?? `token request failed (${res.status})`}${details ? ` — ${details}` : ''}`);
  }
  return json.token;
}

function renderLobby(client) {
  const list = $('lobby-list');
  list.replaceChildren();
  for (const p of client.waiting) {
    const li = document.createElement('li');
    li.textContent = `${p.displayName} · ${p.role} · ${p.site.name}`;
    for (const [label, act] of [
      ['Admit', () => client.moderation.admit(p.id)],
      ['Decline', () => client.moderation.decline(p.id)],
    ]) {
      const b = Object.assign(document.createElement('button'), { type: 'button', className: 'small', textContent: label });
      b.addEventListener('click', () => act().catch((e) => notice(e.message)));
      li.append(b);
    }
    list.append(li);
  }
  $('lobby').hidden = client.waiting.length === 0;
}

function renderChat(message) {
  const li = document.createElement('li');
  const who = Object.assign(document.createElement('span'), {
    className: 'who',
    textContent: `${message.displayName} (${message.siteName}): `,
  });
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
  const paused = { microphone: false, camera: false };
  const toggle = (source, button, on, off) => async () => {
    try {
      await client.setPublishedPaused(source, !paused[source]);
      paused[source] = !paused[source];
      button.textContent = paused[source] ? on : off;
    } catch (e) {
      notice(e.message);
    }
  };
  $('toggle-mic').onclick = toggle('microphone', $('toggle-mic'), 'Unmute mic', 'Mute mic');
  $('toggle-cam').onclick = toggle('camera', $('toggle-cam'), 'Start camera', 'Stop camera');
  $('share-screen').onclick = () =>
    client.publishScreen().then(
      (t) => tiles.attach(client.self, { source: 'screen', mediaStreamTrack: t }, { self: true }),
      (e) => notice(e.message),
    );
  let hand = false;
  $('raise-hand').onclick = () =>
    client.setHandRaised(!hand).then(
      () => {
        hand = !hand;
        $('raise-hand').textContent = hand ? 'Lower hand' : 'Raise hand';
      },
      (e) => notice(e.message),
    );
  $('lock').onclick = () => client.moderation.lockRoom(!client.roomLocked).catch((e) => notice(e.message));
  $('end').onclick = () =>
    confirm('End the consultation for everyone?') && client.moderation.endConsultation().catch((e) => notice(e.message));
  $('leave').onclick = () => client.leave();
  $('chat-form').onsubmit = (event) => {
    event.preventDefault();
    const input = $('chat-form').elements.namedItem('text');
    client.sendChat(input.value).then(
      (m) => (renderChat(m), (input.value = '')),
      (e) => notice(e.message),
    );
  };
}

function moderatorAction(client) {
  const acts = {
    muteMic: (p) => client.moderation.muteParticipant(p.id, 'microphone'),
    allowMic: (p) => client.moderation.allowUnmute(p.id, 'microphone'),
    stopScreen: (p) => client.moderation.stopScreenShare(p.id),
    lowerHand: (p) => client.moderation.lowerHand(p.id),
    remove: (p) => confirm(`Remove ${p.displayName}?`) && client.moderation.removeParticipant(p.id),
  };
  return (name, participant) => Promise.resolve(acts[name](participant)).catch((e) => notice(e.message));
}

function enterRoom(client) {
  demo.client = client;
  const tiles = new Tiles($('tiles'), client, moderatorAction(client));
  $('lobby-wait').hidden = true;
  form.hidden = true;
  $('room').hidden = false;
  $('room-title').textContent = `${client.room.kind} · ${client.room.id}${client.room.caseId ? ` · case ${client.room.caseId}` : ''}`;
  $('status').textContent = `Connected as ${client.self.displayName}`;
  const lockState = () => (
    ($('lock-state').textContent = client.roomLocked ? 'Locked' : ''),
    ($('lock').textContent = client.roomLocked ? 'Unlock room' : 'Lock room')
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
  client.on('participantConnection', (p, state) => tiles.setState(p.id, state === 'reconnecting' ? 'reconnecting…' : ''));
  client.on('trackAdded', (t) => tiles.attach(t.participant, t));
  client.on('trackRemoved', (t) => tiles.detach(t));
  client.on('activeSpeaker', (p) => tiles.setSpeaking(p?.id));
  client.on('handRaised', (p, raised) => tiles.setHand(p.id, raised));
  client.on('chatMessage', renderChat);
  client.on('roomLocked', lockState);
  client.on('lobbyChanged', () => renderLobby(client));
  client.on('mutedByModerator', (source, by) => notice(`${by.displayName} muted your ${source}. You can unmute when they allow it.`));
  client.on('unmuteAllowed', (source, by) => notice(`${by.displayName} allowed you to unmute your ${source}.`));
  client.on(
    'unpublished',
    (source, by) => (notice(`${by.displayName} stopped your ${source} share.`), tiles.remove(`${client.self.id}-screen`)),
  );
  client.on(
    'connectionStateChanged',
    (state) =>
      ($('status').textContent =
        state === 'connected'
          ? `Connected as ${client.self.displayName}`
          : state === 'reconnecting'
            ? 'Connection lost — reconnecting…'
            : state === 'moving'
              ? '迁移到其他服务器… / Moving to another server…'
              : 'Disconnected'),
  );
  client.on('error', (e) => console.warn('[demo]', e));
  client.on('disconnected', ({ message }) => {
    $('status').textContent = `Disconnected: ${message}`;
    tiles.clear();
    $('room').hidden = true;
    form.hidden = false;
    demo.joined = false;
  });
  wireControls(client, tiles);
  setupRecording(client, notice);
  if (audienceRoom) setupAudience(client, { notice, tiles, publish: () => publishAll(client, tiles) });
  return tiles;
}

async function join(fields) {
  $('error').hidden = true;
  $('status').textContent = 'Connecting…';
  // A token handed over by the hospital system (?token=…) is used as is; otherwise mint a dev token.
  const token = fields.token || (await devToken(fields));
  const client = await ConsultationClient.join({
    url: location.origin,
    token,
    onWaiting: () => {
      form.hidden = true;
      $('lobby-wait').hidden = false;
      $('status').textContent = 'Waiting in the lobby';
    },
  });
  const tiles = enterRoom(client);
  await publishAll(client, tiles);
  demo.joined = true;
}

async function publishAll(client, tiles) {
  if (client.can('publish_video'))
    tiles.attach(client.self, { source: 'camera', mediaStreamTrack: await client.publishCamera() }, { self: true });
  if (client.can('publish_audio')) await client.publishMicrophone();
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  join(Object.fromEntries(new FormData(form).entries())).catch(
    (e) => (($('lobby-wait').hidden = true), (form.hidden = false), showError(e.message ?? String(e))),
  );
});

// Camera and microphone exist only on secure pages: on an intranet host name over http:// say so
// plainly instead of failing later with "device not supported" (viewers can still watch).
if (!window.isSecureContext) {
  showError(
    '请通过 https:// 打开本页面：浏览器只在安全页面上提供摄像头和麦克风（观众仍可观看）。' +
      ' Open this page over https:// — browsers give camera and microphone only to secure pages (viewers can still watch).',
  );
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
  join(fields).catch((e) => showError(e.message ?? String(e)));
}

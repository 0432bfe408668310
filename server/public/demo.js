// Demo page: uses only the public SDK (window.TelemedSDK), like a clinic's own page would.
const { ConsultationClient, ROLE_LABELS, SITE_LEVEL_LABELS } = window.TelemedSDK;

const form = document.getElementById('join-form');
const roomSection = document.getElementById('room');
const tiles = document.getElementById('tiles');
const statusEl = document.getElementById('status');
const errorEl = document.getElementById('error');

/** State exposed for diagnostics and the end-to-end tests. */
const demo = { client: null, joined: false, error: null };
window.demo = demo;

function slug(text) {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 60) || 'site';
}

function showError(message) {
  demo.error = message;
  errorEl.textContent = message;
  errorEl.hidden = false;
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
  };
  const res = await fetch('/dev/token', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const json = await res.json().catch(() => ({}));
  if (!res.ok) {
    const details = json.error?.details ? Object.entries(json.error.details).map(([k, v]) => `${k}: ${v}`).join('; ') : '';
    throw new Error(`${json.error?.message ?? `token request failed (${res.status})`}${details ? ` — ${details}` : ''}`);
  }
  return json.token;
}

function tileFor(participant, isSelf) {
  let tile = document.getElementById(`tile-${participant.id}`);
  if (tile) return tile;
  tile = document.createElement('div');
  tile.className = 'tile';
  tile.id = `tile-${participant.id}`;
  tile.dataset.participantId = participant.id;
  tile.dataset.role = participant.role;
  tile.dataset.site = participant.site.name;
  const video = document.createElement('video');
  video.autoplay = true;
  video.playsInline = true;
  video.muted = true; // audio plays through the separate <audio> element
  const audio = document.createElement('audio');
  audio.autoplay = true;
  const label = document.createElement('div');
  label.className = 'label';
  const name = document.createElement('span');
  name.className = 'name';
  name.textContent = `${participant.displayName}${isSelf ? ' (you)' : ''} · ${ROLE_LABELS[participant.role] ?? participant.role}`;
  const site = document.createElement('span');
  site.className = 'site';
  site.textContent = `${participant.site.name} — ${SITE_LEVEL_LABELS[participant.site.level] ?? participant.site.level}`;
  label.append(name, site);
  tile.append(video, audio, label);
  tiles.append(tile);
  return tile;
}

function attach(tile, track) {
  const el = tile.querySelector(track.kind === 'video' ? 'video' : 'audio');
  const stream = el.srcObject instanceof MediaStream ? el.srcObject : new MediaStream();
  for (const old of stream.getTracks()) if (old.kind === track.kind) stream.removeTrack(old);
  stream.addTrack(track);
  el.srcObject = stream;
  el.play?.().catch(() => undefined);
}

async function join(fields) {
  errorEl.hidden = true;
  statusEl.textContent = 'Connecting…';
  // A token handed over by the hospital system (?token=…) is used as is; otherwise mint a dev token.
  const token = fields.token || (await devToken(fields));
  const client = await ConsultationClient.join({ url: location.origin, token });
  demo.client = client;
  form.hidden = true;
  roomSection.hidden = false;
  document.getElementById('room-title').textContent = fields.token ? 'Consultation' : `${fields.kind} · ${fields.room}${fields.caseId ? ` · case ${fields.caseId}` : ''}`;
  statusEl.textContent = `Connected as ${client.self.displayName}`;

  tileFor(client.self, true);
  for (const p of client.participants) tileFor(p, false);
  client.on('participantJoined', (p) => tileFor(p, false));
  client.on('participantLeft', (p) => document.getElementById(`tile-${p.id}`)?.remove());
  client.on('trackAdded', (t) => t.source !== 'screen' && attach(tileFor(t.participant, false), t.mediaStreamTrack));
  client.on('activeSpeaker', (p) => {
    for (const tile of tiles.children) tile.classList.toggle('speaking', tile.dataset.participantId === p?.id);
  });
  client.on('error', (e) => console.warn('[demo]', e));
  client.on('disconnected', ({ message }) => {
    statusEl.textContent = `Disconnected: ${message}`;
    tiles.replaceChildren();
    roomSection.hidden = true;
    form.hidden = false;
    demo.joined = false;
  });

  const selfTile = tileFor(client.self, true);
  if (client.can('publish_video')) attach(selfTile, await client.publishCamera());
  if (client.can('publish_audio')) await client.publishMicrophone();
  demo.joined = true;
}

document.getElementById('leave').addEventListener('click', () => demo.client?.leave());
form.addEventListener('submit', (event) => {
  event.preventDefault();
  const fields = Object.fromEntries(new FormData(form).entries());
  join(fields).catch((e) => showError(e.message ?? String(e)));
});

// Deep links join at once: ?token=… (a token from the hospital system), or in development
// ?room=…&name=…&role=…&site=… (optional siteLevel, kind, caseId, identity).
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

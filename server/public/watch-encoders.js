// Studio encoders, for the programme's moderators on its page: the publicity department makes the
// URL and key OBS (WHIP) or any encoder (RTMP) needs, sees each encoder's state and health, and
// revokes one. The server decides who may (the panel appears only when it lists the room's ingests
// for this token) and keeps only the key's hash: the key is shown once, right after it is made.
import { confirmDialog } from './confirm-dialog.js';
import { t, translate, translated } from './i18n.js';

const $ = (id) => document.getElementById(id);
const STATE_KEYS = {
  waiting: 'encoders.state.waiting',
  live: 'encoders.state.live',
  reconnecting: 'encoders.state.reconnecting',
  ended: 'encoders.state.ended',
};

/** Bitrate, frame rate and loss in the page's language; empty before the first measure. */
function healthText(health) {
  if (!health) return '';
  const parts = [t('encoders.bitrate', { rate: `${(health.bitrateBps / 1e6).toFixed(1)} Mbit/s` })];
  if (health.frameRate !== null) parts.push(t('encoders.frameRate', { fps: Math.round(health.frameRate) }));
  parts.push(t('encoders.loss', { percent: health.lossPercent.toFixed(1) }));
  return parts.join(' · ');
}

export function setupEncoders({ room, base, token }) {
  const section = $('encoders');
  const form = $('encoder-form');
  const auth = { authorization: `Bearer ${token}` };
  const url = (path) => new URL(path, base);
  const notice = (key, params) => translate($('encoder-notice'), key, params);
  const failed = async (res) => {
    const body = await res.json().catch(() => ({}));
    notice('encoders.failed', { reason: body.error?.message ?? String(res.status) });
  };

  function render(ingests) {
    $('encoder-list').replaceChildren(
      ...ingests
        .filter((i) => i.state !== 'ended')
        .map((ingest) => {
          const li = document.createElement('li');
          li.dataset.state = ingest.state;
          li.dataset.id = ingest.id;
          li.append(Object.assign(document.createElement('strong'), { textContent: ingest.name }));
          li.append(Object.assign(document.createElement('span'), { textContent: ` · ${ingest.protocol.toUpperCase()} · ` }));
          li.append(translated('span', STATE_KEYS[ingest.state], undefined, { className: 'state' }));
          const revoke = translated('button', 'encoders.revoke', undefined, { type: 'button', className: 'danger' });
          revoke.onclick = () => void revokeOne(ingest);
          li.append(revoke);
          li.append(Object.assign(document.createElement('span'), { className: 'health', textContent: healthText(ingest.health) }));
          return li;
        }),
    );
  }

  async function refresh() {
    const res = await fetch(url(`ingest?room=${encodeURIComponent(room)}`), { headers: auth, cache: 'no-store' }).catch(() => null);
    // Not a moderator of this broadcast (or ingest is off): no panel. A failed poll keeps what is shown.
    if (res && (res.status === 401 || res.status === 403 || res.status === 404)) section.hidden = true;
    if (!res?.ok) return;
    section.hidden = false;
    render((await res.json()).ingests);
  }

  async function revokeOne(ingest) {
    if (!(await confirmDialog('encoders.revokeConfirm', { name: ingest.name }, 'encoders.revoke'))) return;
    const res = await fetch(url(`ingest/${encodeURIComponent(ingest.id)}`), { method: 'DELETE', headers: auth });
    if (res.ok) notice('encoders.revoked', { name: ingest.name });
    else await failed(res);
    await refresh();
  }

  form.onsubmit = async (event) => {
    event.preventDefault();
    const f = form.elements;
    const res = await fetch(url('ingest'), {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      // The encoder's site is the moderator's own (their token's), as when made over signaling.
      body: JSON.stringify({ room, protocol: f.namedItem('protocol').value, name: f.namedItem('name').value }),
    });
    if (!res.ok) return void (await failed(res));
    const grant = await res.json();
    // What goes into the encoder: for RTMP the server and the stream key apart (as OBS asks for them).
    $('grant-url').value = grant.ingest.protocol === 'rtmp' ? grant.ingest.url : grant.publishUrl;
    $('grant-token').value = grant.token;
    const rtmp = grant.ingest.protocol === 'rtmp';
    // Named as the encoder names the field (the same words in every language).
    translate($('grant-token-label'), rtmp ? 'encoders.streamKey' : 'encoders.bearer', { term: rtmp ? 'Stream Key' : 'Bearer Token' });
    $('encoder-grant').hidden = false;
    notice('encoders.created', { name: grant.ingest.name });
    form.reset();
    await refresh();
  };
  for (const id of ['grant-url', 'grant-token']) $(id).onfocus = (event) => event.target.select();
  return { refresh };
}

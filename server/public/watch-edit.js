// The programme's details form, for a moderator who opens the page with their own token: shown when
// the server says the token may edit (or there is no programme yet: the server then decides).
import { t, translate } from './i18n.js';

const $ = (id) => document.getElementById(id);

/** `datetime-local` has no zone: the phone's own zone, written with its offset. */
function withOffset(local) {
  const date = new Date(local);
  const offset = -date.getTimezoneOffset();
  const sign = offset >= 0 ? '+' : '-';
  const pad = (n) => String(Math.floor(Math.abs(n))).padStart(2, '0');
  return `${local.length === 16 ? `${local}:00` : local}${sign}${pad(offset / 60)}:${pad(offset % 60)}`;
}

function toLocalInput(iso) {
  const d = new Date(iso);
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** The token's role, read without checking it (only to offer the form; the server checks the token). */
function roleOf(token) {
  try {
    return JSON.parse(atob(token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/'))).role;
  } catch {
    return undefined;
  }
}

export function setupEditForm({ room, base, token, current, saved }) {
  const form = $('edit-form');
  let filled = false;
  const fill = () => {
    const view = current();
    // No programme yet: offered to the room's chair, whose token creates it.
    form.hidden = view ? !view.mayEdit : roleOf(token) !== 'lead_specialist';
    if (!view || filled || form.hidden) return;
    filled = true;
    const d = view.details;
    for (const name of ['title', 'description', 'presenterName', 'hospital', 'visibility']) form.elements.namedItem(name).value = d[name];
    form.elements.namedItem('scheduledStart').value = toLocalInput(d.scheduledStart);
    form.elements.namedItem('replayAllowed').checked = d.replay.allowed;
    form.elements.namedItem('retentionDays').value = String(d.replay.retentionDays);
  };
  setInterval(fill, 1000);
  form.onsubmit = async (event) => {
    event.preventDefault();
    const f = form.elements;
    const details = {
      title: f.namedItem('title').value,
      description: f.namedItem('description').value,
      scheduledStart: withOffset(f.namedItem('scheduledStart').value),
      presenterName: f.namedItem('presenterName').value,
      hospital: f.namedItem('hospital').value,
      visibility: f.namedItem('visibility').value,
      replay: { allowed: f.namedItem('replayAllowed').checked, retentionDays: Number(f.namedItem('retentionDays').value) },
    };
    const res = await fetch(new URL(`api/programmes/${encodeURIComponent(room)}`, base), {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(details),
    });
    const body = await res.json().catch(() => ({}));
    if (res.ok) {
      translate($('edit-notice'), 'programme.saved');
      saved(body);
    } else $('edit-notice').textContent = `${t('programme.saveFailed')} ${body.error?.message ?? res.status}`;
  };
}

// The operators' dashboard: asks for an admin token (kept in this tab only, sessionStorage), then reads
// the admin API every few seconds and draws rooms by site, call quality, workers and deliveries.
// Closing a room, removing a participant and retrying a delivery each ask for confirmation first.
import { ADMIN_MESSAGES } from './admin-messages.js';
import { renderRecords, renderRooms, renderSites, renderSummary, renderWorkers } from './admin-view.js';
import { addMessages, renderError, setupLanguageSwitch, translate } from './i18n.js';

const REFRESH_MS = 4000;
const TOKEN_KEY = 'telemed-admin-token';
const $ = (id) => document.getElementById(id);

addMessages(ADMIN_MESSAGES);
setupLanguageSwitch();

/** State exposed for diagnostics and the end-to-end tests. */
const dashboard = { refreshes: 0, error: null, data: null };
window.dashboard = dashboard;

const storedToken = () => {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return dashboard.token ?? null; // storage blocked: this page only
  }
};
function keepToken(token) {
  dashboard.token = token;
  try {
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    // storage blocked: the token lasts as long as this page
  }
}

class ApiError extends Error {
  constructor(status, wire) {
    super(wire?.message ?? `HTTP ${status}`);
    this.status = status;
    this.code = wire?.code;
  }
}

async function api(path, method = 'GET') {
  const response = await fetch(path, { method, headers: { authorization: `Bearer ${storedToken()}` }, cache: 'no-store' });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new ApiError(response.status, body.error);
  return body;
}

function showError(error, key) {
  dashboard.error = error?.message ?? key;
  renderError($('error'), error, key ? { key } : undefined);
  $('error').hidden = false;
}

function signedIn(on) {
  $('token-form').hidden = on;
  $('dashboard').hidden = !on;
  $('sign-out').hidden = !on;
}

/** Back to the token form: the token was refused (expired, not an admin token) or the operator left. */
function signOut(error) {
  keepToken(null);
  clearTimeout(timer);
  signedIn(false);
  if (error) showError(error, 'admin.error.token');
  else $('error').hidden = true;
  $('token-form').elements.token.focus();
}

/** Asks the operator to confirm `key`; resolves true for "OK". */
function confirmAction(key, params) {
  const dialog = $('confirm');
  translate($('confirm-text'), key, params);
  dialog.returnValue = '';
  dialog.showModal();
  return new Promise((resolve) => dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true }));
}

/** An intervention: confirmed, sent, then the view refreshed at once. */
async function act(key, params, path) {
  if (!(await confirmAction(key, params))) return;
  try {
    await api(path, 'POST');
    $('error').hidden = true;
  } catch (error) {
    if (error.status === 401) return signOut(error);
    showError(error, 'admin.error.action');
  }
  await refresh();
}

const enc = encodeURIComponent;
const actions = {
  close: (room) => act('admin.confirm.close', { room: room.id }, `/admin/rooms/${enc(room.id)}/close`),
  remove: (room, p) =>
    act(
      'admin.confirm.remove',
      { name: p.name, site: p.site.name, room: room.id },
      `/admin/rooms/${enc(room.id)}/participants/${enc(p.id)}/remove`,
    ),
  retry: (entry) => act('admin.confirm.retry', { entry: entry.entryId }, `/admin/case-records/${enc(entry.entryId)}/retry`),
};

/** Every room's detail (its people's lines); a room that ended between the two requests is left out. */
async function roomsWithLines() {
  const { rooms } = await api('/admin/rooms');
  const details = await Promise.all(
    rooms.map((r) => api(`/admin/rooms/${enc(r.id)}`).catch((e) => (e.status === 404 ? null : Promise.reject(e)))),
  );
  return details.filter(Boolean);
}

let timer;
let running = null;

async function load() {
  const [rooms, workers, records] = await Promise.all([roomsWithLines(), api('/admin/workers'), api('/admin/case-records')]);
  const data = { rooms, workers, records };
  renderSummary($('summary'), data);
  renderSites($('sites'), rooms);
  renderRooms($('rooms'), rooms, actions);
  renderWorkers($('workers'), workers);
  renderRecords($('records'), records, actions);
  translate($('updated'), 'admin.updated', { at: { time: Date.now() } });
  dashboard.data = data;
  dashboard.refreshes++;
}

/** One refresh at a time; the next is scheduled when it ends, so a slow server is never piled on. */
function refresh() {
  running ??= load()
    .then(() => {
      $('error').hidden = true;
      dashboard.error = null;
    })
    .catch((error) => (error.status === 401 ? signOut(error) : showError(error, 'admin.error.load')))
    .finally(() => {
      running = null;
      clearTimeout(timer);
      if (storedToken()) timer = setTimeout(refresh, REFRESH_MS);
    });
  return running;
}

$('token-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const token = event.target.elements.token.value.trim();
  event.target.reset();
  keepToken(token);
  signedIn(true);
  void refresh();
});
$('sign-out').addEventListener('click', () => signOut());

if (storedToken()) {
  signedIn(true);
  void refresh();
} else signedIn(false);

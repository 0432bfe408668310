// The programme page: what the programme is, its state and audience, and the video — WebRTC with a
// viewer token in the link (#token=…), HLS otherwise or when WebRTC does not get through — then the
// replay or "it has ended". The view is asked for every few seconds; the page follows it.
import { language, setupLanguageSwitch, t, translate, translated } from './i18n.js';
import { playHls, playWebRtc } from './watch-player.js';
import { setupEditForm } from './watch-edit.js';
import { setupEncoders } from './watch-encoders.js';

const $ = (id) => document.getElementById(id);
const POLL_MS = 3000;
const STATE_KEYS = { scheduled: 'programme.state.scheduled', live: 'programme.state.live', ended: 'programme.state.ended' };
/** How each player is named, with the technology as a parameter (the same word in every language). */
const PLAYBACK = {
  webrtc: { key: 'programme.playback.webrtc', params: { tech: 'WebRTC' } },
  native: { key: 'programme.playback.native', params: { tech: 'HLS' } },
  hlsjs: { key: 'programme.playback.hlsjs', params: { tech: 'HLS', lib: 'hls.js' } },
};
const room = decodeURIComponent(location.pathname.split('/').filter(Boolean).at(-1) ?? '');
const base = new URL('..', location.href);
const token = takeToken();

const page = {
  view: null,
  player: null,
  starting: null,
  webrtcFailed: false,
  pollTimer: 0,
  /** The SDK client while playing over WebRTC. */
  get client() {
    return this.player?.client ?? null;
  },
};
window.programmePage = page; // for tests and support staff: which player runs, the last view

/** The token travels in the fragment (never sent to a server); kept for this tab, then out of the address bar. */
function takeToken() {
  const fromHash = new URLSearchParams(location.hash.slice(1)).get('token');
  try {
    if (fromHash) sessionStorage.setItem(`programme-token:${location.pathname}`, fromHash);
    const kept = fromHash ?? sessionStorage.getItem(`programme-token:${location.pathname}`);
    if (fromHash) history.replaceState(null, '', location.pathname + location.search);
    return kept;
  } catch {
    return fromHash; // storage blocked (some in-app browsers): this load only
  }
}

async function fetchView() {
  const res = await fetch(new URL(`api/programmes/${encodeURIComponent(room)}`, base), {
    headers: token ? { authorization: `Bearer ${token}` } : {},
    cache: 'no-store',
  });
  if (res.status === 404) return null;
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  return res.json();
}

const when = (iso) => new Date(iso).toLocaleString(language(), { dateStyle: 'medium', timeStyle: 'short' });
const day = (iso) => new Date(iso).toLocaleDateString(language(), { dateStyle: 'medium' });

function renderAbout(view) {
  const d = view.details;
  document.title = `${d.title} · ${t('programme.brand')}`;
  $('title').textContent = d.title;
  $('presenter').textContent = t('programme.presenter', { name: d.presenterName, hospital: d.hospital });
  $('schedule').textContent = t('programme.scheduled', { when: when(d.scheduledStart) });
  $('description').textContent = d.description;
  translate($('state'), STATE_KEYS[view.state]);
  $('state').classList.toggle('live', view.state === 'live');
  $('viewers').textContent = view.state === 'live' ? t('programme.viewers', { count: view.viewers }) : '';
  $('replay-until').hidden = !view.replay;
  if (view.replay) $('replay-until').textContent = t('programme.replayUntil', { date: day(view.replay.retainUntil) });
}

function stageMessage(view) {
  if (!view.mayWatch) return 'programme.registeredOnly';
  if (view.state === 'scheduled') return 'programme.notStarted';
  if (view.state === 'ended') return view.replay ? null : 'programme.ended';
  return page.player ? null : 'programme.connecting';
}

function renderQuestions(view) {
  const client = page.player?.client;
  const list = client ? client.audience.questions : view.questions;
  $('qa').hidden = !(view.state === 'live' && view.mayWatch) && list.length === 0;
  $('ask-form').hidden = !client?.can('ask_question');
  $('questions').replaceChildren(
    ...list
      .filter((q) => q.status !== 'hidden')
      .map((q) => {
        const li = document.createElement('li');
        li.dataset.status = q.status;
        li.append(Object.assign(document.createElement('span'), { textContent: q.text }));
        li.append(translated('span', `question.${q.status}`, undefined, { className: 'status' }));
        return li;
      }),
  );
}

function render() {
  const view = page.view;
  if (!view) {
    translate($('stage-message'), 'programme.notFound');
    return;
  }
  renderAbout(view);
  translate($('stage-message'), stageMessage(view));
  const kind = page.player?.kind;
  $('playback').hidden = !kind;
  if (kind) translate($('playback'), PLAYBACK[kind].key, PLAYBACK[kind].params);
  $('playback').dataset.kind = kind ?? '';
  $('unmute').hidden = !page.player || !$('player').muted;
  renderQuestions(view);
}

function stopPlayer() {
  page.player?.stop();
  page.player = null;
}

/** What should play now, given the view: nothing, live (WebRTC or HLS) or the replay. */
function wanted(view) {
  if (!view?.mayWatch) return null;
  if (view.state === 'live') return token && !page.webrtcFailed ? 'webrtc' : view.hlsUrl ? `live:${view.hlsUrl}` : null;
  if (view.state === 'ended' && view.replay) return `replay:${view.replay.url}`;
  return null;
}

async function follow() {
  const target = wanted(page.view);
  if (page.starting || target === page.player?.target) return;
  stopPlayer();
  if (!target) return;
  page.starting = start(target)
    .then((player) => (page.player = Object.assign(player, { target })))
    .catch((error) => {
      console.warn('[programme] playback:', error);
      if (target === 'webrtc') page.webrtcFailed = true; // HLS from now on, as a patient without a token would
    })
    .finally(() => {
      page.starting = null;
      render();
      void follow();
    });
}

function start(target) {
  const video = $('player');
  if (target === 'webrtc') return playWebRtc(video, token, base).then((player) => watchClient(player));
  const [mode, url] = [target.slice(0, target.indexOf(':')), target.slice(target.indexOf(':') + 1)];
  return playHls(video, url, base, {
    live: mode === 'live',
    // The playlist may not exist yet, or the stream restarted: start again on the next view.
    onFatal: (error) => {
      console.warn('[programme] HLS:', error.message);
      if (page.player?.target === target) stopPlayer();
    },
  });
}

/** A WebRTC viewer hears of new questions and a changed audience at once, not at the next poll. */
function watchClient(player) {
  const { client } = player;
  client.audience.on('questionUpdated', render);
  client.audience.on('viewerCount', () => void refresh());
  client.on('disconnected', () => {
    if (page.player === player) stopPlayer();
    void refresh();
  });
  return player;
}

async function refresh() {
  try {
    page.view = await fetchView();
  } catch (error) {
    console.warn('[programme] view:', error.message);
  }
  render();
  void follow();
}

$('unmute').onclick = () => {
  const video = $('player');
  video.muted = false;
  void video.play().catch(() => undefined);
  render();
};
$('ask-form').onsubmit = (event) => {
  event.preventDefault();
  const input = $('ask-form').elements.namedItem('text');
  page.player?.client?.audience.ask(input.value).then(
    () => {
      input.value = '';
      translate($('ask-notice'), 'programme.asked');
      render();
    },
    (error) => translate($('ask-notice'), error?.code === 'TOO_MANY_REQUESTS' ? 'programme.askTooSoon' : 'programme.askFailed'),
  );
};
for (const b of document.querySelectorAll('[data-lang]')) b.addEventListener('click', render);

setupLanguageSwitch();
if (token) setupEditForm({ room, base, token, current: () => page.view, saved: (view) => ((page.view = view), render()) });
// Studio encoders: the panel shows itself if the server lists this room's ingests for the token.
const encoders = token ? setupEncoders({ room, base, token }) : null;
if (token) {
  const sdk = Object.assign(document.createElement('script'), { src: new URL('sdk/telemed-sdk.iife.js', base).href });
  sdk.onload = () => void refresh();
  sdk.onerror = () => ((page.webrtcFailed = true), void refresh());
  document.head.append(sdk);
} else void refresh();
page.pollTimer = setInterval(() => {
  void refresh();
  void encoders?.refresh();
}, POLL_MS);
void encoders?.refresh();

// Video tiles: one per participant (plus one per shared screen), labelled with name, role and site,
// with what matters about the person in icon and words (never colour alone): microphone muted (by
// themselves or by a moderator), speaking, the line's grade, a raised hand, reconnecting. Remote sound
// is played through the SDK (client.attachAudio), which notices when the browser refuses to play it.
import { roleLabel, siteLevelLabel, translate, translateAttribute, translated } from './i18n.js';
import { tileMenu } from './tile-menu.js';

const badge = (className) => Object.assign(document.createElement('span'), { className: `badge ${className}`, hidden: true });

export class Tiles {
  constructor(container, client, actions) {
    this.container = container;
    this.client = client;
    this.actions = actions; // moderator actions: (name, participant) => void
  }

  ensure(participant, { self = false, screen = false } = {}) {
    const id = `tile-${participant.id}${screen ? '-screen' : ''}`;
    let tile = document.getElementById(id);
    if (tile) return tile;
    tile = document.createElement('div');
    tile.className = `tile${screen ? ' screen' : ''}${self ? ' self' : ''}`;
    tile.id = id;
    tile.dataset.participantId = participant.id;
    const video = Object.assign(document.createElement('video'), { autoplay: true, playsInline: true, muted: true });
    const audio = document.createElement('audio'); // played by the SDK (attachAudio), which sees a refusal
    const label = document.createElement('div');
    label.className = 'label';
    const nameKey = `tile.${screen ? 'screen' : 'name'}${self ? 'Self' : ''}`;
    const name = translated('span', nameKey, { name: participant.displayName, role: roleLabel(participant.role) }, { className: 'name' });
    const level = siteLevelLabel(participant.site.level);
    const site = translated('span', 'tile.site', { site: participant.site.name, level }, { className: 'site' });
    label.append(name, site);
    // The video itself says nothing to a screen reader: name it after the person.
    translateAttribute(video, 'aria-label', nameKey, { name: participant.displayName, role: roleLabel(participant.role) });
    const hand = Object.assign(document.createElement('span'), { className: 'hand', hidden: true, textContent: '✋' });
    translateAttribute(hand, 'title', 'tile.handRaised');
    translateAttribute(hand, 'aria-label', 'tile.handRaised');
    const badges = Object.assign(document.createElement('div'), { className: 'badges' });
    // The line's grade in words (a class adds colour and an icon, never the only cue).
    badges.append(badge('state'), badge('mic'), badge('speaking'), badge('quality'));
    tile.append(video, audio, label, hand, badges);
    if (!self && !screen && this.client.can('moderate')) tile.append(tileMenu(participant, this.actions));
    this.container.append(tile);
    // A grade given before the tile existed (a late joiner, a presenter's first track) shows at once.
    if (!screen) this.setQuality(participant.id, this.client.connectionQuality(participant.id));
    // Ask for the simulcast layer that fits the tile: thumbnails do not need full resolution.
    new ResizeObserver(() => this.#fitQuality(tile)).observe(tile);
    return tile;
  }

  attach(participant, track, { self = false } = {}) {
    const tile = this.ensure(participant, { self, screen: track.source === 'screen' });
    const media = track.mediaStreamTrack ?? track;
    if (media.kind === 'audio' && track.id) {
      this.client.attachAudio(track, tile.querySelector('audio'));
      if (track.source === 'microphone') this.setMuted(participant.id, track.paused ? 'tile.muted' : null);
      return;
    }
    const el = tile.querySelector('video');
    el.srcObject = new MediaStream([media]);
    el.play?.().catch(() => undefined); // muted video may always play
    if (track.id) {
      tile.dataset.trackId = track.id;
      this.#fitQuality(tile);
    }
  }

  detach(track) {
    if (track.source === 'screen') document.getElementById(`tile-${track.participant.id}-screen`)?.remove();
  }

  remove(participantId) {
    for (const suffix of ['', '-screen']) document.getElementById(`tile-${participantId}${suffix}`)?.remove();
  }

  setHand(participantId, raised) {
    const hand = document.querySelector(`#tile-${participantId} .hand`);
    if (hand) hand.hidden = !raised;
  }

  /** `key`: what the tile says about the participant's connection (null: nothing). */
  setState(participantId, key) {
    this.#badge(participantId, 'state', key);
  }

  /** `key`: tile.muted, tile.mutedByModerator, or null (the microphone is on). */
  setMuted(participantId, key) {
    this.#badge(participantId, 'mic', key);
  }

  /** The server's grade of the participant's line: good, fair, poor (unknown: shown only once graded). */
  setQuality(participantId, quality) {
    const el = this.#badge(participantId, 'quality', quality === 'unknown' ? null : `tile.quality.${quality}`);
    if (el) el.dataset.quality = quality;
  }

  setSpeaking(participantId) {
    for (const tile of this.container.querySelectorAll(':scope > .tile:not(.screen)')) {
      const speaking = tile.dataset.participantId === participantId;
      tile.classList.toggle('speaking', speaking);
      this.#badge(tile.dataset.participantId, 'speaking', speaking ? 'tile.speaking' : null);
    }
  }

  clear() {
    this.container.replaceChildren();
  }

  #badge(participantId, name, key) {
    const el = document.querySelector(`#tile-${CSS.escape(participantId)} .badges .${name}`);
    if (!el) return null;
    el.hidden = !key;
    translate(el, key);
    return el;
  }

  #fitQuality(tile) {
    const trackId = tile.dataset.trackId;
    if (!trackId) return;
    const width = tile.clientWidth;
    const quality = width < 360 ? 'low' : width < 720 ? 'medium' : 'high';
    if (tile.dataset.quality === quality) return;
    tile.dataset.quality = quality;
    this.client.setReceiveQuality(trackId, quality).catch(() => undefined);
  }
}

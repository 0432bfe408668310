// Video tiles: one per participant (plus one per shared screen), labelled with name, role and site.
import { roleLabel, siteLevelLabel, translate, translateAttribute, translated } from './i18n.js';

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
    tile.className = `tile${screen ? ' screen' : ''}`;
    tile.id = id;
    tile.dataset.participantId = participant.id;
    const video = Object.assign(document.createElement('video'), { autoplay: true, playsInline: true, muted: true });
    const audio = Object.assign(document.createElement('audio'), { autoplay: true });
    const label = document.createElement('div');
    label.className = 'label';
    const nameKey = `tile.${screen ? 'screen' : 'name'}${self ? 'Self' : ''}`;
    const name = translated('span', nameKey, { name: participant.displayName, role: roleLabel(participant.role) }, { className: 'name' });
    const level = siteLevelLabel(participant.site.level);
    const site = translated('span', 'tile.site', { site: participant.site.name, level }, { className: 'site' });
    label.append(name, site);
    const hand = Object.assign(document.createElement('span'), { className: 'hand', hidden: true, textContent: '✋' });
    translateAttribute(hand, 'title', 'tile.handRaised');
    translateAttribute(hand, 'aria-label', 'tile.handRaised');
    const state = Object.assign(document.createElement('span'), { className: 'state' });
    // The line's grade in words (a class adds colour, never the only cue).
    const quality = Object.assign(document.createElement('span'), { className: 'quality', hidden: true });
    tile.append(video, audio, label, hand, state, quality);
    if (!self && !screen && this.client.can('moderate')) tile.append(this.#controls(participant));
    this.container.append(tile);
    // Ask for the simulcast layer that fits the tile: thumbnails do not need full resolution.
    new ResizeObserver(() => this.#fitQuality(tile)).observe(tile);
    return tile;
  }

  attach(participant, track, { self = false } = {}) {
    const tile = this.ensure(participant, { self, screen: track.source === 'screen' });
    const media = track.mediaStreamTrack ?? track;
    const el = tile.querySelector(media.kind === 'video' ? 'video' : 'audio');
    el.srcObject = new MediaStream([media]);
    el.play?.().catch(() => undefined);
    if (track.id && media.kind === 'video') {
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
    const state = document.querySelector(`#tile-${participantId} .state`);
    if (state) translate(state, key);
  }

  /** The server's grade of the participant's line: good, fair, poor (unknown: shown only once graded). */
  setQuality(participantId, quality) {
    const badge = document.querySelector(`#tile-${participantId} .quality`);
    if (!badge) return;
    badge.hidden = quality === 'unknown';
    badge.dataset.quality = quality;
    translate(badge, `tile.quality.${quality}`);
  }

  setSpeaking(participantId) {
    for (const tile of this.container.children) tile.classList.toggle('speaking', tile.dataset.participantId === participantId);
  }

  clear() {
    this.container.replaceChildren();
  }

  #controls(participant) {
    const bar = document.createElement('div');
    bar.className = 'controls';
    for (const [action, key] of [
      ['muteMic', 'mod.mute'],
      ['allowMic', 'mod.allowUnmute'],
      ['stopScreen', 'mod.stopScreen'],
      ['lowerHand', 'mod.lowerHand'],
      ['remove', 'mod.remove'],
    ]) {
      const b = translated('button', key, undefined, { type: 'button', className: 'small mod' });
      b.addEventListener('click', () => this.actions(action, participant));
      bar.append(b);
    }
    return bar;
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

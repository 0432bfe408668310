// What a screen reader user must hear without looking: who joined, who left, who muted or unmuted,
// who raised a hand — said in the page's language through a polite live region (role="log"), which
// keeps the last few announcements (older ones are dropped so the region stays small).
import { translated } from './i18n.js';

const KEEP = 5;

export function setupAnnouncer(region, client) {
  const say = (key, params) => {
    region.append(translated('p', key, params));
    while (region.childElementCount > KEEP) region.firstElementChild.remove();
  };
  const name = (p) => p.displayName;
  client.on('participantJoined', (p) => say('announce.joined', { name: name(p) }));
  client.on('participantLeft', (p, reason) => say(reason === 'removed' ? 'announce.removed' : 'announce.left', { name: name(p) }));
  const micChange = (key) => (track) => track.source === 'microphone' && say(key, { name: name(track.participant) });
  client.on('trackPaused', micChange('announce.muted'));
  client.on('trackResumed', micChange('announce.unmuted'));
  client.on('mutedByModerator', (source, by) => say('announce.mutedBy', { by: by.displayName, source: { key: `source.${source}` } }));
  client.on('handRaised', (p, raised) => raised && p.id !== client.self.id && say('announce.hand', { name: name(p) }));
  return say;
}

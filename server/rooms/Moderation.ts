/**
 * The chair's tools over the people in a room: mute (sticky until allowed), allow unmute, stop a
 * screen share, remove (and keep out). Each action checks its rule, tells whom it concerns and
 * writes the audit trail here, once. Locking and the lobby are the room's entry rules (Room.ts);
 * hands are in Room.setHandRaised. Muting, stopping a screen share and removing go ahead even when
 * the audit trail cannot be written (a chair must keep control exactly then: see Room.audit);
 * allowing an unmute gives something back, so its event is written first and it is refused without.
 */
import { actorOf, type Room } from './Room.js';
import { badRequest } from '../../signaling/protocol/index.js';
import type { MutableSource, Participant } from './Participant.js';

export class Moderation {
  readonly #room: Room;

  constructor(room: Room) {
    this.#room = room;
  }

  /** Server-side pause: `target` cannot resume or re-publish `source` until a moderator allows it. */
  async mute(target: Participant, source: MutableSource, by: Participant): Promise<void> {
    // Marked first, so a resume or produce of that source racing with us sees it and gives up.
    const newly = target.markMuted(source);
    try {
      await this.#room.media.pauseSource(target, source);
    } catch (error) {
      if (newly) target.allowUnmute(source);
      throw error;
    }
    this.#room.rememberMute(target.info.identity, source, true);
    target.notify('mutedByModerator', { source, by: actorOf(by) });
    this.#room.auditFact('muted', by, target, { source });
  }

  allowUnmute(target: Participant, source: MutableSource, by: Participant): void {
    if (!target.isMutedByModerator(source)) throw badRequest(`${target.info.displayName}'s ${source} is not muted by a moderator`);
    this.#room.audit('unmute_allowed', by, target, { source });
    target.allowUnmute(source);
    this.#room.rememberMute(target.info.identity, source, false);
    target.notify('unmuteAllowed', { source, by: actorOf(by) });
  }

  stopScreenShare(target: Participant, by: Participant): void {
    const screens = target.producersOf('screen');
    if (screens.length === 0) throw badRequest(`${target.info.displayName} is not sharing a screen`);
    for (const { producer } of screens) {
      producer.close();
      target.notify('ownProducerClosed', { producerId: producer.id, source: 'screen', by: actorOf(by) });
    }
    this.#room.auditFact('screen_share_stopped', by, target);
  }

  /** Removes `target` and keeps their identity out of this room for as long as tokens for it live. */
  remove(target: Participant, by: Participant): void {
    if (target === by) throw badRequest('use leave to leave the room yourself');
    this.#room.auditFact('removed', by, target);
    this.#room.remove(target, 'removed', `${by.info.displayName} removed you from this consultation`, true);
  }
}

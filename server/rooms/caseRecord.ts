/**
 * What a room needs from its case record (全程留痕): an audit trail it writes every event to, and
 * the recording of its tracks. The room is handed one when it is created (`CaseRecordOpener`) and
 * cannot exist without it; `server/records` provides the implementation.
 */
import type { types } from 'mediasoup';
import { ProtocolError, type MediaSource, type RecordingInfo } from '../../signaling/protocol/index.js';
import type { RoomAuditEvent } from './audit.js';
import type { Participant } from './Participant.js';
import type { Room } from './Room.js';

/**
 * How an event is to be written: an 'action' is refused when its event cannot be written (the room
 * writes it first and acts only after); a 'fact' has already happened and cannot be refused.
 */
export type AuditKind = 'action' | 'fact';

/** The answer to anything refused because the trail cannot be written (`what`: what was not done). */
export const recordUnavailable = (what: string): ProtocolError =>
  new ProtocolError(
    'UNAVAILABLE',
    `this consultation's record cannot be written on this server right now, so ${what}; ` +
      'its moderators have been told — please try again in a few minutes',
  );

export interface RoomCaseRecord {
  /**
   * Appends one event to the room's audit trail. An 'action' (the default) that cannot be written
   * throws UNAVAILABLE (`recordUnavailable`); a 'fact' never throws: its loss is logged, and noted in
   * the trail once it can be written again.
   */
  append(event: RoomAuditEvent, kind?: AuditKind): void;
  /** Throws UNAVAILABLE while the trail cannot be written: the room admits no one meanwhile. */
  ensureWritable?(): void;
  /** The recording in progress, if any. */
  readonly recording: RecordingInfo | null;
  /**
   * Starts recording every track; `by` null means by the server itself (policy, or a recording that
   * `continues` an earlier part from before the room moved here).
   */
  start(by: Participant | null, continues?: string | null): Promise<RecordingInfo>;
  /** Stops the recording; the files are handed to the case record in the background. */
  stop(by: Participant | null): void;
  /** Informed consent: `participant` was told this consultation is recorded. */
  acknowledge(participant: Participant, sessionId: string): void;
  participantJoined(participant: Participant): void;
  trackPublished(owner: Participant, producer: types.Producer, source: MediaSource): void;
}

/** Opens the case record of a room being created; throws if it cannot (then there is no room). */
export type CaseRecordOpener = (room: Room) => RoomCaseRecord;

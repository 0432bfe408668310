/**
 * Turns one room's domain events into the events its hospital hears, by listening only: the room's
 * joins and leaves (`participantJoined` / `participantLeft`), its audit events (published, unpublished,
 * ended), its recording as its case record runs it, and its HLS output (fed by EventWebhooks from
 * HlsService). Nothing here can refuse or delay what the room does: a listener that threw would
 * fail the room's own action, so every failure to queue an event is caught, logged and counted.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { MANIFEST_FILE, recordingEntryId, sha256Hex, type RecordingManifest, type RecordingSession } from '../../recordings/index.js';
import type { MediaKind, MediaSource } from '../../signaling/protocol/index.js';
import type { Logger } from '../logger.js';
import { pseudonym } from '../pseudonym.js';
import type { RoomRecord } from '../records/RoomRecord.js';
import type { RoomAuditEvent } from '../rooms/audit.js';
import type { Participant } from '../rooms/Participant.js';
import type { Room } from '../rooms/Room.js';
import type { EventParticipant, EventRecording, EventTrack, RoomEvent, RoomEventData, RoomEventType, RoomFinishReason } from './types.js';

/** Where a room's events go: EventWebhooks (the filter, the ids, the durable outbox). */
export interface EventChannel {
  readonly node: string | null;
  readonly includeNames: boolean;
  wants(type: RoomEventType): boolean;
  /** An id that sorts after every id handed out before it (the outbox keeps a room's order by it). */
  nextId(): string;
  /** Queues the event durably; throws if it cannot be written. */
  send(event: RoomEvent): void;
}

export class RoomEventSource {
  readonly room: Room;
  readonly #channel: EventChannel;
  readonly #session: string;
  readonly #log: Logger;
  #seq = 0;
  /** People as the events named them, kept until they leave: their tracks' ends (which come first) name them too. */
  readonly #people = new Map<string, EventParticipant>();
  readonly #tracks = new Map<string, EventTrack>();
  readonly #recordings = new Set<string>();
  #hls = false;
  #finish: { reason: RoomFinishReason; by: EventParticipant | null } = { reason: 'closed', by: null };

  /** Starts listening at once (the room is being created): `room_started` is its first event. */
  constructor(room: Room, record: RoomRecord, channel: EventChannel, session: string, log: Logger) {
    this.room = room;
    this.#channel = channel;
    this.#session = session;
    this.#log = log;
    this.#emit('room_started', {});
    room.on('participantJoined', (p) => this.#emit('participant_joined', { participant: this.#remember(p) }));
    room.on('participantLeft', (p, reason) => {
      this.#emit('participant_left', { participant: this.#person(p.id) ?? this.#describe(p), reason });
      this.#people.delete(p.id);
    });
    room.on('audit', (event) => this.#onAudit(event));
    // The case record starts a recording, then tells the room (memoryChanged): its session is set by then.
    room.on('memoryChanged', () => this.#onRecordingMaybeStarted(record.session));
    room.once('closed', () => this.#onClosed());
  }

  /** `by`: none when a programme's presenter going live started it. */
  hlsStarted(url: string, by: Participant | undefined): void {
    this.#hls = true;
    this.#emit('hls_started', { url, by: by ? (this.#person(by.id) ?? this.#describe(by)) : null });
  }

  hlsStopped(by: Participant | undefined): void {
    if (!this.#hls) return; // already told: it ended with the room
    this.#hls = false;
    this.#emit('hls_stopped', { by: by ? (this.#person(by.id) ?? this.#describe(by)) : null });
  }

  #onAudit(event: RoomAuditEvent): void {
    const actor = event.actor ? this.#person(event.actor.participantId) : undefined;
    switch (event.type) {
      case 'published': {
        const data = event.data ?? {};
        const track: EventTrack = {
          id: String(data['producerId']),
          kind: data['kind'] as MediaKind,
          source: data['source'] as MediaSource,
        };
        this.#tracks.set(track.id, track);
        if (actor) this.#emit('track_published', { participant: actor, track });
        return;
      }
      case 'unpublished': {
        const track = this.#tracks.get(String(event.data?.['producerId']));
        if (!track) return;
        this.#tracks.delete(track.id);
        if (actor) this.#emit('track_unpublished', { participant: actor, track });
        return;
      }
      case 'room_ended':
        this.#finish = { reason: 'ended', by: actor ?? null };
        return;
      default:
        return;
    }
  }

  #onRecordingMaybeStarted(session: RecordingSession | undefined): void {
    const info = this.room.recording;
    if (!session || !info || info.sessionId !== session.id || this.#recordings.has(session.id)) return;
    this.#recordings.add(session.id);
    const recording: EventRecording = {
      sessionId: session.id,
      entryId: recordingEntryId(session.id),
      startedAt: info.startedAt,
      startedBy: info.startedBy ? (this.#person(info.startedBy.participantId) ?? null) : null,
      continues: info.continues,
    };
    this.#emit('recording_started', { recording });
    // Stopped by a moderator, by the room closing or at shutdown: the manifest is on disk by then.
    session.once('stopped', (manifest) => this.#emit('recording_finished', { recording: finished(recording, manifest, session.dir) }));
  }

  #onClosed(): void {
    // Facts of the room's end, in the order the hospital expects them: the stream went with it.
    if (this.#hls) this.hlsStopped(undefined);
    const moved = this.#finish.reason !== 'ended' && this.room.durableSnapshot().carry !== null;
    this.#emit('room_finished', {
      reason: moved ? 'moved' : this.#finish.reason,
      by: this.#finish.by,
      durationSeconds: Math.round((Date.now() - this.room.openedAt.getTime()) / 1000),
    });
  }

  #remember(p: Participant): EventParticipant {
    const person = this.#describe(p);
    this.#people.set(p.id, person);
    return person;
  }

  #person(participantId: string): EventParticipant | undefined {
    return this.#people.get(participantId);
  }

  /** Role and site always; the real-name identity and display name only when configured. */
  #describe(p: Participant): EventParticipant {
    const { id, identity, displayName, role, site } = p.info;
    const names = this.#channel.includeNames ? { identity, name: displayName } : {};
    return { id, pseudonym: pseudonym(identity), role, site: { ...site }, ...names };
  }

  #emit<K extends RoomEventType>(type: K, data: RoomEventData[K]): void {
    const channel = this.#channel;
    if (!channel.wants(type)) return;
    const room = this.room;
    // The envelope with this type's data: what RoomEvent says for K (TypeScript cannot follow K through the spread).
    const event = {
      id: channel.nextId(),
      type,
      at: new Date().toISOString(),
      node: channel.node,
      room: { id: room.id, kind: room.kind, caseId: room.caseId ?? null, session: this.#session, seq: this.#seq + 1 },
      ...data,
    } as RoomEvent;
    try {
      channel.send(event);
      this.#seq++;
    } catch (err) {
      this.#log.error({ err, room: room.id, type }, 'room event could not be queued for the event webhook; it is lost');
    }
  }
}

function finished(
  recording: EventRecording,
  manifest: RecordingManifest,
  sessionDir: string,
): RoomEventData['recording_finished']['recording'] {
  return {
    ...recording,
    stoppedAt: manifest.stoppedAt,
    status: manifest.status,
    tracks: manifest.tracks.length,
    manifestSha256: manifestHash(sessionDir),
  };
}

/** The hash of the manifest as the archive keeps it; null if it cannot be read (the event still goes). */
function manifestHash(sessionDir: string): string | null {
  try {
    return sha256Hex(readFileSync(path.join(sessionDir, MANIFEST_FILE)));
  } catch {
    return null;
  }
}

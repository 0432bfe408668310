/**
 * The case-record side of one room: its append-only audit trail (every room event, written as it
 * happens) and its recording sessions. Everyone, later joiners included, is told when recording
 * starts and stops; when the room closes, an open recording is finished and the room's trail is handed
 * to the case record.
 */
import {
  actorFromParticipant,
  auditEntry,
  AuditTrail,
  RecordingSession,
  recordingEntry,
  type CaseRecordEntry,
  type ManifestParticipant,
} from '../../recordings/index.js';
import { wrongState, type RecordingInfo } from '../../signaling/protocol/index.js';
import type { Logger } from '../logger.js';
import type { Participant } from '../rooms/Participant.js';
import { actorOf, type Room } from '../rooms/Room.js';
import type { RoomAuditEvent } from '../rooms/audit.js';

export interface RoomRecordDeps {
  recordingsDir: string;
  retention: { mediaYears: number; recordYears: number };
  /** Archives the entry and queues it for remote sinks; `sessionDir` is marked handed off after. */
  handOff(entry: CaseRecordEntry, sessionDir?: string): Promise<void>;
  autoRecord: boolean;
  log: Logger;
}

const person = (p: Participant): ManifestParticipant => ({ ...actorFromParticipant(p.info), siteLevel: p.info.site.level });

export class RoomRecord {
  readonly trail: AuditTrail;
  readonly #room: Room;
  readonly #deps: RoomRecordDeps;
  readonly #log: Logger;
  #session: RecordingSession | undefined;
  #finished: Promise<void> | undefined;

  constructor(room: Room, trailFile: string, deps: RoomRecordDeps) {
    this.#room = room;
    this.#deps = deps;
    this.#log = deps.log.child({ room: room.id });
    this.trail = AuditTrail.open(trailFile, { log: this.#log });
    this.trail.append('room_opened', { data: { roomId: room.id, kind: room.kind, caseId: room.caseId ?? null } });
    room.on('audit', (event) => this.#append(event));
    room.on('participantJoined', (p) => this.#onJoined(p));
    room.on('producerAdded', (owner, producer, source) => {
      void this.#session?.addTrack({ producer, source, owner: person(owner) }).catch((err: unknown) => this.#log.error({ err }, 'could not record a new track'));
    });
    room.once('closed', () => void this.finish());
  }

  get recording(): RecordingSession | undefined {
    return this.#session;
  }

  /** Starts recording every track of the room; `by` null means by the server's policy. */
  async start(by: Participant | null): Promise<RecordingInfo> {
    if (this.#session) throw wrongState('this consultation is already being recorded');
    const room = this.#room;
    const session = RecordingSession.start({
      router: room.router,
      recordingsDir: this.#deps.recordingsDir,
      roomId: room.id,
      roomKind: room.kind,
      caseId: room.caseId ?? null,
      startedBy: by ? actorFromParticipant(by.info) : null,
      participants: room.participants().map(person),
      audit: this.trail,
      log: this.#log,
      retention: this.#deps.retention,
    });
    this.#session = session;
    session.on('error', (error) => {
      // The moderators hear about it at once; the recording goes on for the other tracks.
      for (const p of room.participants()) if (p.can('record') || p.can('moderate')) p.notify('recordingError', { sessionId: session.id, message: error.message });
    });
    const info: RecordingInfo = { sessionId: session.id, startedAt: session.startedAt.toISOString(), startedBy: by ? actorOf(by) : null };
    room.recording = info;
    room.notifyOthers(null, 'recordingStarted', { recording: info });
    await Promise.all(
      room.participants().flatMap((p) =>
        p.producerInfos().map((i) => session.addTrack({ producer: p.producer(i.id).producer, source: i.source, owner: person(p) })),
      ),
    );
    return info;
  }

  /** Stops the recording, tells everyone, and hands the manifest and files to the case record. */
  async stop(by: Participant | null): Promise<void> {
    const session = this.#session;
    if (!session) throw wrongState('this consultation is not being recorded');
    this.#session = undefined;
    this.#room.recording = null;
    if (!this.#room.closed) this.#room.notifyOthers(null, 'recordingStopped', { sessionId: session.id, by: by ? actorOf(by) : null });
    const manifest = await session.stop(by ? actorFromParticipant(by.info) : null);
    await this.#deps.handOff(recordingEntry(manifest, session.dir, this.trail.events()), session.dir);
  }

  /** Informed consent: this participant confirms they were told the consultation is recorded. */
  acknowledge(participant: Participant, sessionId: string): void {
    if (this.#room.recording?.sessionId !== sessionId) throw wrongState('that recording is not in progress');
    this.#room.audit('recording_acknowledged', participant, undefined, { sessionId });
  }

  /** The room closed (or the server stops): finish any recording, then hand over the audit trail. */
  finish(): Promise<void> {
    this.#finished ??= (async () => {
      try {
        if (this.#session) await this.stop(null);
      } catch (err) {
        this.#log.error({ err }, 'recording could not be finished; recovery will pick it up at next start');
      }
      const room = this.#room;
      const id = `audit-${this.trail.file.split('/').pop()?.replace(/\.jsonl$/, '')}`;
      await this.#deps.handOff(auditEntry({ id, roomId: room.id, roomKind: room.kind, caseId: room.caseId ?? null, auditTrail: this.trail.events() }));
      this.trail.close();
    })();
    return this.#finished;
  }

  #append(event: RoomAuditEvent): void {
    if (this.trail.closed) return;
    const data = { ...event.data, ...(event.subject ? { subject: { ...event.subject } } : {}) };
    try {
      this.trail.append(event.type, { actor: event.actor, data: Object.keys(data).length ? data : undefined });
    } catch (err) {
      this.#log.error({ err, type: event.type }, 'audit event lost: the trail could not be written');
    }
  }

  #onJoined(participant: Participant): void {
    this.#session?.addParticipant(person(participant));
    if (this.#deps.autoRecord && !this.#session && !this.#finished) {
      this.start(null).catch((err: unknown) => this.#log.error({ err }, 'automatic recording could not start'));
    }
  }
}

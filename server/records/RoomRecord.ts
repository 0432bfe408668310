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
  type AuditSealKey,
  type CaseRecordEntry,
  type ManifestParticipant,
} from '../../recordings/index.js';
import type { types } from 'mediasoup';
import { wrongState, type MediaSource, type RecordingInfo } from '../../signaling/protocol/index.js';
import type { Logger } from '../logger.js';
import type { RoomCaseRecord } from '../rooms/caseRecord.js';
import type { Participant } from '../rooms/Participant.js';
import { actorOf, type Room } from '../rooms/Room.js';
import type { RoomAuditEvent } from '../rooms/audit.js';

export interface RoomRecordDeps {
  /** The id of this room's own audit entry in the case record (the trail alone, at close). */
  auditEntryId: string;
  recordingsDir: string;
  retention: { mediaYears: number; recordYears: number };
  /** Archives the entry and queues it for remote sinks; `sessionDir` is marked handed off after. */
  handOff(entry: CaseRecordEntry, sessionDir?: string): Promise<void>;
  autoRecord: boolean;
  /** Seals the trail at each hand-off and at close (key id recorded in the seal). */
  auditSeal: AuditSealKey;
  log: Logger;
}

const person = (p: Participant): ManifestParticipant => ({ ...actorFromParticipant(p.info), siteLevel: p.info.site.level });

export class RoomRecord implements RoomCaseRecord {
  readonly trail: AuditTrail;
  readonly #room: Room;
  readonly #deps: RoomRecordDeps;
  readonly #log: Logger;
  #session: RecordingSession | undefined;
  #info: RecordingInfo | null = null;
  /** Recordings stopped but still being finalized and handed off (hashing, archiving). */
  readonly #handOffs = new Set<Promise<void>>();
  /** session/identity pairs already acknowledged: repeats are not written to the trail again. */
  readonly #acknowledged = new Set<string>();
  #finished: Promise<void> | undefined;

  constructor(room: Room, trailFile: string, deps: RoomRecordDeps) {
    this.#room = room;
    this.#deps = deps;
    this.#log = deps.log.child({ room: room.id });
    this.trail = AuditTrail.open(trailFile, { log: this.#log, seal: deps.auditSeal });
    this.trail.append('room_opened', { data: { roomId: room.id, kind: room.kind, caseId: room.caseId ?? null } });
  }

  /** The recording session in progress (its tracks, files), if any. */
  get session(): RecordingSession | undefined {
    return this.#session;
  }

  /** Recordings stopped whose files are still being hashed and handed off (shutdown progress). */
  get recordingsFinishing(): number {
    return this.#handOffs.size;
  }

  get recording(): RecordingInfo | null {
    return this.#info;
  }

  trackPublished(owner: Participant, producer: types.Producer, source: MediaSource): void {
    const session = this.#session;
    if (session) void this.#addTrack(session, { producer, source, owner: person(owner) });
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
    session.on('error', (error) => this.#tellModerators(session.id, error.message));
    session.on('trackRestarted', (r) =>
      this.#tellModerators(
        session.id,
        `${r.name}'s ${r.source} recorder stopped (${r.cause}) and was restarted: recording goes on in part ${r.segment}, ` +
          `after a gap of ${(r.gapMs / 1000).toFixed(1)} s`,
      ),
    );
    const info: RecordingInfo = { sessionId: session.id, startedAt: session.startedAt.toISOString(), startedBy: by ? actorOf(by) : null };
    this.#info = info;
    room.notifyOthers(null, 'recordingStarted', { recording: info });
    // The recording is on from here whatever happens to single tracks: a track that cannot start is
    // reported to the moderators (and audited by the session), not turned into a failed request.
    await Promise.all(
      room
        .participants()
        .flatMap((p) =>
          p
            .producerInfos()
            .map((i) => this.#addTrack(session, { producer: p.producer(i.id).producer, source: i.source, owner: person(p) })),
        ),
    );
    return info;
  }

  /**
   * Stops the recording and tells everyone at once; closing the files, hashing and handing them to
   * the case record go on in the background (`finish` waits for them), so the request returns fast.
   */
  stop(by: Participant | null): void {
    const session = this.#session;
    if (!session) throw wrongState('this consultation is not being recorded');
    this.#session = undefined;
    this.#info = null;
    if (!this.#room.closed) this.#room.notifyOthers(null, 'recordingStopped', { sessionId: session.id, by: by ? actorOf(by) : null });
    const handOff = session
      .stop(by ? actorFromParticipant(by.info) : null)
      // Sealed as handed over, so the archived copy of the trail so far verifies on its own.
      .then((manifest) => this.#deps.handOff(recordingEntry(manifest, session.dir, this.trail.events(), this.trail.seal()), session.dir))
      .catch((err: unknown) => this.#log.error({ err }, 'recording could not be handed off; recovery will pick it up at next start'))
      .finally(() => this.#handOffs.delete(handOff));
    this.#handOffs.add(handOff);
  }

  /** Informed consent: this participant confirms they were told the consultation is recorded (noted once). */
  acknowledge(participant: Participant, sessionId: string): void {
    if (this.#info?.sessionId !== sessionId) throw wrongState('that recording is not in progress');
    const key = `${sessionId}/${participant.info.identity}`;
    if (this.#acknowledged.has(key)) return;
    this.#acknowledged.add(key);
    this.#room.audit('recording_acknowledged', participant, undefined, { sessionId });
  }

  /** The room closed (or the server stops): finish any recording, then hand over the audit trail. */
  finish(): Promise<void> {
    this.#finished ??= (async () => {
      if (this.#session) this.stop(null);
      await Promise.all([...this.#handOffs]);
      const room = this.#room;
      await this.#deps.handOff(
        auditEntry({
          id: this.#deps.auditEntryId,
          roomId: room.id,
          roomKind: room.kind,
          caseId: room.caseId ?? null,
          auditTrail: this.trail.events(),
          trail: this.trail.seal(),
        }),
      );
      this.trail.close();
    })();
    return this.#finished;
  }

  async #addTrack(session: RecordingSession, input: Parameters<RecordingSession['addTrack']>[0]): Promise<void> {
    try {
      await session.addTrack(input);
    } catch (err) {
      this.#log.error({ err }, 'a track could not be recorded');
      this.#tellModerators(
        session.id,
        `${input.owner.name}'s ${input.source} could not be recorded: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  }

  /** The moderators hear about a recording problem at once; the recording goes on for the other tracks. */
  #tellModerators(sessionId: string, message: string): void {
    for (const p of this.#room.participants()) if (p.can('record') || p.can('moderate')) p.notify('recordingError', { sessionId, message });
  }

  append(event: RoomAuditEvent): void {
    if (this.trail.closed) return;
    const data = { ...event.data, ...(event.subject ? { subject: { ...event.subject } } : {}) };
    try {
      this.trail.append(event.type, { actor: event.actor, data: Object.keys(data).length ? data : undefined });
    } catch (err) {
      this.#log.error({ err, type: event.type }, 'audit event lost: the trail could not be written');
    }
  }

  participantJoined(participant: Participant): void {
    this.#session?.addParticipant(person(participant));
    if (this.#deps.autoRecord && !this.#session && !this.#finished) {
      this.start(null).catch((err: unknown) => this.#log.error({ err }, 'automatic recording could not start'));
    }
  }
}

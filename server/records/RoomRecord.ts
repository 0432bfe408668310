/**
 * The case-record side of one room: its append-only audit trail (every room event, written as it
 * happens) and its recording sessions. Everyone, later joiners included, is told when recording
 * starts and stops; when the room closes, an open recording is finished and the room's trail is handed
 * to the case record.
 *
 * When the trail cannot be written (a full or failing disk), the room is told by an exception for
 * each action it must refuse; the moderators are told once (`recordUnavailable`), readiness degrades,
 * and facts that happened meanwhile (someone left) are counted. The first write that succeeds again
 * is preceded by an `audit_gap` event naming the window and what could not be written, so the trail
 * itself says where it is incomplete; then the moderators hear `recordRestored`.
 */
import { rmSync } from 'node:fs';
import {
  actorFromParticipant,
  auditEntry,
  AuditTrail,
  RecordingSession,
  recordingEntry,
  TrackEndedEarly,
  type AuditSealKey,
  type CaseRecordEntry,
  type ManifestParticipant,
} from '../../recordings/index.js';
import type { types } from 'mediasoup';
import { ProtocolError, wrongState, type MediaSource, type RecordingInfo } from '../../signaling/protocol/index.js';
import type { Logger } from '../logger.js';
import { recordUnavailable, type AuditKind, type RoomCaseRecord } from '../rooms/caseRecord.js';
import type { Participant } from '../rooms/Participant.js';
import { actorOf, type Room } from '../rooms/Room.js';
import type { RoomAuditEvent } from '../rooms/audit.js';
import type { StorageHealth } from './StorageHealth.js';

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
  /** Where storage faults are reported, and whether there is room for a recording. */
  storage: StorageHealth;
  /** A recording (or one of its tracks) failed: counted for `/metrics`. */
  recordingFailed?: ((stage: RecordingFailureStage) => void) | undefined;
  log: Logger;
}

/** Where a recording failed: it could not start, a track could not be recorded, or it could not be handed over. */
export type RecordingFailureStage = 'start' | 'track' | 'hand_off';

/** The trail could not be written from `since` on: what was refused, and what happened unrecorded. */
interface TrailFault {
  since: string;
  error: string;
  refused: number;
  /** Events of things that happened (a participant left, a recorder failed), by type. */
  lost: Map<string, number>;
}

/** Seal lines are not events: one that fails is written again at the next hand-off or at close. */
const SEAL_LINE = 'trail_sealed';

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
  #trailFault: TrailFault | undefined;
  /** Set while this record itself appends: failures of the recording session's own appends are facts lost. */
  #appending = false;
  /** Moderators already told that automatic recording was skipped (not told again on every join). */
  readonly #toldNoAutoRecording = new Set<string>();

  /** Opens the room's trail; throws (and leaves no empty trail behind) if it cannot be written. */
  constructor(room: Room, trailFile: string, deps: RoomRecordDeps) {
    this.#room = room;
    this.#deps = deps;
    this.#log = deps.log.child({ room: room.id });
    this.trail = openTrail(trailFile, room, deps, this.#log);
    this.trail.on('writeFailed', (error, type) => this.#onWriteFailed(error, type));
  }

  /** Whether the trail currently cannot be written (for readiness). */
  get trailFailing(): boolean {
    return this.#trailFault !== undefined;
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

  /** Starts recording every track of the room; `by` null means by the server (policy, or `continues` a part). */
  async start(by: Participant | null, continues: string | null = null): Promise<RecordingInfo> {
    if (this.#session) throw wrongState('this consultation is already being recorded');
    let session: RecordingSession;
    try {
      session = this.#open(by, continues);
    } catch (error) {
      this.#deps.recordingFailed?.('start');
      throw error;
    }
    this.#session = session;
    session.on('error', (error) => {
      this.#deps.recordingFailed?.('track');
      this.#tellModerators(session.id, error.message);
    });
    session.on('trackRestarted', (r) =>
      this.#tellModerators(
        session.id,
        `${r.name}'s ${r.source} recorder stopped (${r.cause}) and was restarted: recording goes on in part ${r.segment}, ` +
          `after a gap of ${(r.gapMs / 1000).toFixed(1)} s`,
      ),
    );
    const info: RecordingInfo = {
      sessionId: session.id,
      startedAt: session.startedAt.toISOString(),
      startedBy: by ? actorOf(by) : null,
      continues,
    };
    this.#info = info;
    const room = this.#room;
    room.notifyOthers(null, 'recordingStarted', { recording: info });
    room.recordingChanged();
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

  /** A recording the trail cannot note, or the disk cannot hold, is refused before anything starts. */
  #open(by: Participant | null, continues: string | null): RecordingSession {
    this.#ensureTrail('recording was not started');
    try {
      this.#deps.storage.ensureRoomForRecording();
    } catch (error) {
      if (error instanceof ProtocolError) this.#tellModeratorsRecordingRefused(error.message, by);
      throw error;
    }
    return this.#startSession(by, continues);
  }

  /** Creates the session's folder and journal; a disk that refuses them is UNAVAILABLE, not INTERNAL. */
  #startSession(by: Participant | null, continues: string | null): RecordingSession {
    const room = this.#room;
    try {
      return RecordingSession.start({
        router: room.router,
        recordingsDir: this.#deps.recordingsDir,
        roomId: room.id,
        roomKind: room.kind,
        caseId: room.caseId ?? null,
        startedBy: by ? actorFromParticipant(by.info) : null,
        continues,
        participants: room.participants().map(person),
        audit: this.trail,
        log: this.#log,
        retention: this.#deps.retention,
      });
    } catch (error) {
      this.#deps.storage.fault('recording', error);
      this.#log.error({ err: error }, 'recording could not be started: its folder or journal could not be written');
      const message = `recording was not started: the server could not write its files (${errorText(error)})`;
      this.#tellModeratorsRecordingRefused(message, by);
      throw new ProtocolError('UNAVAILABLE', message);
    }
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
    if (!this.#room.closed) {
      this.#room.notifyOthers(null, 'recordingStopped', { sessionId: session.id, by: by ? actorOf(by) : null });
      this.#room.recordingChanged();
    }
    const handOff = session
      .stop(by ? actorFromParticipant(by.info) : null)
      // Sealed as handed over, so the archived copy of the trail so far verifies on its own.
      .then((manifest) => this.#deps.handOff(recordingEntry(manifest, session.dir, this.trail.events(), this.trail.seal()), session.dir))
      .catch((err: unknown) => {
        this.#deps.recordingFailed?.('hand_off');
        this.#deps.storage.fault('hand_off', err);
        this.#log.error({ err }, 'recording could not be handed off; recovery will pick it up at next start');
      })
      .finally(() => this.#handOffs.delete(handOff));
    this.#handOffs.add(handOff);
  }

  /** Informed consent: this participant confirms they were told the consultation is recorded (noted once). */
  acknowledge(participant: Participant, sessionId: string): void {
    if (this.#info?.sessionId !== sessionId) throw wrongState('that recording is not in progress');
    const key = `${sessionId}/${participant.info.identity}`;
    if (this.#acknowledged.has(key)) return;
    this.#room.audit('recording_acknowledged', participant, undefined, { sessionId }); // not noted unless written
    this.#acknowledged.add(key);
  }

  /** The room closed (or the server stops): finish any recording, then hand over the audit trail. */
  finish(): Promise<void> {
    this.#finished ??= (async () => {
      try {
        if (this.#session) this.stop(null);
        await Promise.all([...this.#handOffs]);
        const room = this.#room;
        this.#noteGapIfAny();
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
      } finally {
        // Whatever failed above (a full disk), the file is closed: recovery hands it over later.
        this.#closeTrail();
      }
    })();
    return this.#finished;
  }

  async #addTrack(session: RecordingSession, input: Parameters<RecordingSession['addTrack']>[0]): Promise<void> {
    try {
      await session.addTrack(input);
    } catch (err) {
      // Unpublished (or the recording stopped) while its recorder was starting: nothing to report.
      if (err instanceof TrackEndedEarly) {
        this.#log.debug({ producer: input.producer.id, reason: err.reason }, 'a track ended before it could be recorded');
        return;
      }
      this.#deps.recordingFailed?.('track');
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

  /**
   * Writes one room event. An action that cannot be written throws UNAVAILABLE (the room refuses
   * it); a fact that cannot be written is counted, for the gap note, and does not throw.
   */
  append(event: RoomAuditEvent, kind: AuditKind = 'action'): void {
    if (this.trail.closed) return;
    const data = { ...event.data, ...(event.subject ? { subject: { ...event.subject } } : {}) };
    this.#appending = true;
    try {
      this.#noteGapIfAny();
      this.trail.append(event.type, { actor: event.actor, data: Object.keys(data).length ? data : undefined });
    } catch (error) {
      // A failure before any byte was tried (the file could not be re-read) is a fault all the same.
      if (!this.#trailFault) this.#onWriteFailed(error instanceof Error ? error : new Error(String(error)), event.type);
      const fault = this.#trailFault;
      if (kind === 'fact') {
        if (fault) fault.lost.set(event.type, (fault.lost.get(event.type) ?? 0) + 1);
        return;
      }
      if (fault) fault.refused++;
      throw recordUnavailable('this was not done and nobody else was told of it');
    } finally {
      this.#appending = false;
    }
  }

  /** Throws UNAVAILABLE while the trail cannot be written; tries it first (the disk may have been freed). */
  ensureWritable(): void {
    this.#ensureTrail('no one can join it until it can');
  }

  participantJoined(participant: Participant): void {
    this.#session?.addParticipant(person(participant));
    // The room moved here while it was recording: recording goes on at once, as a part linked to the last.
    const continues = this.#room.takeRecordingToContinue();
    if ((continues || this.#deps.autoRecord) && !this.#session && !this.#finished) {
      this.start(null, continues).catch((err: unknown) => {
        // Refused for lack of space or of a trail: the moderators were told; anything else is a fault.
        if (err instanceof ProtocolError) this.#log.warn({ reason: err.message }, 'automatic recording skipped');
        else this.#log.error({ err }, 'automatic recording could not start');
      });
    }
  }

  #ensureTrail(what: string): void {
    if (!this.#trailFault || this.trail.closed) return;
    try {
      this.#appending = true;
      this.#noteGapIfAny();
    } catch {
      if (this.#trailFault) this.#trailFault.refused++;
      throw recordUnavailable(what);
    } finally {
      this.#appending = false;
    }
  }

  /** Any line the trail could not write: the room's record is degraded until a write succeeds again. */
  #onWriteFailed(error: Error, type: string): void {
    try {
      this.#deps.storage.fault('audit_trail', error);
      let fault = this.#trailFault;
      if (!fault) {
        fault = { since: new Date().toISOString(), error: errorText(error), refused: 0, lost: new Map() };
        this.#trailFault = fault;
        this.#log.error(
          { err: error },
          "the room's audit trail cannot be written: the room admits no one and refuses what would go unrecorded",
        );
        this.#tellModeratorsTrail(
          `this consultation's audit trail cannot be written on this server (${fault.error}): nobody can join, and chat, ` +
            "questions and publishing are refused until it can; the server's operator has been alerted",
        );
      }
      // The recording session writes its own events and only logs a failure: those happened, unrecorded.
      if (!this.#appending && type !== SEAL_LINE) fault.lost.set(type, (fault.lost.get(type) ?? 0) + 1);
    } catch (err) {
      this.#log.error({ err }, 'could not report an audit trail fault');
    }
  }

  /**
   * After a fault, before anything else is written: an `audit_gap` event saying from when to when the
   * trail could not be written, how many actions were refused and which events happened unrecorded.
   * Throws if the trail still cannot be written.
   */
  #noteGapIfAny(): void {
    const fault = this.#trailFault;
    if (!fault) return;
    const lostEvents = [...fault.lost.values()].reduce((n, c) => n + c, 0);
    this.trail.append('audit_gap', {
      data: {
        since: fault.since,
        until: new Date().toISOString(),
        error: fault.error,
        refusedActions: fault.refused,
        lostEvents,
        lost: Object.fromEntries(fault.lost),
      },
    });
    this.#trailFault = undefined;
    this.#deps.storage.ok();
    this.#log.warn(
      { since: fault.since, refused: fault.refused, lostEvents },
      "the room's audit trail is written again; the gap is noted in it",
    );
    const lost = lostEvents ? `; ${lostEvents} event(s) that happened meanwhile could not be recorded and are noted as a gap` : '';
    for (const p of this.#moderators()) p.notify('recordRestored', { message: `this consultation's audit trail is written again${lost}` });
  }

  #closeTrail(): void {
    const fault = this.#trailFault;
    if (fault) {
      // The gap could not be noted in the trail itself: this log line is all that says where it is.
      const lost = Object.fromEntries(fault.lost);
      this.#log.error({ since: fault.since, refused: fault.refused, lost }, 'the room closed while its audit trail could not be written');
    }
    try {
      this.trail.close();
    } catch (err) {
      this.#deps.storage.fault('audit_trail', err);
      this.#log.error({ err }, 'the audit trail could not be sealed or synced at close; recovery will seal and hand it over');
    }
  }

  #moderators(): Participant[] {
    return this.#room.participants().filter((p) => p.can('record') || p.can('moderate'));
  }

  #tellModeratorsTrail(message: string): void {
    for (const p of this.#moderators()) p.notify('recordUnavailable', { part: 'trail', message });
  }

  /**
   * A recording refused for lack of space (or files it could not write): the one who asked has the
   * error; the other moderators are told. Refused automatic recording: every moderator, once each.
   */
  #tellModeratorsRecordingRefused(message: string, by: Participant | null): void {
    for (const p of this.#moderators()) {
      if (p === by || (by === null && this.#toldNoAutoRecording.has(p.id))) continue;
      if (by === null) this.#toldNoAutoRecording.add(p.id);
      p.notify('recordUnavailable', { part: 'recording', message: by === null ? `automatic ${message}` : message });
    }
  }
}

const errorText = (error: unknown): string =>
  error instanceof Error ? ((error as NodeJS.ErrnoException).code ?? error.message) : String(error);

/** Opens the trail and writes its first event; on failure nothing is left open and no empty file stays behind. */
function openTrail(file: string, room: Room, deps: RoomRecordDeps, log: Logger): AuditTrail {
  let trail: AuditTrail | undefined;
  try {
    trail = AuditTrail.open(file, { log, seal: deps.auditSeal });
    trail.append('room_opened', { data: { roomId: room.id, kind: room.kind, caseId: room.caseId ?? null } });
    return trail;
  } catch (error) {
    deps.storage.fault('audit_trail', error);
    try {
      trail?.close();
      // Nothing recorded (at most a torn first line): no trail for recovery to hand over.
      if (AuditTrail.read(file).length === 0) rmSync(file, { force: true });
    } catch (cleanup) {
      log.warn({ err: cleanup }, 'a trail that could not be started was not cleaned up');
    }
    throw error;
  }
}

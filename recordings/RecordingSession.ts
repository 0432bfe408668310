/**
 * One recording of a room: one file per track (no transcoding), a journal on disk kept current so a
 * crash can be recovered, and at the end a manifest with hashes and retention dates. Tracks published
 * during the recording join with their start offset; a track whose producer closes ends its own file;
 * a recorder that dies is restarted into a new file of the same track (`trackRestarted`; the manifest
 * lists the track's segments and the gaps), and one that cannot be kept alive is reported (`error`),
 * never allowed to take the server down. The media worker under the room dying ends the recording
 * as `interrupted`, with the reason.
 *
 * A track whose producer closes, or whose recording stops, while its recorder is still starting simply
 * ends: `addTrack` rejects with `TrackEndedEarly`, logged at info, with nothing in the trail (its
 * `published`/`unpublished` events already say the track came and went) and no `error` event. A
 * recorder that did start before the end is kept as any track and described in the manifest; `stop`
 * waits for the starts in progress, so none outlives the manifest.
 */
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { types } from 'mediasoup';
import type { MediaSource, RoomKind } from '../signaling/protocol/index.js';
import type { RecordingsLogger } from './logger.js';
import type { AuditActor, AuditData, AuditEventType, AuditTrail } from './AuditTrail.js';
import { DEFAULT_FFMPEG, type FfmpegPaths, type RecorderExit } from './ffmpeg.js';
import { safeSegment, toError } from './fsutil.js';
import { writeJournal, type JournalSegment, type JournalTrack, type SessionJournal } from './journal.js';
import {
  DEFAULT_RETENTION,
  retentionFrom,
  writeManifest,
  type ManifestParticipant,
  type ManifestSegment,
  type ManifestTrack,
  type RecordingManifest,
  type RetentionPolicy,
} from './Manifest.js';
import type { PortRange } from './ports.js';
import { assembleTrack, describeExit, finalizeSegment, finalizeTrack } from './finalize.js';
import { TrackEndedEarly, TrackRecorder, type RestartLimit, type SegmentInfo } from './TrackRecorder.js';

export { TrackEndedEarly };

export interface RecordingSessionOptions {
  router: types.Router;
  /** Root of all recordings; the session gets `<root>/<roomId>/<start>-<id>/`. */
  recordingsDir: string;
  roomId: string;
  roomKind: RoomKind;
  caseId: string | null;
  startedBy: AuditActor | null;
  /**
   * The session this one continues: the room moved to another server (its owner died or was drained)
   * while it was recording, so the recording goes on here as a new part linked to the earlier one.
   */
  continues?: string | null;
  /** Who is in the room when recording starts; later joiners are added with addParticipant. */
  participants?: ManifestParticipant[];
  /** The room's trail: the session writes recording_started / _stopped / _error / _track_* there. */
  audit?: AuditTrail;
  log: RecordingsLogger;
  retention?: Partial<RetentionPolicy>;
  ffmpeg?: Partial<FfmpegPaths>;
  portRange?: PortRange;
  /** When to ask a video producer for a key frame after a track starts (ms). */
  keyFrameDelaysMs?: number[];
  /** How often a dead recorder is restarted (default 5 times a minute per track). */
  restartLimit?: RestartLimit;
}

export interface TrackInput {
  producer: types.Producer;
  source: MediaSource;
  owner: ManifestParticipant;
}

/** A recorder failure, carrying the track it hit (null when the failure is not a track's). */
export class RecordingError extends Error {
  readonly sessionId: string;
  readonly track: ManifestTrack | null;
  constructor(message: string, sessionId: string, track: ManifestTrack | null) {
    super(message);
    this.name = 'RecordingError';
    this.sessionId = sessionId;
    this.track = track;
  }
}

/** A track's recorder died and a new one now records the track into a new file. */
export interface TrackRestart {
  sessionId: string;
  trackId: string;
  participantId: string;
  identity: string;
  /** The owner's name as their token gave it (for the moderators' message). */
  name: string;
  source: MediaSource;
  /** The new segment's number (2 for the first restart) and file. */
  segment: number;
  file: string;
  /** Wall-clock time from the old recorder's exit to the new one's start. */
  gapMs: number;
  /** How the old recorder ended, e.g. "killed by SIGKILL". */
  cause: string;
}

interface RecordingSessionEvents {
  trackStarted: [track: JournalTrack];
  trackRestarted: [restart: TrackRestart];
  trackEnded: [track: ManifestTrack];
  /** Emitted only while someone listens (an unheard 'error' would throw); always logged. */
  error: [error: RecordingError];
  stopped: [manifest: RecordingManifest];
}

export type RecordingState = 'recording' | 'stopping' | 'stopped';

export class RecordingSession extends EventEmitter<RecordingSessionEvents> {
  readonly id: string;
  readonly dir: string;
  readonly startedAt: Date;
  readonly #options: RecordingSessionOptions;
  readonly #ffmpeg: FfmpegPaths;
  readonly #log: RecordingsLogger;
  readonly #journal: SessionJournal;
  readonly #recorders = new Map<string, TrackRecorder>();
  /** Tracks whose files are closed and described (hash, size, duration). */
  readonly #finished = new Map<string, Promise<ManifestTrack>>();
  /** Per track, each ended segment's description (hashing may still run). */
  readonly #segmentsDone = new Map<string, Map<number, Promise<ManifestSegment>>>();
  /** Tracks whose recorder is starting, by producer id: `stop` waits for them (settled, never rejects). */
  readonly #starting = new Map<string, Promise<unknown>>();
  #stopping: Promise<RecordingManifest> | undefined;
  /** Set when a failure, not a person or the room closing, ends the recording. */
  #interruption: { at: string; reason: string } | undefined;
  readonly #onRouterClose = (): void => void this.stop(null).catch(() => undefined);
  // Emitted by the router just before its 'close' when its worker died: the recording is cut short.
  readonly #onWorkerClose = (): void => {
    if (this.#interruption) return;
    this.#interruption = { at: new Date().toISOString(), reason: 'the media worker process under this room died' };
    this.#log.error({ reason: this.#interruption.reason }, 'recording interrupted');
    this.#audit('recording_interrupted', null, { sessionId: this.id, reason: this.#interruption.reason });
  };

  private constructor(options: RecordingSessionOptions, id: string, dir: string, startedAt: Date) {
    super();
    this.#options = options;
    this.id = id;
    this.dir = dir;
    this.startedAt = startedAt;
    this.#ffmpeg = { ...DEFAULT_FFMPEG, ...options.ffmpeg };
    this.#log = options.log.child({ recording: id, room: options.roomId });
    const participants = new Map((options.participants ?? []).map((p) => [p.participantId, p]));
    this.#journal = {
      journalVersion: 1,
      sessionId: id,
      roomId: options.roomId,
      roomKind: options.roomKind,
      caseId: options.caseId,
      startedBy: options.startedBy,
      ...(options.continues ? { continues: options.continues } : {}),
      stoppedBy: null,
      startedAt: startedAt.toISOString(),
      updatedAt: startedAt.toISOString(),
      state: 'recording',
      auditFile: options.audit ? path.resolve(options.audit.file) : null,
      retention: { ...DEFAULT_RETENTION, ...options.retention },
      participants: [...participants.values()],
      tracks: [],
    };
  }

  /** Creates the session folder and journal and notes the start in the audit trail. Add tracks next. */
  static start(options: RecordingSessionOptions): RecordingSession {
    const id = randomUUID();
    const startedAt = new Date();
    const stamp = startedAt
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d+Z$/, 'Z');
    const dir = path.resolve(options.recordingsDir, safeSegment(options.roomId), `${stamp}-${id.slice(0, 8)}`);
    mkdirSync(dir, { recursive: true, mode: 0o750 });
    const session = new RecordingSession(options, id, dir, startedAt);
    writeJournal(dir, session.#journal);
    const link = options.continues ? { continues: options.continues } : {};
    session.#audit('recording_started', options.startedBy, { sessionId: id, caseId: options.caseId, ...link });
    // The room closing (last person left, worker died) ends the recording with it.
    options.router.once('workerclose', session.#onWorkerClose);
    options.router.observer.once('close', session.#onRouterClose);
    session.#log.info({ dir }, 'recording started');
    return session;
  }

  get state(): RecordingState {
    return this.#journal.state;
  }

  /** Journal view of every track so far (recording, ended or failed). */
  tracks(): JournalTrack[] {
    return this.#journal.tracks.map((t) => ({ ...t }));
  }

  addParticipant(participant: ManifestParticipant): void {
    if (this.#journal.participants.some((p) => p.participantId === participant.participantId)) return;
    this.#journal.participants.push(participant);
    if (this.#journal.state !== 'stopped') this.#saveJournal();
  }

  /**
   * Starts recording one producer; resolves with the journal entry once media flows to the file.
   * Rejects with `TrackEndedEarly` when the producer closed or the recording stopped first.
   */
  async addTrack(input: TrackInput): Promise<JournalTrack> {
    if (this.#journal.state !== 'recording') throw new TrackEndedEarly('the recording has stopped');
    const producerId = input.producer.id;
    if (this.#starting.has(producerId) || [...this.#recorders.values()].some((r) => r.producerId === producerId)) {
      throw new Error(`producer ${producerId} is already being recorded`);
    }
    this.addParticipant(input.owner);
    const adding = this.#addTrack(input);
    this.#starting.set(
      producerId,
      adding.catch(() => undefined),
    );
    try {
      return await adding;
    } finally {
      this.#starting.delete(producerId);
    }
  }

  async #addTrack(input: TrackInput): Promise<JournalTrack> {
    const recorder = await TrackRecorder.start({
      router: this.#options.router,
      producer: input.producer,
      source: input.source,
      owner: input.owner,
      dir: this.dir,
      ffmpegPath: this.#ffmpeg.ffmpeg,
      log: this.#log,
      wanted: () => this.#journal.state === 'recording',
      ...(this.#options.portRange ? { portRange: this.#options.portRange } : {}),
      ...(this.#options.keyFrameDelaysMs ? { keyFrameDelaysMs: this.#options.keyFrameDelaysMs } : {}),
      ...(this.#options.restartLimit ? { restartLimit: this.#options.restartLimit } : {}),
    }).catch((err: unknown) => {
      if (err instanceof TrackEndedEarly) {
        this.#log.info(
          { producer: input.producer.id, source: input.source, reason: err.reason },
          'track ended before its recording started',
        );
        throw err;
      }
      const error = toError(err);
      this.#log.error({ err: error, producer: input.producer.id }, 'track recording could not start');
      this.#audit('recording_error', null, {
        sessionId: this.id,
        producerId: input.producer.id,
        identity: input.owner.identity,
        source: input.source,
        error: error.message,
      });
      throw error;
    });
    // Started although the recording is stopping (the stop came after the consumer's resume): kept as
    // a track like the others, so its file is in the manifest; `stop` waited for this and stops it.
    const entry: JournalTrack = {
      trackId: recorder.trackId,
      producerId: recorder.producerId,
      file: recorder.file,
      sdpFile: recorder.sdpFile,
      contentType: recorder.contentType,
      mediaType: recorder.mediaType,
      source: recorder.source,
      codec: recorder.codec,
      participantId: input.owner.participantId,
      identity: input.owner.identity,
      startedAt: recorder.startedAt.toISOString(),
      endedAt: null,
      startOffsetMs: recorder.startedAt.getTime() - this.startedAt.getTime(),
      pid: recorder.pid,
      rtpPort: recorder.rtpPort,
      ssrc: recorder.ssrc,
      state: 'recording',
      segments: recorder.segments().map((s) => this.#journalSegment(s)),
    };
    this.#recorders.set(entry.trackId, recorder);
    this.#journal.tracks.push(entry);
    this.#saveJournal();
    this.#segmentsDone.set(entry.trackId, new Map());
    recorder.on('segmentEnded', (segment, exit) => this.#onSegmentEnded(entry, recorder, segment, exit));
    recorder.on('segmentStarted', (segment) => this.#onSegmentStarted(entry, recorder, segment));
    recorder.once('ended', (exit) => this.#finished.set(entry.trackId, this.#onTrackEnded(entry, recorder, exit)));
    // A recorder that died in the instant between its start and these listeners: its end was not heard.
    if (recorder.exit && !this.#finished.has(entry.trackId)) {
      this.#finished.set(entry.trackId, this.#onTrackEnded(entry, recorder, recorder.exit));
    }
    this.#audit('recording_track_started', null, {
      sessionId: this.id,
      trackId: entry.trackId,
      participantId: entry.participantId,
      identity: entry.identity,
      source: entry.source,
      file: entry.file,
    });
    this.emit('trackStarted', { ...entry });
    return { ...entry };
  }

  /** Ends every file cleanly and writes the manifest. Calling it again returns the same manifest. */
  stop(stoppedBy: AuditActor | null = null): Promise<RecordingManifest> {
    this.#stopping ??= this.#stop(stoppedBy);
    return this.#stopping;
  }

  async #stop(stoppedBy: AuditActor | null): Promise<RecordingManifest> {
    this.#options.router.observer.off('close', this.#onRouterClose);
    // The worker's death may still be on its way (the room closes the router while it is told):
    // listen until the tracks have ended, so a recording cut short is never called complete.
    const router = this.#options.router;
    this.#journal.state = 'stopping';
    this.#journal.stoppedBy = stoppedBy;
    this.#saveJournal();
    this.#audit('recording_stopped', stoppedBy, { sessionId: this.id });
    // Starts in progress give up (or finish and are registered) first: no recorder outlives the manifest.
    await Promise.all(this.#starting.values());
    await Promise.all([...this.#recorders.values()].map((r) => r.stop()));
    // Each 'ended' handler has registered its description by now; wait for them all.
    const tracks = await Promise.all(
      this.#journal.tracks.map((t) => this.#finished.get(t.trackId) ?? finalizeTrack(this.dir, t, this.#ffmpeg)),
    );
    router.off('workerclose', this.#onWorkerClose);
    const stoppedAt = new Date();
    const manifest: RecordingManifest = {
      manifestVersion: 1,
      sessionId: this.id,
      roomId: this.#journal.roomId,
      roomKind: this.#journal.roomKind,
      caseId: this.#journal.caseId,
      startedBy: this.#journal.startedBy,
      ...(this.#journal.continues ? { continues: this.#journal.continues } : {}),
      stoppedBy,
      startedAt: this.#journal.startedAt,
      stoppedAt: stoppedAt.toISOString(),
      status: this.#interruption ? 'interrupted' : 'complete',
      ...(this.#interruption ? { interruption: this.#interruption } : {}),
      participants: this.#journal.participants,
      tracks,
      retention: retentionFrom(stoppedAt, this.#journal.retention),
      auditFile: this.#journal.auditFile,
    };
    writeManifest(this.dir, manifest);
    this.#journal.state = 'stopped';
    this.#saveJournal();
    this.#log.info(
      { tracks: tracks.length, failed: tracks.filter((t) => t.status !== 'complete').length, status: manifest.status },
      'recording stopped',
    );
    this.emit('stopped', manifest);
    return manifest;
  }

  #journalSegment(s: SegmentInfo): JournalSegment {
    return {
      index: s.index,
      file: s.file,
      sdpFile: s.sdpFile,
      startedAt: s.startedAt.toISOString(),
      endedAt: s.endedAt?.toISOString() ?? null,
      startOffsetMs: s.startedAt.getTime() - this.startedAt.getTime(),
      pid: s.pid,
      rtpPort: s.rtpPort,
      ssrc: s.ssrc,
      state: s.exit ? (s.exit.requested ? 'ended' : 'failed') : 'recording',
      ...(s.exit && !s.exit.requested ? { error: describeExit(s.exit) } : {}),
    };
  }

  /** A recorder exited: note it in the journal and describe its file (hash, repair) in the background. */
  #onSegmentEnded(entry: JournalTrack, recorder: TrackRecorder, segment: SegmentInfo, exit: RecorderExit): void {
    const seg = this.#journalSegment({ ...segment, exit, endedAt: segment.endedAt ?? new Date() });
    entry.segments = recorder.segments().map((s) => (s.index === seg.index ? seg : this.#journalSegment(s)));
    this.#saveJournal();
    this.#segmentsDone.get(entry.trackId)?.set(seg.index, finalizeSegment(this.dir, seg, exit, this.#ffmpeg));
  }

  /** A new recorder replaced a dead one: journal, trail, and whoever listens (the moderators are told). */
  #onSegmentStarted(entry: JournalTrack, recorder: TrackRecorder, segment: SegmentInfo): void {
    const seg = this.#journalSegment(segment);
    entry.segments = recorder.segments().map((s) => this.#journalSegment(s));
    const previous = entry.segments.find((s) => s.index === seg.index - 1);
    entry.pid = seg.pid;
    entry.rtpPort = seg.rtpPort;
    entry.ssrc = seg.ssrc;
    this.#saveJournal();
    const previousEnd = previous?.endedAt ? Date.parse(previous.endedAt) : segment.startedAt.getTime();
    const restart: TrackRestart = {
      sessionId: this.id,
      trackId: entry.trackId,
      participantId: entry.participantId,
      identity: entry.identity,
      name: this.#journal.participants.find((p) => p.participantId === entry.participantId)?.name ?? entry.identity,
      source: entry.source,
      segment: seg.index,
      file: seg.file,
      gapMs: Math.max(0, segment.startedAt.getTime() - previousEnd),
      cause: previous?.error ?? 'the recorder stopped',
    };
    this.#audit('recording_track_restarted', null, {
      sessionId: this.id,
      trackId: entry.trackId,
      segment: seg.index,
      file: seg.file,
      gapMs: restart.gapMs,
      cause: restart.cause,
    });
    this.emit('trackRestarted', restart);
  }

  async #onTrackEnded(entry: JournalTrack, recorder: TrackRecorder, exit: RecorderExit): Promise<ManifestTrack> {
    entry.endedAt = (recorder.endedAt ?? new Date()).toISOString();
    entry.state = exit.requested ? 'ended' : 'failed';
    if (!exit.requested) entry.error = describeExit(exit);
    this.#recorders.delete(entry.trackId);
    // From the recorder's own list, so a segment whose events came before our listeners is not missed.
    const segments = recorder.segments();
    const done = this.#segmentsDone.get(entry.trackId);
    entry.segments = segments.map((s) => this.#journalSegment(s));
    this.#saveJournal();
    const track = assembleTrack(
      entry,
      await Promise.all(segments.map((s, i) => done?.get(s.index) ?? finalizeSegment(this.dir, entry.segments![i]!, s.exit, this.#ffmpeg))),
    );
    this.#audit('recording_track_ended', null, {
      sessionId: this.id,
      trackId: entry.trackId,
      status: track.status,
      sha256: track.sha256,
      durationSeconds: track.durationSeconds,
      ...(track.segments && track.segments.length > 1
        ? { segments: track.segments.map((s) => ({ index: s.index, file: s.file, sha256: s.sha256, status: s.status })) }
        : {}),
    });
    if (track.status === 'failed') {
      const restarts = (track.segments?.length ?? 1) - 1;
      const error = new RecordingError(
        `recording of ${entry.identity}'s ${entry.source} stopped: ${entry.error ?? 'recorder failed'}` +
          (restarts > 0 ? ` (after ${restarts} restart${restarts > 1 ? 's' : ''}; not restarted again)` : ''),
        this.id,
        track,
      );
      this.#log.error({ err: error, track: entry.trackId }, 'track recording failed');
      this.#audit('recording_error', null, { sessionId: this.id, trackId: entry.trackId, error: error.message });
      if (this.listenerCount('error') > 0) this.emit('error', error);
    }
    this.emit('trackEnded', track);
    return track;
  }

  #saveJournal(): void {
    try {
      writeJournal(this.dir, this.#journal);
    } catch (err) {
      // Recording goes on; only crash recovery is weakened. Loud, because it must be fixed.
      this.#log.error({ err }, 'could not write the recording journal');
    }
  }

  #audit(type: AuditEventType, actor: AuditActor | null, data: AuditData): void {
    if (!this.#options.audit || this.#options.audit.closed) return;
    try {
      this.#options.audit.append(type, { actor: actor ?? undefined, data });
    } catch (err) {
      this.#log.error({ err: toError(err), type }, 'audit event lost');
    }
  }
}

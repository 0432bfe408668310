/**
 * Recording into the case record, as `client.recording`: whether the consultation is being recorded
 * and by whom (told to everyone, late joiners included), the participant's acknowledgement (informed
 * consent, kept in the audit trail), and start/stop for those allowed to record.
 */
import type { Actor, JoinResult, RecordingInfo } from '../../signaling/protocol/types/index.js';
import type { SignalingConnection } from './SignalingConnection.js';
import { TypedEmitter } from './TypedEmitter.js';

export interface RecordingEvents {
  /** Show it to the person (e.g. a banner) and call `acknowledge()` when they have seen it. */
  started: [recording: RecordingInfo];
  stopped: [sessionId: string, by: Actor | null];
  /** Moderators: part of the recording failed (the rest goes on). */
  error: [message: string];
  /**
   * Moderators: the consultation's record cannot be written on the server ('trail': the room admits
   * no one and refuses chat until it can; 'recording': a recording was not started, the disk is nearly full).
   */
  unavailable: [part: 'trail' | 'recording', message: string];
  /** Moderators: the audit trail is written again. */
  restored: [message: string];
}

export class Recording extends TypedEmitter<RecordingEvents> {
  readonly #signaling: SignalingConnection;
  #current: RecordingInfo | null = null;

  constructor(signaling: SignalingConnection) {
    super();
    this.#signaling = signaling;
    signaling.on('recordingStarted', ({ recording }) => this.#set(recording));
    signaling.on('recordingStopped', ({ sessionId, by }) => {
      this.#current = null;
      this.emit('stopped', sessionId, by);
    });
    signaling.on('recordingError', ({ message }) => this.emit('error', message));
    signaling.on('recordUnavailable', ({ part, message }) => this.emit('unavailable', part, message));
    signaling.on('recordRestored', ({ message }) => this.emit('restored', message));
  }

  /** The recording in progress, or null. */
  get current(): RecordingInfo | null {
    return this.#current;
  }

  get active(): boolean {
    return this.#current !== null;
  }

  /** Merges a snapshot; a recording already running when you join is announced like a new one. */
  apply(snapshot: JoinResult): void {
    if (snapshot.recording && snapshot.recording.sessionId !== this.#current?.sessionId) this.#set(snapshot.recording);
    else if (!snapshot.recording && this.#current) {
      const sessionId = this.#current.sessionId;
      this.#current = null;
      this.emit('stopped', sessionId, null);
    }
  }

  /** Confirms the person was told that this consultation is being recorded. */
  async acknowledge(): Promise<void> {
    if (!this.#current) return;
    await this.#signaling.request('acknowledgeRecording', { sessionId: this.#current.sessionId });
  }

  /** Permission `record` (the lead specialist by default). */
  async start(): Promise<RecordingInfo> {
    return this.#signaling.request('startRecording', {});
  }

  async stop(): Promise<void> {
    await this.#signaling.request('stopRecording', {});
  }

  #set(recording: RecordingInfo): void {
    this.#current = recording;
    this.emit('started', recording);
  }
}

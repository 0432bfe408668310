/**
 * The audience features of broadcasts and training, as `client.audience`: live viewer count, written
 * questions (ask; moderators approve/hide; presenters mark answered), the stage, and the HLS link.
 */
import type { Actor, JoinResult, Question } from '../../signaling/protocol/types/index.js';
import type { SignalingConnection } from './SignalingConnection.js';
import { TypedEmitter } from './TypedEmitter.js';

export interface AudienceEvents {
  viewerCount: [count: number];
  /** A question appeared, changed status, or (status 'hidden') should disappear from the audience's list. */
  questionUpdated: [question: Question];
  stageChanged: [participantId: string, onStage: boolean, by: Actor];
  hlsChanged: [url: string | null];
}

export class Audience extends TypedEmitter<AudienceEvents> {
  readonly #signaling: SignalingConnection;
  readonly #questions = new Map<string, Question>();
  readonly #onStage = new Set<string>();
  #viewerCount = 0;
  #hlsUrl: string | null = null;
  /** Moderators and presenters see every question, hidden ones included. */
  #managing = false;

  constructor(signaling: SignalingConnection) {
    super();
    this.#signaling = signaling;
    signaling.on('viewerCount', ({ count }) => {
      this.#viewerCount = count;
      this.emit('viewerCount', count);
    });
    signaling.on('questionUpdated', ({ question }) => {
      this.#questions.set(question.id, question);
      this.emit('questionUpdated', question);
    });
    signaling.on('stageChanged', ({ participantId, onStage, by }) => {
      if (onStage) this.#onStage.add(participantId);
      else this.#onStage.delete(participantId);
      this.emit('stageChanged', participantId, onStage, by);
    });
    signaling.on('hlsChanged', ({ url }) => {
      this.#hlsUrl = url;
      this.emit('hlsChanged', url);
    });
  }

  get viewerCount(): number {
    return this.#viewerCount;
  }

  /** Questions you may see (everyone: approved and answered; moderators and presenters: all), oldest first. */
  get questions(): Question[] {
    return [...this.#questions.values()].filter((q) => q.status !== 'hidden' || this.#managing);
  }

  get onStage(): string[] {
    return [...this.#onStage];
  }

  /** The HLS playlist (relative to the server) while the session is streamed as HLS. */
  get hlsUrl(): string | null {
    return this.#hlsUrl;
  }

  /** Merges a snapshot (join, admission, resume). */
  apply(snapshot: JoinResult, managing: boolean): void {
    this.#managing = managing;
    this.#viewerCount = snapshot.viewerCount;
    this.#hlsUrl = snapshot.hlsUrl;
    this.#onStage.clear();
    for (const id of snapshot.onStage) this.#onStage.add(id);
    for (const q of snapshot.questions) this.#questions.set(q.id, q);
  }

  async ask(text: string): Promise<Question> {
    const { question } = await this.#signaling.request('askQuestion', { text });
    this.#questions.set(question.id, question);
    return question;
  }

  approve(questionId: string): Promise<Question> {
    return this.#update(questionId, 'approved');
  }

  hide(questionId: string): Promise<Question> {
    return this.#update(questionId, 'hidden');
  }

  markAnswered(questionId: string): Promise<Question> {
    return this.#update(questionId, 'answered');
  }

  /** Moderators: give a viewer or trainee the floor (they may then publish camera and microphone). */
  async bringOnStage(participantId: string): Promise<void> {
    await this.#signaling.request('setOnStage', { participantId, onStage: true });
  }

  async sendOffStage(participantId: string): Promise<void> {
    await this.#signaling.request('setOnStage', { participantId, onStage: false });
  }

  /** Moderators: stream the presenters as HLS; resolves with the playlist URL. */
  async startHls(): Promise<string> {
    const { url } = await this.#signaling.request('startHls', {});
    return url;
  }

  async stopHls(): Promise<void> {
    await this.#signaling.request('stopHls', {});
  }

  async #update(questionId: string, status: 'approved' | 'hidden' | 'answered'): Promise<Question> {
    const { question } = await this.#signaling.request('updateQuestion', { questionId, status });
    this.#questions.set(question.id, question);
    return question;
  }
}

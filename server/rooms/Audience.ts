/**
 * The audience side of broadcasts and training: the live viewer count (sent at most once a second and
 * only when it changed, so thousands of joins do not mean thousands of messages each), written Q&A,
 * and the stage: a moderator gives a viewer or trainee a temporary publish grant and takes it back.
 */
import { STAGE_GRANTS, wrongState, type Question } from '../../signaling/protocol/index.js';
import type { Participant } from './Participant.js';
import { DEFAULT_QUESTION_LIMITS, QuestionBoard } from './QuestionBoard.js';
import { actorOf, type Room } from './Room.js';

export class Audience {
  readonly questions: QuestionBoard;
  readonly #room: Room;
  readonly #timer: NodeJS.Timeout | undefined;
  #sentCount = -1;

  /**
   * `live`: a broadcast or training audience, whose size is sent around; other rooms only report it.
   * `lastAsked`: the room memory's per-identity Q&A clock, so rejoining does not reset it.
   */
  constructor(room: Room, live: boolean, lastAsked?: Map<string, number>) {
    this.#room = room;
    this.questions = new QuestionBoard(DEFAULT_QUESTION_LIMITS, lastAsked);
    if (live) {
      this.#timer = setInterval(() => this.#sendViewerCount(), 1000);
      this.#timer.unref();
    }
  }

  /** The audience: everyone who neither presents nor moderates. */
  get viewerCount(): number {
    let count = 0;
    for (const p of this.#room.participants()) if (!p.publishesByRole && !p.can('moderate')) count++;
    return count;
  }

  onStage(): string[] {
    return this.#room
      .participants()
      .filter((p) => p.onStage)
      .map((p) => p.id);
  }

  questionsFor(participant: Participant): Question[] {
    return this.questions.list(participant.can('manage_questions'));
  }

  /** Written to the audit trail before it is kept or shown; refused (UNAVAILABLE) if it cannot be. */
  ask(author: Participant, text: string): Question {
    const question = this.questions.ask(author.info, text, undefined, (q) =>
      this.#room.audit('question_asked', author, undefined, { questionId: q.id, text }),
    );
    this.#tellManagers(question);
    return question;
  }

  update(by: Participant, questionId: string, status: 'approved' | 'hidden' | 'answered'): Question {
    const { question, previous } = this.questions.update(questionId, status, () =>
      this.#room.audit('question_updated', by, undefined, { questionId, status }),
    );
    // The audience sees a question appear when approved, change when answered, and vanish when hidden.
    const audienceCares = QuestionBoard.isPublic(status) || QuestionBoard.isPublic(previous);
    for (const p of this.#room.participants()) {
      if (p.can('manage_questions') || audienceCares) p.notify('questionUpdated', { question });
    }
    return question;
  }

  setOnStage(target: Participant, onStage: boolean, by: Participant): void {
    if (target.publishesByRole) throw wrongState(`${target.info.displayName} presents already`);
    if (target.onStage === onStage) return;
    // The rest of the audience does not see other viewers: introduce the new speaker first, so their
    // tracks arrive for a known person, and say goodbye when they step down.
    // Going on stage is a grant: written first, refused without. Going off is not refused (Room.audit).
    if (onStage) this.#room.audit('stage_granted', by, target);
    const audience = this.#room.participants().filter((p) => p !== target && !this.#room.sees(p, target));
    if (onStage) {
      target.grant(STAGE_GRANTS);
      for (const p of audience) p.notify('participantJoined', { participant: target.info });
    } else {
      target.revokeGrants();
      target.closeProducers(['microphone', 'camera', 'screen']);
      this.#room.setHandRaised(target, false, by);
      for (const p of this.#room.participants())
        if (p !== target && !this.#room.sees(p, target)) p.notify('participantLeft', { participantId: target.id, reason: 'off_stage' });
    }
    target.notify('permissionsChanged', { permissions: [...target.permissions] });
    this.#room.notifyOthers(null, 'stageChanged', { participantId: target.id, onStage, by: actorOf(by) });
    if (!onStage) this.#room.auditFact('stage_revoked', by, target);
  }

  close(): void {
    clearInterval(this.#timer);
  }

  #tellManagers(question: Question): void {
    for (const p of this.#room.participants()) if (p.can('manage_questions')) p.notify('questionUpdated', { question });
  }

  #sendViewerCount(): void {
    const count = this.viewerCount;
    if (count === this.#sentCount) return;
    this.#sentCount = count;
    this.#room.notifyOthers(null, 'viewerCount', { count });
  }
}

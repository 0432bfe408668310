/**
 * The SDK's picture of the room: people, raised hands, line grades, chat, lock state. A snapshot from the server
 * (on join, admission or resume) is merged in and the differences are returned, so events can be
 * raised for what changed while the connection was down.
 */
import type { ChatMessage, JoinResult, LineQualityReport, ParticipantInfo } from '../../signaling/protocol/types/index.js';

export interface SnapshotDiff {
  joined: ParticipantInfo[];
  left: ParticipantInfo[];
  newChat: ChatMessage[];
  lockChanged: boolean;
  /** Grades that differ from what the SDK knew (a participant no longer graded is not listed). */
  linesChanged: LineQualityReport[];
}

export class RoomModel {
  readonly participants = new Map<string, ParticipantInfo>();
  readonly raisedHands = new Set<string>();
  /** The server's latest grade of each line, by participant id (the joined one's own too). */
  readonly lines = new Map<string, LineQualityReport>();
  /** Oldest first: the latest messages from the join answer, older pages put in front. */
  readonly chat: ChatMessage[] = [];
  readonly #chatIds = new Set<string>();
  /** The server keeps older messages than the oldest in `chat`. */
  olderChat = false;
  locked = false;

  apply(snapshot: JoinResult): SnapshotDiff {
    const incoming = new Map(snapshot.participants.map((p) => [p.id, p]));
    const left = [...this.participants.values()].filter((p) => !incoming.has(p.id));
    const joined = snapshot.participants.filter((p) => !this.participants.has(p.id));
    this.participants.clear();
    for (const p of snapshot.participants) this.participants.set(p.id, p);
    this.raisedHands.clear();
    for (const id of snapshot.raisedHands) this.raisedHands.add(id);
    // The first snapshot says whether older messages exist; later ones (resume) only add newer ones.
    if (this.chat.length === 0) this.olderChat = snapshot.chatHasMore;
    const newChat = snapshot.chat.filter((m) => this.addChat(m));
    const lockChanged = this.locked !== snapshot.roomLocked;
    this.locked = snapshot.roomLocked;
    const linesChanged = snapshot.lineQuality.filter((r) => this.lines.get(r.participantId)?.quality !== r.quality);
    this.lines.clear();
    for (const r of snapshot.lineQuality) this.lines.set(r.participantId, r);
    return { joined, left, newChat, lockChanged, linesChanged };
  }

  /** Someone left: what the SDK knew about them goes too. */
  forget(participantId: string): ParticipantInfo | undefined {
    const participant = this.participants.get(participantId);
    this.participants.delete(participantId);
    this.raisedHands.delete(participantId);
    this.lines.delete(participantId);
    return participant;
  }

  /** Adds a message unless already known (a resume replays history). Returns whether it was new. */
  addChat(message: ChatMessage): boolean {
    if (this.#chatIds.has(message.id)) return false;
    this.#chatIds.add(message.id);
    this.chat.push(message);
    return true;
  }

  /** Puts a page of older messages (oldest first) in front; returns those not known yet. */
  addOlderChat(messages: ChatMessage[], hasMore: boolean): ChatMessage[] {
    const fresh = messages.filter((m) => !this.#chatIds.has(m.id));
    for (const m of fresh) this.#chatIds.add(m.id);
    this.chat.unshift(...fresh);
    this.olderChat = hasMore;
    return fresh;
  }
}

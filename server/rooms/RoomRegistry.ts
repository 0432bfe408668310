/**
 * Finds or opens rooms, and is where a principal enters or resumes one. Opening is asynchronous (a
 * router must be created), so requests for the same room id are chained: two clinicians joining at
 * the same instant end up in one room, not two. Joins are throttled per identity and room, in the
 * room's memory, so a client looping join/leave cannot open session after session (resuming a
 * session is not a join and is not throttled).
 */
import type { types } from 'mediasoup';
import { forbidden, notFound, ProtocolError, type JoinResult } from '../../signaling/protocol/index.js';
import type { Principal } from '../auth/TokenVerifier.js';
import type { Logger } from '../logger.js';
import type { WorkerPool } from '../media/WorkerPool.js';
import type { CaseRecordOpener } from './caseRecord.js';
import { Participant, type ParticipantChannel } from './Participant.js';
import { checkEntry } from './policy.js';
import { Room, type RoomDescriptor, type RoomOptions } from './Room.js';
import { DEFAULT_JOIN_LIMITS, RoomMemories, type DurableRoomMemory, type JoinLimits } from './RoomMemory.js';

export interface RoomRegistryDeps {
  pool: WorkerPool;
  options: RoomOptions;
  /** How long bans and "ended" outlive a room (the longest token lifetime). */
  memorySeconds: number;
  /** How fast one identity may (re)join one room. */
  joinLimits?: JoinLimits | undefined;
  /** Clustered: where bans and "ended" are kept beyond this node. */
  durable?: DurableRoomMemory | undefined;
  /** Every room is created with its case record; there is no room without one. */
  openCaseRecord: CaseRecordOpener;
  /** Told of every room opened here (metrics follow its quality samples). */
  onOpened?: ((room: Room) => void) | undefined;
  log: Logger;
}

export interface Entered {
  room: Room;
  participant: Participant;
  status: 'joined' | 'waiting';
}

export class RoomRegistry {
  readonly #rooms = new Map<string, Room>();
  readonly #pending = new Map<string, Promise<Room>>();
  readonly #deps: RoomRegistryDeps;
  readonly #memories: RoomMemories;
  readonly #onOpened: ((room: Room) => void)[] = [];

  constructor(deps: RoomRegistryDeps) {
    this.#deps = deps;
    this.#memories = new RoomMemories(deps.memorySeconds, deps.joinLimits ?? DEFAULT_JOIN_LIMITS);
  }

  get size(): number {
    return this.#rooms.size;
  }

  get(id: string): Room | undefined {
    return this.#rooms.get(id);
  }

  rooms(): Room[] {
    return [...this.#rooms.values()];
  }

  /**
   * The room `principal`'s token names, if it is open here and they may enter it — the entry policy,
   * the room's kind and case, not removed from it — or nothing (not open here); refused as a join would be. What a pre-join
   * screen prepares on: nothing of a room is made for, or told to, someone it would turn away.
   */
  openFor(principal: Principal): Room | undefined {
    checkEntry(principal);
    const room = this.#rooms.get(principal.room);
    if (!room || room.closed) return undefined;
    checkMatches(room, { id: principal.room, kind: principal.kind, caseId: principal.caseId });
    room.refuseIfRemoved(principal.sub);
    return room;
  }

  /** `listener` is called with each room opened here from now on (e.g. programmes watch theirs go live). */
  onOpened(listener: (room: Room) => void): void {
    this.#onOpened.push(listener);
  }

  /**
   * `principal` enters the room its token names, opening it if needed: admitted at once, or parked in
   * the lobby of a locked room. Refused by the entry policy (roles, no online first visits) or a ban.
   */
  async enter(principal: Principal, channel: ParticipantChannel, rtpCapabilities: types.RtpCapabilities): Promise<Entered> {
    checkEntry(principal);
    // Before the room is even opened: a throttled join costs no router, no trail and no snapshot.
    this.#memories.of(principal.room).joins.take(principal.sub);
    const desc = { id: principal.room, kind: principal.kind, caseId: principal.caseId };
    let room = await this.getOrCreate(desc);
    // The room may have closed (its last participant left) while we waited for it: open it anew.
    if (room.closed) room = await this.getOrCreate(desc);
    const participant = new Participant(principal, channel);
    participant.setRtpCapabilities(rtpCapabilities);
    const status = room.enter(participant);
    return { room, participant, status };
  }

  /** A new connection proves it is a participant kept for the grace period, and takes it over. */
  resume(
    principal: Principal,
    participantId: string,
    resumeToken: string,
    channel: ParticipantChannel,
  ): { room: Room; participant: Participant; snapshot: JoinResult } {
    const room = this.#rooms.get(principal.room);
    const participant = room?.participant(participantId);
    // One answer for "no such participant" and "not yours": a guess reveals nothing.
    if (!room || !participant || participant.info.identity !== principal.sub || !participant.matchesResumeToken(resumeToken)) {
      throw notFound('no session to resume (the grace period may have passed); join again');
    }
    return { room, participant, snapshot: room.resume(participant, channel) };
  }

  async getOrCreate(desc: RoomDescriptor): Promise<Room> {
    const existing = this.#rooms.get(desc.id);
    if (existing && !existing.closed) return checkMatches(existing, desc);
    const pending = this.#pending.get(desc.id);
    if (pending) return checkMatches(await pending, desc);
    const creating = this.#open(desc);
    this.#pending.set(desc.id, creating);
    try {
      return await creating;
    } finally {
      this.#pending.delete(desc.id);
    }
  }

  /** Opens a room here, with what is remembered of it elsewhere; its durable changes are pushed back. */
  async #open(desc: RoomDescriptor): Promise<Room> {
    const { pool, options, openCaseRecord, durable, log } = this.#deps;
    const memory = this.#memories.of(desc.id);
    if (durable) {
      // A room must not open without knowing who was removed from it or whether it was ended.
      await durable.restore(desc.id, memory).catch((err: unknown) => {
        log.warn({ err: err instanceof Error ? err.message : String(err), room: desc.id }, 'room memory could not be read');
        throw new ProtocolError('UNAVAILABLE', "this room's memory cannot be read right now; please retry in a few seconds");
      });
    }
    const room = await Room.create(desc, { pool, options, memory, openCaseRecord, log });
    this.#rooms.set(room.id, room);
    this.#deps.onOpened?.(room);
    if (durable) {
      // Written at once: 'live' tells another node that a lapsed lease may mean a dead owner.
      durable.save(room.id, room.durableSnapshot());
      room.on('memoryChanged', () => durable.save(room.id, room.durableSnapshot()));
    }
    room.once('closed', () => {
      if (this.#rooms.get(room.id) === room) this.#rooms.delete(room.id);
      durable?.save(room.id, room.durableSnapshot());
    });
    for (const listener of this.#onOpened) listener(room);
    return room;
  }

  closeAll(): void {
    for (const room of this.rooms()) room.close('room_closed', 'the server is shutting down');
  }
}

/** A room id is bound to one kind and one case: a token for another case cannot enter it. */
function checkMatches(room: Room, desc: RoomDescriptor): Room {
  if (room.kind !== desc.kind) throw forbidden(`room ${room.id} is a ${room.kind} room, but the access token is for a ${desc.kind} room`);
  if (room.caseId !== desc.caseId) throw forbidden(`room ${room.id} belongs to another case than the access token`);
  return room;
}

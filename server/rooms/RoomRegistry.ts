/**
 * Finds or opens rooms. Opening is asynchronous (a router must be created), so requests for the same
 * room id are chained: two clinicians joining at the same instant end up in one room, not two.
 */
import { EventEmitter } from 'node:events';
import { forbidden } from '../../signaling/protocol/index.js';
import type { Logger } from '../logger.js';
import type { WorkerPool } from '../media/WorkerPool.js';
import { Room, type RoomDescriptor, type RoomOptions } from './Room.js';
import { RoomMemories } from './RoomMemory.js';

interface RegistryEvents {
  /** A room was just created: attach what every room needs (e.g. its audit trail) here. */
  opened: [room: Room];
}

export class RoomRegistry extends EventEmitter<RegistryEvents> {
  readonly #rooms = new Map<string, Room>();
  readonly #pending = new Map<string, Promise<Room>>();
  readonly #pool: WorkerPool;
  readonly #options: RoomOptions;
  readonly #memories: RoomMemories;
  readonly #log: Logger;

  /** `memorySeconds`: how long bans and "ended" outlive a room (the longest token lifetime). */
  constructor(pool: WorkerPool, options: RoomOptions, memorySeconds: number, log: Logger) {
    super();
    this.#pool = pool;
    this.#options = options;
    this.#memories = new RoomMemories(memorySeconds);
    this.#log = log;
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

  async getOrCreate(desc: RoomDescriptor): Promise<Room> {
    const existing = this.#rooms.get(desc.id);
    if (existing && !existing.closed) return checkMatches(existing, desc);
    const pending = this.#pending.get(desc.id);
    if (pending) return checkMatches(await pending, desc);
    const creating = Room.create(desc, this.#pool, this.#options, this.#memories.of(desc.id), this.#log).then((room) => {
      this.#rooms.set(room.id, room);
      this.emit('opened', room);
      room.once('closed', () => {
        if (this.#rooms.get(room.id) === room) this.#rooms.delete(room.id);
      });
      return room;
    });
    this.#pending.set(desc.id, creating);
    try {
      return await creating;
    } finally {
      this.#pending.delete(desc.id);
    }
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

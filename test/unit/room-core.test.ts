/**
 * The room core (Room, Participant, Moderation, the media rules that need no worker) without a
 * mediasoup worker: a fake worker pool hands out fake routers, the case record is a fake that keeps
 * what the room wrote to it, and each participant speaks through a fake channel that keeps what it
 * was told. Participants are real, built from access-token principals.
 */
import { EventEmitter } from 'node:events';
import type { types } from 'mediasoup';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  ProtocolError,
  type ErrorCode,
  type LeaveReason,
  type MediaSource,
  type NotificationMap,
  type NotificationName,
  type RecordingInfo,
  type Role,
  type RoomKind,
  type Site,
} from '../../signaling/protocol/index.js';
import type { Principal } from '../../server/auth/TokenVerifier.js';
import type { MediaWorker, WorkerPool } from '../../server/media/WorkerPool.js';
import type { AuditType, RoomAuditEvent } from '../../server/rooms/audit.js';
import type { RoomCaseRecord } from '../../server/rooms/caseRecord.js';
import { Participant, type ParticipantChannel } from '../../server/rooms/Participant.js';
import { Room, type RoomDescriptor, type RoomOptions } from '../../server/rooms/Room.js';
import { newRoomMemory, type RoomMemory } from '../../server/rooms/RoomMemory.js';

// --- Fakes ----------------------------------------------------------------------------------------

/** What the room's constructor uses of mediasoup's ActiveSpeakerObserver. */
class FakeSpeakerObserver extends EventEmitter {
  readonly added: string[] = [];

  async addProducer({ producerId }: { producerId: string }): Promise<void> {
    this.added.push(producerId);
  }

  /** As mediasoup reports a new dominant speaker. */
  dominant(participantId: string): void {
    this.emit('dominantspeaker', { producer: { appData: { participantId, source: 'microphone' } } });
  }
}

/** A router with what Room uses: id, close() and its observer's 'close', the speaker observer. */
class FakeRouter {
  static #next = 0;
  readonly id = `router-${++FakeRouter.#next}`;
  readonly observer = new EventEmitter();
  readonly speakerObserver = new FakeSpeakerObserver();
  closed = false;
  closeCalls = 0;
  /** Errors thrown by 'close' listeners: mediasoup's safeEmit swallows them (emits 'listenererror'). */
  readonly listenerErrors: unknown[] = [];

  async createActiveSpeakerObserver(): Promise<FakeSpeakerObserver> {
    return this.speakerObserver;
  }

  close(): void {
    this.closeCalls++;
    if (this.closed) return;
    this.closed = true;
    try {
      this.observer.emit('close');
    } catch (error) {
      this.listenerErrors.push(error);
    }
  }
}

class FakePool implements Pick<WorkerPool, 'createRouter'> {
  readonly host: MediaWorker = {
    index: 0,
    worker: {} as types.Worker,
    webRtcServer: { id: 'webrtc-0' } as unknown as types.WebRtcServer,
    routers: 0,
  };
  readonly routers: FakeRouter[] = [];

  async createRouter(): Promise<{ router: types.Router; host: MediaWorker }> {
    const router = new FakeRouter();
    this.routers.push(router);
    return { router: router as unknown as types.Router, host: this.host };
  }
}

/** Keeps every audit event, join and published track the room hands its case record. */
class FakeCaseRecord implements RoomCaseRecord {
  readonly events: RoomAuditEvent[] = [];
  readonly joined: Participant[] = [];
  readonly tracks: { owner: Participant; producerId: string; source: MediaSource }[] = [];
  readonly recording: RecordingInfo | null = null;

  append(event: RoomAuditEvent): void {
    this.events.push(event);
  }
  start(): Promise<RecordingInfo> {
    return Promise.reject(new Error('not recording in unit tests'));
  }
  stop(): void {}
  acknowledge(): void {}
  participantJoined(participant: Participant): void {
    this.joined.push(participant);
  }
  trackPublished(owner: Participant, producer: types.Producer, source: MediaSource): void {
    this.tracks.push({ owner, producerId: producer.id, source });
  }

  types(): AuditType[] {
    return this.events.map((e) => e.type);
  }
  all(type: AuditType): RoomAuditEvent[] {
    return this.events.filter((e) => e.type === type);
  }
  one(type: AuditType): RoomAuditEvent {
    const found = this.all(type);
    expect(found, `exactly one ${type} audit event`).toHaveLength(1);
    return found[0]!;
  }
}

/** A participant's connection: keeps what it was told, and how it was ended or closed. */
class FakeChannel implements ParticipantChannel {
  readonly notes: { name: NotificationName; payload: unknown }[] = [];
  readonly ends: { reason: LeaveReason; message: string }[] = [];
  closes = 0;

  notify<N extends NotificationName>(name: N, payload: NotificationMap[N]): void {
    this.notes.push({ name, payload });
  }
  end(reason: LeaveReason, message: string): void {
    this.ends.push({ reason, message });
  }
  close(): void {
    this.closes++;
  }

  got<N extends NotificationName>(name: N): NotificationMap[N][] {
    return this.notes.filter((n) => n.name === name).map((n) => n.payload as NotificationMap[N]);
  }
  names(): NotificationName[] {
    return this.notes.map((n) => n.name);
  }
}

/** A producer with mediasoup's id, kind, paused, pause/resume/close and observer 'close'. */
class FakeProducer {
  static #next = 0;
  readonly id = `producer-${++FakeProducer.#next}`;
  readonly observer = new EventEmitter();
  readonly kind: 'audio' | 'video';
  paused = false;
  closed = false;
  /** What mediasoup's getStats() reports of the stream (fractionLost: RTCP's 0–255). */
  readonly stats = { type: 'inbound-rtp', fractionLost: 0, score: 10, jitter: 0, mimeType: 'video/VP8' };

  constructor(source: MediaSource) {
    this.kind = source === 'microphone' ? 'audio' : 'video';
  }
  async getStats(): Promise<unknown[]> {
    return [this.stats];
  }
  async pause(): Promise<void> {
    this.paused = true;
  }
  async resume(): Promise<void> {
    this.paused = false;
  }
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.observer.emit('close');
  }
}

// --- People and rooms -----------------------------------------------------------------------------

const PROVINCIAL: Site = { id: 'hn-szl', name: '省肿瘤医院', level: 'tertiary_hospital' };
const COUNTY: Site = { id: 'ap-xyy', name: '安平县医院', level: 'county_hospital' };
const VILLAGE: Site = { id: 'hq-wss', name: '红旗村卫生室', level: 'village_clinic' };

const ROOM_ID = 'mdt-2026-0117';
const CASE_ID = 'case-880231';

function principal(sub: string, name: string, role: Role, site: Site, kind: RoomKind = 'consultation'): Principal {
  return { sub, name, role, site, room: ROOM_ID, kind, caseId: CASE_ID };
}

/** 王芳 chairs: moderates and walks past the lobby. */
const WANG = principal('staff-1001', '王芳', 'lead_specialist', PROVINCIAL);
/** 李强, a specialist of the expert team: walks past the lobby, does not moderate. */
const LI = principal('staff-1002', '李强', 'specialist', PROVINCIAL);
/** 赵磊 presents the case from the county hospital: waits in the lobby of a locked room. */
const ZHAO = principal('staff-2001', '赵磊', 'clinic_doctor', COUNTY);
/** 马丽, the village clinic's nurse: waits in the lobby of a locked room. */
const MA = principal('staff-3001', '马丽', 'care_team', VILLAGE);

const OPTIONS: RoomOptions = {
  reconnectGraceSeconds: 0.05,
  consumersPerRouter: 500,
  keyFrameRequestDelayMs: 1000,
  initialOutgoingBitrate: 1_000_000,
  maxIncomingBitrate: 1_500_000,
  // Most tests here look at what happens when a room closes; the linger has tests of its own.
  emptyLingerSeconds: 0,
  chatOnJoin: 50,
};

const silent = pino({ level: 'silent' });

function deps(opener: () => RoomCaseRecord, memory: RoomMemory = newRoomMemory(), options: RoomOptions = OPTIONS) {
  const pool = new FakePool();
  return { pool, memory, deps: { pool: pool as unknown as WorkerPool, options, memory, openCaseRecord: opener, log: silent } };
}

async function openRoom(kind: RoomKind = 'consultation', options: RoomOptions = OPTIONS, memory: RoomMemory = newRoomMemory()) {
  const record = new FakeCaseRecord();
  const { pool, deps: d } = deps(() => record, memory, options);
  const desc: RoomDescriptor = { id: ROOM_ID, kind, caseId: CASE_ID };
  const room = await Room.create(desc, d);
  return { room, record, memory, router: pool.routers[0]!, pool };
}

interface Someone {
  p: Participant;
  ch: FakeChannel;
}

function person(who: Principal, kind: RoomKind = 'consultation'): Someone {
  const ch = new FakeChannel();
  return { p: new Participant({ ...who, kind }, ch), ch };
}

/** `who` enters the room; returns them with their channel. */
function enter(room: Room, who: Principal): Someone & { result: 'joined' | 'waiting' } {
  const someone = person(who, room.kind);
  return { ...someone, result: room.enter(someone.p) };
}

function publish(room: Room, owner: Participant, source: MediaSource): FakeProducer {
  const producer = new FakeProducer(source);
  room.publish(owner, producer as unknown as types.Producer, source);
  return producer;
}

/** The code a synchronous call is refused with. */
function codeOf(fn: () => unknown): ErrorCode {
  try {
    fn();
  } catch (error) {
    if (error instanceof ProtocolError) return error.code;
    throw error;
  }
  throw new Error('expected a ProtocolError, but the call succeeded');
}

const by = (s: Someone) => ({ participantId: s.p.id, displayName: s.p.info.displayName });

afterEach(() => {
  vi.useRealTimers();
});

// --- Creation -------------------------------------------------------------------------------------

describe('Room.create', () => {
  it('opens the case record with the room and hands it the audit trail', async () => {
    const { room, record, router } = await openRoom();
    expect(room.caseRecord).toBe(record);
    expect(room.router).toBe(router);
    expect(room.webRtcServer).toEqual({ id: 'webrtc-0' });
    expect(room.closed).toBe(false);
  });

  it('is not created when its case record cannot be opened: UNAVAILABLE, and the router is closed', async () => {
    const { pool, deps: d } = deps(() => {
      throw new Error('case record store unreachable');
    });
    const creating = Room.create({ id: ROOM_ID, kind: 'consultation', caseId: CASE_ID }, d);
    await expect(creating).rejects.toBeInstanceOf(ProtocolError);
    await expect(creating).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    expect(pool.routers).toHaveLength(1);
    expect(pool.routers[0]!.closed).toBe(true);
  });

  // Once, the router's 'close' was wired before the case record opened: a failed opening then ran
  // close() on a room without a record (a TypeError that mediasoup's safeEmit hid).
  it('does not run the close handler of a room that was never created', async () => {
    const { pool, deps: d } = deps(() => {
      throw new Error('case record store unreachable');
    });
    await expect(Room.create({ id: ROOM_ID, kind: 'consultation', caseId: CASE_ID }, d)).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    expect(pool.routers[0]!.listenerErrors).toEqual([]);
  });

  it('refuses a consultation its lead ended: WRONG_STATE, and no router is made', async () => {
    const { pool, deps: d } = deps(() => new FakeCaseRecord(), { ...newRoomMemory(), ended: true });
    await expect(Room.create({ id: ROOM_ID, kind: 'consultation', caseId: CASE_ID }, d)).rejects.toMatchObject({ code: 'WRONG_STATE' });
    expect(pool.routers).toHaveLength(0);
  });
});

// --- Entering -------------------------------------------------------------------------------------

describe('entering', () => {
  it('admits at once into an open room: joined, the others told, audited, the case record told', async () => {
    const { room, record } = await openRoom();
    const wang = enter(room, WANG);
    const zhao = enter(room, ZHAO);

    expect(zhao.result).toBe('joined');
    expect(zhao.p.state).toBe('joined');
    expect(room.participants()).toEqual([wang.p, zhao.p]);
    expect(wang.ch.got('participantJoined')).toEqual([{ participant: zhao.p.info }]);
    expect(zhao.ch.got('participantJoined')).toEqual([]);
    expect(record.all('participant_joined').map((e) => e.actor)).toEqual([
      expect.objectContaining({
        participantId: wang.p.id,
        identity: 'staff-1001',
        name: '王芳',
        role: 'lead_specialist',
        siteName: '省肿瘤医院',
      }),
      expect.objectContaining({
        participantId: zhao.p.id,
        identity: 'staff-2001',
        name: '赵磊',
        role: 'clinic_doctor',
        siteId: 'ap-xyy',
        siteName: '安平县医院',
      }),
    ]);
    expect(record.joined).toEqual([wang.p, zhao.p]);
  });

  it("parks a role without bypass_lobby in a locked room's lobby; the team walks in", async () => {
    const { room, record } = await openRoom();
    const wang = enter(room, WANG);
    room.setLocked(true, wang.p);
    expect(record.one('room_locked').actor?.name).toBe('王芳');

    const ma = enter(room, MA);
    expect(ma.result).toBe('waiting');
    expect(ma.p.state).toBe('waiting');
    expect(room.participants()).toEqual([wang.p]);
    expect(room.waiting()).toEqual([ma.p.info]);
    expect(wang.ch.got('lobbyChanged')).toEqual([{ waiting: [ma.p.info] }]);
    expect(wang.ch.got('participantJoined')).toEqual([]);
    expect(record.one('lobby_waiting').actor?.name).toBe('马丽');
    expect(record.joined).toEqual([wang.p]);

    const li = enter(room, LI);
    expect(li.result).toBe('joined');
    // A moderator arriving is shown who waits; a specialist who does not moderate is not.
    expect(li.ch.got('lobbyChanged')).toEqual([]);
    const lead2 = enter(room, { ...WANG, sub: 'staff-1003', name: '陈静' });
    expect(lead2.ch.got('lobbyChanged')).toEqual([{ waiting: [ma.p.info] }]);
  });

  it('admitFromLobby: the waiter joins, is sent a snapshot, moderators see the lobby empty', async () => {
    const { room, record } = await openRoom();
    const wang = enter(room, WANG);
    room.setLocked(true, wang.p);
    const ma = enter(room, MA);

    room.admitFromLobby(ma.p.id, wang.p);
    expect(ma.p.state).toBe('joined');
    expect(room.participants()).toEqual([wang.p, ma.p]);
    const [snapshot] = ma.ch.got('admitted');
    expect(snapshot).toMatchObject({
      room: { id: ROOM_ID, kind: 'consultation', caseId: CASE_ID },
      self: ma.p.info,
      roomLocked: true,
      participants: [wang.p.info],
    });
    expect(wang.ch.got('participantJoined')).toEqual([{ participant: ma.p.info }]);
    expect(wang.ch.got('lobbyChanged').at(-1)).toEqual({ waiting: [] });
    const admitted = record.one('lobby_admitted');
    expect(admitted.actor?.name).toBe('王芳');
    expect(admitted.subject?.name).toBe('马丽');
    expect(record.types().slice(-2)).toEqual(['lobby_admitted', 'participant_joined']);
    expect(codeOf(() => room.admitFromLobby(ma.p.id, wang.p))).toBe('WRONG_STATE');
  });

  it('a locked room lets back in whoever was inside or admitted from the lobby; a newcomer still waits', async () => {
    const { room } = await openRoom();
    const wang = enter(room, WANG);
    const zhao = enter(room, ZHAO);
    room.setLocked(true, wang.p);
    const ma = enter(room, MA);
    expect(ma.result).toBe('waiting');
    room.admitFromLobby(ma.p.id, wang.p);
    // Both leave (a reloaded page, a lost connection past its grace) and come back: no second wait.
    room.remove(zhao.p, 'left');
    room.remove(ma.p, 'left');
    expect(enter(room, ZHAO).result).toBe('joined');
    expect(enter(room, MA).result).toBe('joined');
    expect(enter(room, principal('staff-3002', '孙悦', 'care_team', VILLAGE)).result).toBe('waiting');
    // Unlocking forgets who was inside: locked again with nobody but 王芳, 马丽 would wait again.
    room.setLocked(false, wang.p);
    expect(room.durableSnapshot().carry?.lock).toEqual({ locked: false, admitted: [] });
  });

  it('a room moving to another node takes its lock and recording along; the next room takes them over once', async () => {
    const { room } = await openRoom();
    const wang = enter(room, WANG);
    enter(room, ZHAO);
    room.setLocked(true, wang.p);
    const lock = { locked: true, admitted: [WANG.sub, ZHAO.sub] };
    expect(room.durableSnapshot()).toMatchObject({ live: true, carry: { lock, recording: null } });
    room.close('room_moved', 'this consultation continues on another server');
    expect(room.durableSnapshot()).toMatchObject({ live: false, carry: { lock, recording: null } });

    // A room that closes for good (last one out) carries nothing: the next opening starts afresh.
    const { room: other } = await openRoom();
    const li = enter(other, LI);
    other.setLocked(true, li.p);
    other.remove(li.p, 'left');
    expect(other.durableSnapshot()).toMatchObject({ live: false, carry: null });

    // The next node: its memory read from Redis says what the room had when it moved.
    const memory = newRoomMemory();
    memory.carried = { lock, recording: 'session-part-1' };
    const { room: next } = await openRoom('consultation', OPTIONS, memory);
    expect(memory.carried).toBeNull();
    expect(next.locked).toBe(true);
    expect(enter(next, ZHAO).result).toBe('joined');
    expect(enter(next, MA).result).toBe('waiting');
    expect(next.durableSnapshot().carry?.recording).toBe('session-part-1');
    expect(next.takeRecordingToContinue()).toBe('session-part-1');
    expect(next.takeRecordingToContinue()).toBeNull();
  });

  it("declineFromLobby: the waiter's session ends as declined, they never join", async () => {
    const { room, record } = await openRoom();
    const wang = enter(room, WANG);
    room.setLocked(true, wang.p);
    const ma = enter(room, MA);

    room.declineFromLobby(ma.p.id, wang.p);
    expect(ma.ch.ends).toEqual([{ reason: 'declined', message: expect.stringContaining('王芳') as string }]);
    expect(ma.p.state).toBe('closed');
    expect(room.waiting()).toEqual([]);
    expect(room.participants()).toEqual([wang.p]);
    expect(wang.ch.got('lobbyChanged').at(-1)).toEqual({ waiting: [] });
    expect(wang.ch.got('participantLeft')).toEqual([]);
    expect(record.one('lobby_declined')).toMatchObject({ actor: { name: '王芳' }, subject: { name: '马丽' } });
    expect(record.all('participant_left')).toEqual([]);
    expect(room.closed).toBe(false);
  });

  it('the same identity entering again replaces the earlier session, even as the only participant', async () => {
    const { room, record } = await openRoom();
    const first = enter(room, ZHAO);
    const second = enter(room, ZHAO);
    expect(first.ch.ends).toEqual([{ reason: 'replaced', message: expect.any(String) as string }]);
    expect(first.p.state).toBe('closed');
    expect(second.p.state).toBe('joined');
    expect(room.participants()).toEqual([second.p]);
    expect(room.closed).toBe(false);
    expect(record.types()).toEqual(['participant_joined', 'participant_left', 'participant_joined']);
    expect(record.all('participant_left')[0]).toMatchObject({ actor: { participantId: first.p.id }, data: { reason: 'replaced' } });

    const wang = enter(room, WANG);
    const third = enter(room, ZHAO);
    expect(wang.ch.names()).toEqual(['participantLeft', 'participantJoined']);
    expect(wang.ch.got('participantLeft')).toEqual([{ participantId: second.p.id, reason: 'replaced' }]);
    expect(room.participants()).toEqual([wang.p, third.p]);
  });

  it('the same identity arriving again while waiting in the lobby replaces the earlier waiter', async () => {
    const { room } = await openRoom();
    const wang = enter(room, WANG);
    room.setLocked(true, wang.p);
    const first = enter(room, MA);
    const second = enter(room, MA);
    expect(first.ch.ends).toEqual([{ reason: 'replaced', message: expect.any(String) as string }]);
    expect(room.waiting()).toEqual([second.p.info]);
    expect(wang.ch.got('lobbyChanged').at(-1)).toEqual({ waiting: [second.p.info] });
  });

  it('refuses an identity a moderator removed: FORBIDDEN, nobody told, nothing audited', async () => {
    const { room, record, memory } = await openRoom();
    const wang = enter(room, WANG);
    memory.banned.add(ZHAO.sub);
    const zhao = person(ZHAO);
    expect(codeOf(() => room.enter(zhao.p))).toBe('FORBIDDEN');
    expect(zhao.p.state).toBe('waiting');
    expect(room.participants()).toEqual([wang.p]);
    expect(wang.ch.notes).toEqual([]);
    expect(record.types()).toEqual(['participant_joined']);
  });

  it('refuses to enter a closed room: WRONG_STATE', async () => {
    const { room } = await openRoom();
    room.close();
    expect(codeOf(() => room.enter(person(WANG).p))).toBe('WRONG_STATE');
  });
});

// --- Moderation -----------------------------------------------------------------------------------

describe('moderation', () => {
  async function consultation() {
    const opened = await openRoom();
    const wang = enter(opened.room, WANG);
    const zhao = enter(opened.room, ZHAO);
    const ma = enter(opened.room, MA);
    return { ...opened, wang, zhao, ma };
  }

  it("mute pauses that source's producers: others see it paused, the target is told, audited", async () => {
    const { room, record, wang, zhao, ma } = await consultation();
    const mic = publish(room, zhao.p, 'microphone');
    const cam = publish(room, zhao.p, 'camera');

    await room.moderation.mute(zhao.p, 'microphone', wang.p);
    expect(zhao.p.isMutedByModerator('microphone')).toBe(true);
    expect(zhao.p.mutedSources()).toEqual(['microphone']);
    expect(mic.paused).toBe(true);
    expect(cam.paused).toBe(false);
    for (const other of [wang, ma]) expect(other.ch.got('producerPaused')).toEqual([{ producerId: mic.id, participantId: zhao.p.id }]);
    expect(zhao.ch.got('producerPaused')).toEqual([]);
    expect(zhao.ch.got('mutedByModerator')).toEqual([{ source: 'microphone', by: by(wang) }]);
    expect(ma.ch.got('mutedByModerator')).toEqual([]);
    expect(record.one('muted')).toMatchObject({ actor: { name: '王芳' }, subject: { name: '赵磊' }, data: { source: 'microphone' } });
  });

  it('a mute holds for the person: leaving and joining again does not lift it; allowUnmute does', async () => {
    const { room, wang, zhao } = await consultation();
    await room.moderation.mute(zhao.p, 'microphone', wang.p);
    zhao.p.close('left');
    const again = enter(room, ZHAO);
    expect(again.p.mutedSources()).toEqual(['microphone']);
    expect(room.snapshotFor(again.p).mutedByModerator).toEqual(['microphone']);
    expect(codeOf(() => again.p.mayResume('microphone'))).toBe('FORBIDDEN');
    room.moderation.allowUnmute(again.p, 'microphone', wang.p);
    again.p.close('left');
    expect(enter(room, ZHAO).p.mutedSources()).toEqual([]);
  });

  it('a muted source may not be resumed by its owner: FORBIDDEN, and the producer stays paused', async () => {
    const { room, wang, zhao, ma } = await consultation();
    const mic = publish(room, zhao.p, 'microphone');
    await room.moderation.mute(zhao.p, 'microphone', wang.p);

    expect(codeOf(() => zhao.p.mayResume('microphone'))).toBe('FORBIDDEN');
    expect(() => zhao.p.mayResume('camera')).not.toThrow();
    await expect(room.media.setProducerPaused(zhao.p, mic.id, false)).rejects.toMatchObject({ code: 'FORBIDDEN' });
    expect(mic.paused).toBe(true);
    expect(ma.ch.got('producerResumed')).toEqual([]);
  });

  it('allowUnmute lifts the mute: the target is told, audited, and may resume', async () => {
    const { room, record, wang, zhao, ma } = await consultation();
    const mic = publish(room, zhao.p, 'microphone');
    await room.moderation.mute(zhao.p, 'microphone', wang.p);

    room.moderation.allowUnmute(zhao.p, 'microphone', wang.p);
    expect(zhao.p.mutedSources()).toEqual([]);
    expect(zhao.ch.got('unmuteAllowed')).toEqual([{ source: 'microphone', by: by(wang) }]);
    expect(record.one('unmute_allowed')).toMatchObject({
      actor: { name: '王芳' },
      subject: { name: '赵磊' },
      data: { source: 'microphone' },
    });
    // Allowed is not unmuted: the owner resumes when ready.
    expect(mic.paused).toBe(true);
    await room.media.setProducerPaused(zhao.p, mic.id, false);
    expect(mic.paused).toBe(false);
    expect(ma.ch.got('producerResumed')).toEqual([{ producerId: mic.id, participantId: zhao.p.id }]);
  });

  it('allowUnmute of a source that is not muted is BAD_REQUEST and tells no one', async () => {
    const { room, record, wang, zhao } = await consultation();
    expect(codeOf(() => room.moderation.allowUnmute(zhao.p, 'camera', wang.p))).toBe('BAD_REQUEST');
    expect(zhao.ch.got('unmuteAllowed')).toEqual([]);
    expect(record.all('unmute_allowed')).toEqual([]);
  });

  it('stopScreenShare closes the screen producer: owner and others told, audited; BAD_REQUEST without one', async () => {
    const { room, record, wang, zhao, ma } = await consultation();
    const cam = publish(room, zhao.p, 'camera');
    const screen = publish(room, zhao.p, 'screen');
    expect(ma.ch.got('producerAdded').map((n) => n.producer.source)).toEqual(['camera', 'screen']);

    room.moderation.stopScreenShare(zhao.p, wang.p);
    expect(screen.closed).toBe(true);
    expect(cam.closed).toBe(false);
    expect(zhao.p.hasSource('screen')).toBe(false);
    expect(zhao.ch.got('ownProducerClosed')).toEqual([{ producerId: screen.id, source: 'screen', by: by(wang) }]);
    for (const other of [wang, ma]) expect(other.ch.got('producerClosed')).toEqual([{ producerId: screen.id, participantId: zhao.p.id }]);
    expect(record.one('screen_share_stopped')).toMatchObject({ actor: { name: '王芳' }, subject: { name: '赵磊' } });
    expect(record.one('unpublished')).toMatchObject({ actor: { name: '赵磊' }, data: { producerId: screen.id, source: 'screen' } });

    expect(codeOf(() => room.moderation.stopScreenShare(zhao.p, wang.p))).toBe('BAD_REQUEST');
  });

  it("remove ends the target's session, tells the others, audits, and keeps them out", async () => {
    const { room, record, memory, wang, zhao, ma } = await consultation();
    room.moderation.remove(zhao.p, wang.p);

    expect(zhao.p.state).toBe('closed');
    expect(zhao.ch.ends).toEqual([{ reason: 'removed', message: expect.stringContaining('王芳') as string }]);
    expect(room.participants()).toEqual([wang.p, ma.p]);
    for (const other of [wang, ma]) expect(other.ch.got('participantLeft')).toEqual([{ participantId: zhao.p.id, reason: 'removed' }]);
    expect(record.one('removed')).toMatchObject({ actor: { name: '王芳' }, subject: { name: '赵磊', identity: 'staff-2001' } });
    expect(memory.banned.has('staff-2001')).toBe(true);

    expect(codeOf(() => room.enter(person(ZHAO).p))).toBe('FORBIDDEN');
    expect(room.participants()).toEqual([wang.p, ma.p]);
  });

  it('a moderator cannot remove themselves: BAD_REQUEST, nothing changes', async () => {
    const { room, record, memory, wang } = await consultation();
    expect(codeOf(() => room.moderation.remove(wang.p, wang.p))).toBe('BAD_REQUEST');
    expect(wang.p.state).toBe('joined');
    expect(memory.banned.size).toBe(0);
    expect(record.all('removed')).toEqual([]);
  });
});

// --- Publishing and the active speaker ------------------------------------------------------------

describe('publishing', () => {
  it('tells the others, audits, hands the track to the case record, feeds audio to the speaker observer', async () => {
    const { room, record, router } = await openRoom();
    const wang = enter(room, WANG);
    const zhao = enter(room, ZHAO);
    const mic = publish(room, zhao.p, 'microphone');
    const cam = publish(room, zhao.p, 'camera');

    expect(wang.ch.got('producerAdded')).toEqual([
      { producer: { id: mic.id, participantId: zhao.p.id, kind: 'audio', source: 'microphone', paused: false } },
      { producer: { id: cam.id, participantId: zhao.p.id, kind: 'video', source: 'camera', paused: false } },
    ]);
    expect(zhao.ch.got('producerAdded')).toEqual([]);
    expect(record.all('published').map((e) => e.data)).toEqual([
      { producerId: mic.id, source: 'microphone', kind: 'audio' },
      { producerId: cam.id, source: 'camera', kind: 'video' },
    ]);
    expect(record.tracks).toEqual([
      { owner: zhao.p, producerId: mic.id, source: 'microphone' },
      { owner: zhao.p, producerId: cam.id, source: 'camera' },
    ]);
    expect(router.speakerObserver.added).toEqual([mic.id]);
    expect(room.snapshotFor(wang.p).producers.map((p) => p.id)).toEqual([mic.id, cam.id]);
  });

  it('tells everyone the active speaker, and clears it when they leave', async () => {
    const { room, router } = await openRoom();
    const wang = enter(room, WANG);
    const zhao = enter(room, ZHAO);
    router.speakerObserver.dominant(zhao.p.id);
    expect(room.activeSpeakerId).toBe(zhao.p.id);
    expect(wang.ch.got('activeSpeaker')).toEqual([{ participantId: zhao.p.id }]);
    expect(zhao.ch.got('activeSpeaker')).toEqual([{ participantId: zhao.p.id }]);
    zhao.p.close('left');
    expect(room.activeSpeakerId).toBeNull();
    expect(wang.ch.got('activeSpeaker').at(-1)).toEqual({ participantId: null });
  });
});

// --- Hands ----------------------------------------------------------------------------------------

describe('hands', () => {
  async function three() {
    const opened = await openRoom();
    return { ...opened, wang: enter(opened.room, WANG), zhao: enter(opened.room, ZHAO), ma: enter(opened.room, MA) };
  }

  it("raising and lowering one's own hand tells everyone (oneself too) and audits it", async () => {
    const { room, record, wang, zhao, ma } = await three();
    room.setHandRaised(ma.p, true, ma.p);
    expect(ma.p.handRaised).toBe(true);
    for (const s of [wang, zhao, ma]) expect(s.ch.got('handRaised')).toEqual([{ participantId: ma.p.id, raised: true }]);
    expect(record.one('hand_raised')).toMatchObject({ actor: { name: '马丽', siteName: '红旗村卫生室' } });
    expect(record.one('hand_raised').subject).toBeUndefined();
    expect(room.snapshotFor(wang.p).raisedHands).toEqual([ma.p.id]);

    room.setHandRaised(ma.p, true, ma.p); // already up: nothing happens
    expect(wang.ch.got('handRaised')).toHaveLength(1);
    expect(record.all('hand_raised')).toHaveLength(1);

    room.setHandRaised(ma.p, false, ma.p);
    expect(wang.ch.got('handRaised').at(-1)).toEqual({ participantId: ma.p.id, raised: false });
    expect(record.one('hand_lowered')).toMatchObject({ actor: { name: '马丽' } });
    expect(record.one('hand_lowered').subject).toBeUndefined();
  });

  it("raising someone else's hand is BAD_REQUEST", async () => {
    const { room, record, wang, ma } = await three();
    expect(codeOf(() => room.setHandRaised(ma.p, true, wang.p))).toBe('BAD_REQUEST');
    expect(ma.p.handRaised).toBe(false);
    expect(ma.ch.got('handRaised')).toEqual([]);
    expect(record.all('hand_raised')).toEqual([]);
  });

  it("lowering someone else's hand works and names both in the audit", async () => {
    const { room, record, wang, zhao, ma } = await three();
    room.setHandRaised(ma.p, true, ma.p);
    room.setHandRaised(ma.p, false, wang.p);
    expect(ma.p.handRaised).toBe(false);
    for (const s of [wang, zhao, ma]) expect(s.ch.got('handRaised').at(-1)).toEqual({ participantId: ma.p.id, raised: false });
    expect(record.one('hand_lowered')).toMatchObject({ actor: { name: '王芳' }, subject: { name: '马丽' } });
  });
});

// --- Chat -----------------------------------------------------------------------------------------

describe('chat', () => {
  it('tells the others, not the author, and writes the text to the audit trail', async () => {
    const { room, record } = await openRoom();
    const wang = enter(room, WANG);
    const zhao = enter(room, ZHAO);
    const ma = enter(room, MA);
    const text = '患者血压 150/95，建议调整降压药';
    const message = room.postChat(zhao.p, text);

    const author = { participantId: zhao.p.id, displayName: '赵磊', role: 'clinic_doctor', siteName: '安平县医院' };
    expect(message).toMatchObject({ ...author, text });
    expect(wang.ch.got('chatMessage')).toEqual([{ message }]);
    expect(ma.ch.got('chatMessage')).toEqual([{ message }]);
    expect(zhao.ch.got('chatMessage')).toEqual([]);
    expect(record.one('chat')).toMatchObject({ actor: { name: '赵磊' }, data: { messageId: message.id, text } });
    expect(room.snapshotFor(ma.p).chat).toEqual([message]);
  });

  it('refuses a burst beyond the rate limit: TOO_MANY_REQUESTS, not sent, not audited', async () => {
    const { room, record } = await openRoom();
    const wang = enter(room, WANG);
    const zhao = enter(room, ZHAO);
    for (let i = 1; i <= 5; i++) room.postChat(zhao.p, `第${i}条`);
    expect(codeOf(() => room.postChat(zhao.p, '第6条'))).toBe('TOO_MANY_REQUESTS');
    expect(wang.ch.got('chatMessage')).toHaveLength(5);
    expect(record.all('chat')).toHaveLength(5);
    // 王芳 is not slowed down by 赵磊's burst.
    expect(room.postChat(wang.p, '收到').text).toBe('收到');
  });

  it('keys the rate limit by identity: leaving and rejoining, even into a reopened room, does not reset it', async () => {
    const memory = newRoomMemory();
    const first = await openRoom('consultation', OPTIONS, memory);
    enter(first.room, WANG);
    let zhao = enter(first.room, ZHAO);
    for (let i = 1; i <= 3; i++) first.room.postChat(zhao.p, `第${i}条`);
    zhao.p.close('left');
    zhao = enter(first.room, ZHAO);
    first.room.postChat(zhao.p, '第4条');
    first.room.close();
    // The room closed and opened again (same memory): 赵磊 still has one message left in the window.
    const second = await openRoom('consultation', OPTIONS, memory);
    zhao = enter(second.room, ZHAO);
    second.room.postChat(zhao.p, '第5条');
    expect(codeOf(() => second.room.postChat(zhao.p, '第6条'))).toBe('TOO_MANY_REQUESTS');
  });

  it('a joiner gets the latest `chatOnJoin` messages; the rest is paged', async () => {
    const { room } = await openRoom('consultation', { ...OPTIONS, chatOnJoin: 3 });
    const wang = enter(room, WANG);
    vi.useFakeTimers();
    const sent: string[] = [];
    for (let i = 1; i <= 7; i++) {
      sent.push(room.postChat(wang.p, `消息${i}`).id);
      vi.advanceTimersByTime(1000);
    }
    const li = enter(room, LI);
    const snapshot = room.snapshotFor(li.p);
    expect(snapshot.chat.map((m) => m.text)).toEqual(['消息5', '消息6', '消息7']);
    expect(snapshot.chatHasMore).toBe(true);
    const older = room.chat.page(snapshot.chat[0]!.id, 3);
    expect(older.messages.map((m) => m.text)).toEqual(['消息2', '消息3', '消息4']);
    expect(older).toMatchObject({ hasMore: true });
    expect(room.chat.page(older.messages[0]!.id, 3)).toMatchObject({ messages: [{ id: sent[0] }], hasMore: false });
  });
});

// --- Reconnecting ---------------------------------------------------------------------------------

describe('reconnecting', () => {
  async function pair() {
    const opened = await openRoom();
    return { ...opened, wang: enter(opened.room, WANG), zhao: enter(opened.room, ZHAO) };
  }

  it('a dropped connection suspends: the others are told reconnecting, audited, they stay in the room', async () => {
    const { room, record, wang, zhao } = await pair();
    room.connectionLost(zhao.p, false);
    expect(zhao.p.state).toBe('suspended');
    expect(room.participants()).toEqual([wang.p, zhao.p]);
    expect(wang.ch.got('participantConnection')).toEqual([{ participantId: zhao.p.id, state: 'reconnecting' }]);
    expect(wang.ch.got('participantLeft')).toEqual([]);
    expect(record.one('participant_reconnecting').actor?.name).toBe('赵磊');
    // Nothing is sent down a dead connection.
    room.postChat(wang.p, '赵医生，还在吗？');
    expect(zhao.ch.got('chatMessage')).toEqual([]);
    room.close();
  });

  it('resume reattaches: the old channel is closed, the others told connected, a snapshot returned', async () => {
    vi.useFakeTimers();
    const { room, record, wang, zhao } = await pair();
    room.connectionLost(zhao.p, false);
    const again = new FakeChannel();
    const snapshot = room.resume(zhao.p, again);

    expect(zhao.p.state).toBe('joined');
    expect(zhao.ch.closes).toBe(1);
    expect(again.closes).toBe(0);
    expect(wang.ch.got('participantConnection').at(-1)).toEqual({ participantId: zhao.p.id, state: 'connected' });
    expect(snapshot).toMatchObject({
      self: zhao.p.info,
      participants: [wang.p.info],
      resumeToken: zhao.p.resumeToken,
      reconnectGraceSeconds: 0.05,
    });
    expect(record.one('participant_resumed').actor?.name).toBe('赵磊');
    room.postChat(wang.p, '欢迎回来');
    expect(again.got('chatMessage')).toHaveLength(1);
    expect(zhao.ch.got('chatMessage')).toEqual([]);
    // The grace timer was cancelled: nothing expires later.
    vi.advanceTimersByTime(1000);
    expect(zhao.p.state).toBe('joined');
    expect(wang.ch.got('participantLeft')).toEqual([]);
  });

  it('resume of a connection that had not dropped yet closes the old one, without a connected notice', async () => {
    const { room, wang, zhao } = await pair();
    const again = new FakeChannel();
    room.resume(zhao.p, again);
    expect(zhao.ch.closes).toBe(1);
    expect(wang.ch.got('participantConnection')).toEqual([]);
    expect(zhao.p.attachedTo(again)).toBe(true);
  });

  it('an intentional disconnect removes at once: the others are told left', async () => {
    const { room, record, wang, zhao } = await pair();
    room.connectionLost(zhao.p, true);
    expect(zhao.p.state).toBe('closed');
    expect(zhao.ch.ends).toEqual([]);
    expect(room.participants()).toEqual([wang.p]);
    expect(wang.ch.got('participantLeft')).toEqual([{ participantId: zhao.p.id, reason: 'disconnected' }]);
    expect(record.one('participant_left')).toMatchObject({ actor: { name: '赵磊' }, data: { reason: 'disconnected' } });
  });

  it('when the grace period expires the participant is closed and the others told they left', async () => {
    vi.useFakeTimers();
    const { room, record, wang, zhao } = await pair();
    room.connectionLost(zhao.p, false);
    vi.advanceTimersByTime(49);
    expect(zhao.p.state).toBe('suspended');
    expect(wang.ch.got('participantLeft')).toEqual([]);

    vi.advanceTimersByTime(1);
    expect(zhao.p.state).toBe('closed');
    expect(room.participants()).toEqual([wang.p]);
    expect(wang.ch.got('participantLeft')).toEqual([{ participantId: zhao.p.id, reason: 'disconnected' }]);
    expect(record.one('participant_left')).toMatchObject({ actor: { name: '赵磊' }, data: { reason: 'disconnected' } });
    expect(codeOf(() => room.resume(zhao.p, new FakeChannel()))).toBe('WRONG_STATE');
  });

  it('a lobby waiter whose connection drops leaves the lobby at once', async () => {
    const { room } = await openRoom();
    const wang = enter(room, WANG);
    room.setLocked(true, wang.p);
    const ma = enter(room, MA);
    room.connectionLost(ma.p, false);
    expect(ma.p.state).toBe('closed');
    expect(room.waiting()).toEqual([]);
    expect(wang.ch.got('lobbyChanged').at(-1)).toEqual({ waiting: [] });
  });
});

// --- Closing --------------------------------------------------------------------------------------

describe('closing', () => {
  it('close() closes every participant and lobby waiter once, audits, closes the router, emits closed once', async () => {
    const { room, record, router } = await openRoom();
    const wang = enter(room, WANG);
    const zhao = enter(room, ZHAO);
    room.setLocked(true, wang.p);
    const ma = enter(room, MA);
    let closedEvents = 0;
    room.on('closed', () => closedEvents++);

    room.close('room_closed', 'the server is shutting down');
    room.close();
    for (const s of [wang, zhao, ma]) {
      expect(s.p.state).toBe('closed');
      expect(s.ch.ends).toEqual([{ reason: 'room_closed', message: 'the server is shutting down' }]);
    }
    expect(room.closed).toBe(true);
    expect(room.participants()).toEqual([]);
    expect(record.one('room_closed')).toMatchObject({ data: { message: 'the server is shutting down' } });
    expect(record.all('participant_left')).toHaveLength(2);
    expect(router.closed).toBe(true);
    expect(router.closeCalls).toBe(1);
    expect(router.listenerErrors).toEqual([]);
    expect(closedEvents).toBe(1);
  });

  it('end() by the lead ends it for good: audited with the lead, and the room cannot be created again', async () => {
    const { room, record, memory, pool } = await openRoom();
    const wang = enter(room, WANG);
    const zhao = enter(room, ZHAO);
    room.end(wang.p);
    expect(zhao.ch.ends).toEqual([{ reason: 'room_ended', message: '王芳 ended the consultation' }]);
    expect(record.one('room_ended').actor?.name).toBe('王芳');
    expect(record.all('room_closed')).toEqual([]);
    expect(memory.ended).toBe(true);
    const again = {
      pool: pool as unknown as WorkerPool,
      options: OPTIONS,
      memory,
      openCaseRecord: () => new FakeCaseRecord(),
      log: silent,
    };
    await expect(Room.create({ id: ROOM_ID, kind: 'consultation', caseId: CASE_ID }, again)).rejects.toMatchObject({ code: 'WRONG_STATE' });
  });

  it('the last participant leaving closes the room (linger 0)', async () => {
    const { room, record, router } = await openRoom();
    const wang = enter(room, WANG);
    const zhao = enter(room, ZHAO);
    let closedEvents = 0;
    room.on('closed', () => closedEvents++);

    zhao.p.close('left');
    expect(room.closed).toBe(false);
    expect(wang.ch.got('participantLeft')).toEqual([{ participantId: zhao.p.id, reason: 'left' }]);
    wang.p.close('left');
    expect(room.closed).toBe(true);
    expect(router.closed).toBe(true);
    expect(closedEvents).toBe(1);
    expect(record.types().slice(-3)).toEqual(['participant_left', 'participant_left', 'room_closed']);
    expect(wang.ch.ends).toEqual([]);
  });

  it('an empty room lingers: someone coming back finds the same room; it closes once empty for the whole linger', async () => {
    vi.useFakeTimers();
    const { room, record, router } = await openRoom('consultation', { ...OPTIONS, emptyLingerSeconds: 10 });
    const wang = enter(room, WANG);
    wang.p.close('left');
    vi.advanceTimersByTime(9_000);
    expect(room.closed).toBe(false);
    // 王芳 reloads her page: the same room, and the linger is cancelled while she is in it.
    const back = enter(room, WANG);
    vi.advanceTimersByTime(60_000);
    expect(room.closed).toBe(false);
    back.p.close('left');
    vi.advanceTimersByTime(9_999);
    expect(room.closed).toBe(false);
    vi.advanceTimersByTime(1);
    expect(room.closed).toBe(true);
    expect(router.closed).toBe(true);
    expect(record.one('room_closed')).toMatchObject({ data: { message: 'the room was empty for 10 s' } });
    expect(record.all('participant_joined')).toHaveLength(2);
  });

  it('a lingering room closes at once on close() (shutdown) and leaves no timer behind', async () => {
    vi.useFakeTimers();
    const { room, record } = await openRoom('consultation', { ...OPTIONS, emptyLingerSeconds: 10 });
    enter(room, WANG).p.close('left');
    room.close('room_closed', 'the server is shutting down');
    expect(room.closed).toBe(true);
    vi.advanceTimersByTime(20_000);
    expect(record.all('room_closed')).toHaveLength(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a router that closes under the room (its worker died) closes the room for everyone', async () => {
    const { room, router } = await openRoom();
    const wang = enter(room, WANG);
    router.close();
    expect(room.closed).toBe(true);
    expect(wang.ch.ends).toEqual([{ reason: 'room_closed', message: expect.stringContaining('media server process') as string }]);
    expect(router.listenerErrors).toEqual([]);
  });
});

// --- HLS output -----------------------------------------------------------------------------------

describe('setHlsOutput', () => {
  const URL = `/hls/${ROOM_ID}/index.m3u8`;

  it('started by a moderator: everyone told, audited with the url', async () => {
    const { room, record } = await openRoom();
    const wang = enter(room, WANG);
    const zhao = enter(room, ZHAO);
    room.setHlsOutput(URL, wang.p);
    expect(room.hlsUrl).toBe(URL);
    for (const s of [wang, zhao]) expect(s.ch.got('hlsChanged')).toEqual([{ url: URL }]);
    expect(record.one('hls_started')).toMatchObject({ actor: { name: '王芳' }, data: { url: URL } });
    expect(room.snapshotFor(zhao.p).hlsUrl).toBe(URL);
  });

  it('stopped by a moderator: everyone told, audited hls_stopped', async () => {
    const { room, record } = await openRoom();
    const wang = enter(room, WANG);
    const zhao = enter(room, ZHAO);
    room.setHlsOutput(URL, wang.p);
    room.setHlsOutput(null, wang.p);
    expect(room.hlsUrl).toBeNull();
    expect(zhao.ch.got('hlsChanged').at(-1)).toEqual({ url: null });
    expect(record.one('hls_stopped').actor?.name).toBe('王芳');
  });

  it('ended on its own (no moderator): everyone told, no hls_stopped audit', async () => {
    const { room, record } = await openRoom();
    const wang = enter(room, WANG);
    room.setHlsOutput(URL, wang.p);
    room.setHlsOutput(null);
    expect(wang.ch.got('hlsChanged')).toEqual([{ url: URL }, { url: null }]);
    expect(record.all('hls_stopped')).toEqual([]);
  });
});

// --- Visibility -----------------------------------------------------------------------------------

describe('line grades', () => {
  it('are pushed when they change; a late joiner finds the latest ones in the join answer', async () => {
    vi.useFakeTimers();
    const { room } = await openRoom();
    const wang = enter(room, WANG);
    const zhao = enter(room, ZHAO);
    publish(room, wang.p, 'camera');
    publish(room, zhao.p, 'camera').stats.fractionLost = 64; // 25 % lost on the county hospital's line
    await vi.advanceTimersByTimeAsync(5000);
    const graded = [
      { participantId: wang.p.id, quality: 'good', rttMs: null, lossPercent: 0 },
      { participantId: zhao.p.id, quality: 'poor', rttMs: null, lossPercent: 25 },
    ];
    expect(wang.ch.got('connectionQuality')).toEqual(graded);

    const li = enter(room, LI);
    expect(room.snapshotFor(li.p).lineQuality).toEqual(graded);
    await vi.advanceTimersByTimeAsync(5000);
    // Unchanged grades are not sent again: 李强 only learns his own first grade.
    expect(li.ch.got('connectionQuality').map((r) => r.participantId)).toEqual([li.p.id]);
    expect(wang.ch.got('connectionQuality')).toHaveLength(3);

    zhao.p.close('left');
    expect(room.snapshotFor(li.p).lineQuality.map((r) => r.participantId)).toEqual([wang.p.id, li.p.id]);
    room.close();
  });

  it("in a broadcast a viewer's join answer has the presenters' grades, not other viewers'", async () => {
    vi.useFakeTimers();
    const { room } = await openRoom('broadcast');
    const wang = enter(room, WANG);
    publish(room, wang.p, 'camera');
    const viewer = enter(room, { ...ZHAO, role: 'viewer' });
    await vi.advanceTimersByTimeAsync(5000);
    const late = enter(room, { ...MA, role: 'viewer' });
    expect(room.snapshotFor(late.p).lineQuality.map((r) => r.participantId)).toEqual([wang.p.id]);
    expect(viewer.ch.got('connectionQuality').map((r) => r.participantId)).toEqual([wang.p.id]);
    room.close();
  });
});

describe('visibility in a broadcast', () => {
  it('viewers are not told about each other; the chair sees everyone', async () => {
    const { room } = await openRoom('broadcast');
    const wang = enter(room, WANG);
    const zhao = enter(room, { ...ZHAO, role: 'viewer' });
    const ma = enter(room, { ...MA, role: 'viewer' });
    expect(room.sees(zhao.p, ma.p)).toBe(false);
    expect(room.sees(zhao.p, wang.p)).toBe(true);
    expect(room.sees(wang.p, ma.p)).toBe(true);
    expect(zhao.ch.got('participantJoined')).toEqual([]);
    expect(wang.ch.got('participantJoined').map((n) => n.participant.displayName)).toEqual(['赵磊', '马丽']);
    expect(room.snapshotFor(ma.p).participants.map((p) => p.displayName)).toEqual(['王芳']);
    room.close(); // stops the audience's viewer-count timer
  });

  it('runs no active-speaker observer: the presenter is on screen, and no viewer is told each change of voice', async () => {
    const { room, router } = await openRoom('broadcast');
    const wang = enter(room, WANG);
    const viewer = enter(room, { ...ZHAO, role: 'viewer' });
    const mic = publish(room, wang.p, 'microphone');
    expect(router.speakerObserver.added).toEqual([]);
    router.speakerObserver.dominant(wang.p.id); // as if one existed: nobody listens
    expect(room.activeSpeakerId).toBeNull();
    expect(viewer.ch.got('activeSpeaker')).toEqual([]);
    expect(room.snapshotFor(viewer.p).producers.map((p) => p.id)).toEqual([mic.id]);
    room.close();
  });
});

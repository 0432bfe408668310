/**
 * Hostile signaling messages from a seeded PRNG: every request of the protocol and names it does not
 * have, with payloads made from a valid sample by one mutation — wrong types, missing and extra
 * fields, huge strings, deep nesting, arrays of thousands, numbers JSON cannot carry, prototype keys,
 * control characters, CR/LF, Chinese text, emoji and lone UTF-16 surrogates in every string — or not
 * an object at all, or no payload, or extra arguments, or no ack. The same seed gives the same
 * sequence of choices (the ids a sample refers to come from what the server answered so far).
 *
 * Everything generated fits under Socket.IO's 64 KB message limit (the server's maxHttpBufferSize):
 * a larger message closes the socket before any handler sees it, which tests nothing of ours.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { REQUEST_NAMES, type RequestName, type WireRtpCapabilities } from '../../signaling/protocol/index.js';
import { fakeRtpParameters, fakeSimulcastParameters } from '../helpers/signalingClient.js';

/** mulberry32: a tiny, well-mixed 32-bit PRNG; reproducible from its seed. */
export class Rng {
  #state: number;

  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    let t = (this.#state = (this.#state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** An integer in [min, max]. */
  between(min: number, max: number): number {
    return min + this.int(max - min + 1);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from nothing');
    return items[this.int(items.length)]!;
  }

  weighted<T>(entries: readonly (readonly [T, number])[]): T {
    let r = this.next() * entries.reduce((n, [, w]) => n + w, 0);
    for (const [value, weight] of entries) if ((r -= weight) < 0) return value;
    return entries.at(-1)![0];
  }
}

/** What the server has handed out so far (any socket's): the ids a "valid" sample refers to. */
export interface IdPools {
  participantId: Set<string>;
  transportId: Set<string>;
  producerId: Set<string>;
  consumerId: Set<string>;
  questionId: Set<string>;
  messageId: Set<string>;
  sessionId: Set<string>;
  resume: { participantId: string; resumeToken: string }[];
}

export function emptyPools(): IdPools {
  return {
    participantId: new Set(),
    transportId: new Set(),
    producerId: new Set(),
    consumerId: new Set(),
    questionId: new Set(),
    messageId: new Set(),
    sessionId: new Set(),
    resume: [],
  };
}

/** Keys whose `id` names a known kind of thing, wherever they appear in an answer or a notification. */
const ID_OWNERS: Record<string, keyof Omit<IdPools, 'resume'>> = {
  self: 'participantId',
  participant: 'participantId',
  participants: 'participantId',
  waiting: 'participantId',
  producer: 'producerId',
  producers: 'producerId',
  question: 'questionId',
  questions: 'questionId',
  message: 'messageId',
  messages: 'messageId',
  chat: 'messageId',
};

/**
 * Collects every id in `value` (an ack's data or a notification): fields named like a pool
 * (`producerId`…), `id` under a known owner (`self.id`, `producers[].id`…), `resumeToken` with its
 * participant. `owner` names what an `id` at the top belongs to (e.g. createTransport's answer).
 */
export function harvestIds(pools: IdPools, value: unknown, owner?: keyof Omit<IdPools, 'resume'>): void {
  if (Array.isArray(value)) {
    for (const item of value) harvestIds(pools, item, owner);
    return;
  }
  if (typeof value !== 'object' || value === null) return;
  const record = value as Record<string, unknown>;
  for (const [key, v] of Object.entries(record)) {
    if (typeof v === 'string') {
      if (key === 'id' && owner) pools[owner].add(v);
      else if (key !== 'resume' && Object.hasOwn(pools, key)) pools[key as keyof Omit<IdPools, 'resume'>].add(v);
    } else {
      harvestIds(pools, v, Object.hasOwn(ID_OWNERS, key) ? ID_OWNERS[key] : undefined);
    }
  }
  const self = record['self'] as { id?: unknown } | undefined;
  if (typeof record['resumeToken'] === 'string' && typeof self?.id === 'string') {
    pools.resume.push({ participantId: self.id, resumeToken: record['resumeToken'] });
  }
}

// ---------------------------------------------------------------------------------------------
// Strings

const CONTROL = [...Array.from({ length: 32 }, (_, i) => String.fromCharCode(i)), '\u007f', '\u0085', '\u2028', '\u2029'];
const FRAGMENTS = [
  '王芳',
  '省肿瘤医院',
  '赵磊',
  '安平县医院',
  '马丽',
  '红旗村卫生室',
  '会诊意见：建议手术',
  '🩺',
  '👩‍⚕️',
  '🏥💉',
  '\ud800', // lone high surrogate
  '\udfff', // lone low surrogate
  'x\ud83d', // a high surrogate cut from its pair
  '\udc00\ud800', // a reversed pair
  '\r\n',
  '\n',
  '\r',
  '\u0000',
  '\ufeff',
  '\u200b',
  '\u202e', // right-to-left override
  '<script>alert(1)</script>',
  "'; DROP TABLE rooms;--",
  '../../../etc/passwd',
  '%s%n%x',
  '${process.exit(1)}',
  '__proto__',
  'constructor',
  'a=fmtp:101 x\r\nm=video 9 RTP/AVP 96',
  ' ',
  '\t',
];

/** A short string of hostile pieces: control characters, CR/LF, Chinese, emoji, lone surrogates. */
export function hostileString(rng: Rng): string {
  const parts: string[] = [];
  for (let n = rng.between(1, 6); n > 0; n--) parts.push(rng.chance(0.35) ? rng.pick(CONTROL) : rng.pick(FRAGMENTS));
  return parts.join('');
}

/** `text` with control characters and CR/LF slipped in at random places. */
export function taint(rng: Rng, text: string): string {
  const chars = [...text];
  for (let n = rng.between(1, 3); n > 0; n--) chars.splice(rng.int(chars.length + 1), 0, rng.pick(['\r\n', '\n', '\r', ...CONTROL]));
  return chars.join('');
}

/** About `bytes` bytes of UTF-8 (as JSON on the wire: a lone surrogate costs 6), mixed scripts. */
export function hugeString(rng: Rng, bytes: number): string {
  const unit = rng.pick(['a', '王', '🩺', 'x\r\n', '\ud800', '省肿瘤医院 ']);
  const unitBytes = Buffer.byteLength(JSON.stringify(unit)) - 2;
  return unit.repeat(Math.max(1, Math.floor(bytes / unitBytes)));
}

// ---------------------------------------------------------------------------------------------
// Values

/** Numbers a schema must refuse or JSON cannot carry (NaN and ±Infinity arrive as null). */
const BAD_NUMBERS = [
  NaN,
  Infinity,
  -Infinity,
  -1,
  -0,
  0.5,
  1e308,
  -1e308,
  2 ** 31,
  2 ** 32,
  2 ** 53 + 2,
  -(2 ** 53),
  Number.MIN_VALUE,
  128,
  65536,
];

export function hostileScalar(rng: Rng): unknown {
  switch (rng.int(8)) {
    case 0:
      return rng.pick(BAD_NUMBERS);
    case 1:
      return rng.pick([true, false]);
    case 2:
      return null;
    case 3:
      return hostileString(rng);
    case 4:
      return '';
    case 5:
      return rng.int(2 ** 31);
    case 6:
      return {};
    default:
      return [];
  }
}

/** An own property, even for `__proto__` (plain assignment would change the prototype instead). */
function defineOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/** Keys that have tripped merge and clone code before. */
const PROTO_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__'];

function protoBomb(rng: Rng): Record<string, unknown> {
  const bomb: Record<string, unknown> = {};
  defineOwn(bomb, '__proto__', { polluted: 'yes', isAdmin: true });
  defineOwn(bomb, 'constructor', { prototype: { polluted: 'yes' } });
  if (rng.chance(0.5)) defineOwn(bomb, rng.pick(PROTO_KEYS), rng.chance(0.5) ? 'yes' : { polluted: 'yes' });
  return bomb;
}

/** Nested arrays and objects; V8's JSON.stringify (which Socket.IO uses) gives up a little beyond 3,000 levels. */
function deepNesting(rng: Rng, depth: number): unknown {
  let value: unknown = rng.chance(0.5) ? hostileString(rng) : 1;
  for (let i = 0; i < depth; i++) value = rng.chance(0.5) ? [value] : { a: value };
  return value;
}

function bigArray(rng: Rng, budget: number): unknown[] {
  const element = rng.pick<unknown>([0, 4294967295, '', 'x', {}, [], null, { ssrc: 1 }, { type: 'nack' }]);
  const size = Buffer.byteLength(JSON.stringify(element)) + 1;
  const count = Math.min(rng.between(1000, 20_000), Math.floor(budget / size));
  return Array.from({ length: Math.max(1, count) }, () => element);
}

// ---------------------------------------------------------------------------------------------
// Valid samples

export interface SampleContext {
  /** Ids the server handed to any socket of the run, and to this one. */
  pools: IdPools;
  own: IdPools;
  caps: WireRtpCapabilities;
  /** This socket's room, and another one (for requests naming a room). */
  room: string;
  otherRoom: string;
  /** This socket's participant id, if it has one. */
  selfId: string | undefined;
}

type PoolName = keyof Omit<IdPools, 'resume'>;

/**
 * Mostly an id this socket was handed (so requests reach the media layer), else one someone else
 * was handed (other people's transports and producers), sometimes one the server never handed out.
 */
function known(rng: Rng, ctx: SampleContext, pool: PoolName): string {
  // The latest ones: older ids mostly belong to what has closed since.
  const own = [...ctx.own[pool]].slice(-12);
  const all = [...ctx.pools[pool]].slice(-24);
  if (own.length > 0 && rng.chance(0.6)) return rng.pick(own);
  if (all.length > 0 && rng.chance(0.85)) return rng.pick(all);
  return rng.pick([randomUUID(), 'x', '0'.repeat(64)]);
}

const fingerprint = (): string =>
  randomBytes(32)
    .toString('hex')
    .toUpperCase()
    .replace(/(..)(?!$)/g, '$1:');

/** A payload the schema accepts for `name` (whether the server then agrees is another matter). */
export function validSample(rng: Rng, name: RequestName, ctx: SampleContext): Record<string, unknown> {
  const p = ctx.pools;
  const ssrc = rng.between(1, 2 ** 32 - 1);
  switch (name) {
    case 'getRouterRtpCapabilities':
    case 'leave':
    case 'endRoom':
    case 'startHls':
    case 'stopHls':
    case 'startRecording':
    case 'stopRecording':
      return {};
    case 'join':
      return { rtpCapabilities: ctx.caps, ...(rng.chance(0.3) ? { roomId: rng.chance(0.5) ? ctx.room : ctx.otherRoom } : {}) };
    case 'createTransport':
      return { direction: rng.pick(['send', 'recv']), ...(rng.chance(0.3) ? { forceTcp: rng.chance(0.5) } : {}) };
    case 'prepareReceive':
      // With the capabilities (the room's tracks made ahead) or without; no draw added (seeds keep their streams).
      return rng.chance(0.3) ? { forceTcp: rng.chance(0.5) } : { rtpCapabilities: ctx.caps };
    case 'connectTransport':
    case 'connectPrepared':
      return {
        transportId: known(rng, ctx, 'transportId'),
        dtlsParameters: { role: rng.pick(['client', 'server', 'auto']), fingerprints: [{ algorithm: 'sha-256', value: fingerprint() }] },
      };
    case 'restartIce':
    case 'closeTransport':
      return { transportId: known(rng, ctx, 'transportId') };
    case 'produce': {
      const kind = rng.pick(['audio', 'video'] as const);
      const source = kind === 'audio' ? 'microphone' : rng.pick(['camera', 'screen'] as const);
      const rtpParameters = kind === 'video' && rng.chance(0.5) ? fakeSimulcastParameters(ssrc) : fakeRtpParameters(kind, ssrc);
      return { transportId: known(rng, ctx, 'transportId'), kind, source, rtpParameters, ...(rng.chance(0.3) ? { paused: true } : {}) };
    }
    case 'closeProducer':
    case 'pauseProducer':
    case 'resumeProducer':
      return { producerId: known(rng, ctx, 'producerId') };
    case 'consume':
      return { producerId: known(rng, ctx, 'producerId'), transportId: known(rng, ctx, 'transportId') };
    case 'resumeConsumer':
    case 'pauseConsumer':
      return { consumerId: known(rng, ctx, 'consumerId') };
    case 'setPreferredLayers':
      return {
        consumerId: known(rng, ctx, 'consumerId'),
        spatialLayer: rng.int(4),
        ...(rng.chance(0.5) ? { temporalLayer: rng.int(4) } : {}),
      };
    case 'resume': {
      const pair = p.resume.length > 0 && rng.chance(0.8) ? rng.pick(p.resume) : undefined;
      return pair ? { ...pair } : { participantId: randomUUID(), resumeToken: randomBytes(24).toString('hex') };
    }
    case 'setRoomLocked':
      return { locked: rng.chance(0.5) };
    case 'admit':
    case 'decline':
    case 'stopScreenShare':
      return { participantId: known(rng, ctx, 'participantId') };
    case 'removeParticipant':
      // Never someone else of the run: a removal bans that identity from the room for the token's
      // lifetime, and the rest of the run would then probe only the "not joined" state. The refusals
      // (yourself, an unknown id, no permission) are what is fuzzed here.
      return { participantId: rng.chance(0.5) && ctx.selfId ? ctx.selfId : randomUUID() };
    case 'muteParticipant':
    case 'allowUnmute':
      return { participantId: known(rng, ctx, 'participantId'), source: rng.pick(['microphone', 'camera']) };
    case 'setHandRaised':
      return { raised: rng.chance(0.5), ...(rng.chance(0.3) ? { participantId: known(rng, ctx, 'participantId') } : {}) };
    case 'sendChat':
      return { text: rng.chance(0.5) ? hostileString(rng) : rng.pick(['病理切片已上传', '请放大第三张图', '收到 👍', 'CT 显示 2cm 结节']) };
    case 'chatHistory':
      return {
        ...(rng.chance(0.5) ? { before: known(rng, ctx, 'messageId') } : {}),
        ...(rng.chance(0.5) ? { limit: rng.between(1, 100) } : {}),
      };
    case 'askQuestion':
      return { text: rng.chance(0.5) ? hostileString(rng) : '术后多久可以复查？' };
    case 'updateQuestion':
      return { questionId: known(rng, ctx, 'questionId'), status: rng.pick(['approved', 'hidden', 'answered']) };
    case 'setOnStage':
      return { participantId: known(rng, ctx, 'participantId'), onStage: rng.chance(0.5) };
    case 'acknowledgeRecording':
      return { sessionId: known(rng, ctx, 'sessionId') };
    case 'preflight':
      // Test ids are never handed to the pools: these probe the refusals (unknown test, bounds).
      return rng.pick([
        { step: 'ping' },
        { step: 'open', path: rng.pick(['udp', 'tcp', 'relay']) },
        { step: 'report', testId: randomUUID() },
        { step: 'produce', testId: randomUUID(), kind: 'audio', rtpParameters: fakeRtpParameters('audio', ssrc) },
      ]);
    case 'createIngest':
      return { protocol: 'whip', name: rng.chance(0.5) ? hostileString(rng) : '健康教育演播室' };
    case 'listIngests':
      return {};
    case 'revokeIngest':
      return { ingestId: randomUUID() };
  }
}

// ---------------------------------------------------------------------------------------------
// Mutations of a sample

type Path = (string | number)[];

/** Paths to every node below the root (at most `limit`), depth first. */
function pathsOf(value: unknown, limit = 200): Path[] {
  const out: Path[] = [];
  const walk = (v: unknown, path: Path): void => {
    if (out.length >= limit || typeof v !== 'object' || v === null) return;
    for (const key of Array.isArray(v) ? v.keys() : Object.keys(v)) {
      const next = [...path, key];
      out.push(next);
      walk((v as Record<string | number, unknown>)[key], next);
    }
  };
  walk(value, []);
  return out;
}

function parentOf(root: unknown, path: Path): Record<string | number, unknown> {
  let node = root as Record<string | number, unknown>;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  return node;
}

function setAt(root: unknown, path: Path, value: unknown): void {
  const parent = parentOf(root, path);
  const key = path.at(-1)!;
  if (typeof key === 'string') defineOwn(parent as Record<string, unknown>, key, value);
  else parent[key] = value;
}

function deleteAt(root: unknown, path: Path): void {
  const parent = parentOf(root, path);
  const key = path.at(-1)!;
  if (Array.isArray(parent) && typeof key === 'number') parent.splice(key, 1);
  else delete parent[key];
}

/** Applies `f` to every string in `value` (keys included), returning a new value. */
function mapStrings(value: unknown, f: (s: string) => string): unknown {
  if (typeof value === 'string') return f(value);
  if (Array.isArray(value)) return value.map((v) => mapStrings(v, f));
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) defineOwn(out, f(k), mapStrings(v, f));
  return out;
}

/** A node of `root` to change: a random path, or a new key at the top when there is none. */
function somePath(rng: Rng, root: Record<string, unknown>): Path {
  const paths = pathsOf(root);
  return paths.length > 0 && rng.chance(0.85) ? rng.pick(paths) : [rng.pick(['extra', 'text', 'transportId', ...PROTO_KEYS])];
}

export type PayloadKind =
  | 'valid'
  | 'wrong-type'
  | 'missing-field'
  | 'extra-field'
  | 'hostile-strings'
  | 'huge-string'
  | 'deep-nesting'
  | 'big-array'
  | 'bad-number'
  | 'prototype-keys'
  | 'not-an-object'
  | 'no-payload'
  | 'extra-args';

const KIND_WEIGHTS: readonly (readonly [PayloadKind, number])[] = [
  ['valid', 5],
  ['wrong-type', 3],
  ['missing-field', 2],
  ['extra-field', 2],
  ['hostile-strings', 3],
  ['huge-string', 1],
  ['deep-nesting', 1],
  ['big-array', 1],
  ['bad-number', 2],
  ['prototype-keys', 1],
  ['not-an-object', 2],
  ['no-payload', 1],
  ['extra-args', 1],
];

/** Bytes a message's name and arguments may take (64 KB less Socket.IO's framing and ack id). */
export const MESSAGE_BUDGET = 64 * 1024 - 256;

/** One mutation of `sample`; `args` are the emitted arguments before the ack (none: no payload). */
export function mutate(rng: Rng, sample: Record<string, unknown>, budget: number): { kind: PayloadKind; args: unknown[] } {
  const kind = rng.weighted(KIND_WEIGHTS);
  const root = structuredClone(sample);
  switch (kind) {
    case 'valid':
      return { kind, args: [root] };
    case 'wrong-type':
      setAt(root, somePath(rng, root), hostileScalar(rng));
      return { kind, args: [root] };
    case 'missing-field': {
      const paths = pathsOf(root);
      if (paths.length > 0) deleteAt(root, rng.pick(paths));
      return { kind, args: [root] };
    }
    case 'extra-field': {
      const paths = pathsOf(root).filter((path) => {
        const parent = parentOf(root, [...path, 'x']);
        return typeof parent === 'object' && parent !== null && !Array.isArray(parent);
      });
      const at = paths.length > 0 && rng.chance(0.5) ? [...rng.pick(paths), rng.pick(['extra', ...PROTO_KEYS])] : ['extra'];
      setAt(root, at, hostileScalar(rng));
      return { kind, args: [root] };
    }
    case 'hostile-strings':
      return { kind, args: [mapStrings(root, (s) => (rng.chance(0.5) ? taint(rng, s) : s + hostileString(rng)))] };
    case 'huge-string':
      setAt(root, somePath(rng, root), hugeString(rng, rng.between(2_001, budget - 2_000)));
      return { kind, args: [root] };
    case 'deep-nesting':
      setAt(root, somePath(rng, root), deepNesting(rng, rng.pick([64, 500, 1_500, 3_000])));
      return { kind, args: [root] };
    case 'big-array':
      setAt(root, somePath(rng, root), bigArray(rng, budget - 2_000));
      return { kind, args: [root] };
    case 'bad-number':
      // Longest paths first: replacing a node then never strands a path still to visit.
      for (const path of pathsOf(root).sort((a, b) => b.length - a.length)) {
        const value = parentOf(root, path)[path.at(-1)!];
        if (typeof value === 'number' || rng.chance(0.2)) setAt(root, path, rng.pick(BAD_NUMBERS));
      }
      return { kind, args: [root] };
    case 'prototype-keys': {
      const bomb = protoBomb(rng);
      if (rng.chance(0.5)) return { kind, args: [Object.assign(bomb, { ...root })] };
      setAt(root, somePath(rng, root), bomb);
      return { kind, args: [root] };
    }
    case 'not-an-object':
      return { kind, args: [rng.pick<unknown>([42, -1, 'join', hostileString(rng), true, null, [root], [], 0, NaN])] };
    case 'no-payload':
      return { kind, args: [] };
    case 'extra-args':
      return { kind, args: [root, hostileScalar(rng), rng.chance(0.5) ? root : 'x'] };
  }
}

/** Event names the protocol does not have: near misses, prototype names, huge, control characters, a number. */
export function unknownName(rng: Rng): string | number {
  return rng.pick<string | number>([
    'JOIN',
    'join ',
    ' join',
    'join\u0000',
    'sendchat',
    'send_chat',
    'constructor',
    '__proto__',
    'toString',
    'hasOwnProperty',
    'prototype',
    '',
    '加入房间',
    '🩺',
    'x'.repeat(10_000),
    hostileString(rng),
    'admin',
    'eval',
    42,
  ]);
}

export interface HostileMessage {
  /** The event name (a request name, or one the protocol does not have). */
  name: string | number;
  known: boolean;
  kind: PayloadKind;
  args: unknown[];
  /** Sent without an ack callback: the server must simply ignore it. */
  withAck: boolean;
}

/**
 * The next hostile message of a socket in `ctx`. `avoid(name, args)`: a message this socket must not
 * send (it is mutated again until it is not), e.g. one the server would accept and act on for good.
 */
export function nextMessage(rng: Rng, ctx: SampleContext, avoid: (name: RequestName, args: unknown[]) => boolean): HostileMessage {
  const withAck = !rng.chance(0.04);
  if (rng.chance(0.1)) {
    const name = unknownName(rng);
    const budget = MESSAGE_BUDGET - Buffer.byteLength(JSON.stringify(name));
    const { kind, args } = mutate(rng, { text: hostileString(rng) }, budget);
    return fit({ name, known: false, kind, args, withAck });
  }
  const name = rng.pick(REQUEST_NAMES);
  const budget = MESSAGE_BUDGET - name.length;
  let mutated = mutate(rng, validSample(rng, name, ctx), budget);
  while (avoid(name, mutated.args)) mutated = mutate(rng, validSample(rng, name, ctx), budget);
  return fit({ name, known: true, ...mutated, withAck });
}

/** Keeps a message under the 64 KB limit: one that grew beyond it is cut back to its valid form's size. */
function fit(message: HostileMessage): HostileMessage {
  if (Buffer.byteLength(JSON.stringify([message.name, ...message.args])) <= MESSAGE_BUDGET) return message;
  return { ...message, kind: 'wrong-type', args: [{ truncated: 'x'.repeat(1000) }] };
}
